//! Leasing: the in-memory dispatcher that parks robots' long-polls and wakes them when a
//! job they can take appears, and the background loops (lease reaper, wake-up sweep)
//! that `run` starts.

mod dispatcher;
mod reaper;

pub use dispatcher::{Dispatcher, JobReady, Parked};
pub use reaper::{Sweep, spawn_background, sweep_once};
