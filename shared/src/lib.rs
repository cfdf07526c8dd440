//! Types shared by every part of alq: the workflow language, the run events, the API
//! types and a typed client of the public API.

pub mod api;
pub mod client;
pub mod events;
pub mod package;
pub mod protocol;
pub mod stream;
pub mod workflow;
