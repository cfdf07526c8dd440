//! Types shared by every part of alq: the workflow language and the run events.

pub mod events;
pub mod workflow;
