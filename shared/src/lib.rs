//! Types shared by every part of alq: the workflow language and the run events.

pub mod api;
pub mod events;
pub mod protocol;
pub mod workflow;
