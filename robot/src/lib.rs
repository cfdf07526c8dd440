//! The alq robot: the workflow engine that `alq run` and robots share, and its actions.

pub mod actions;
pub mod agent;
pub mod doctor;
pub mod engine;
pub mod service;
