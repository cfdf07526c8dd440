//! Leasing: the in-memory dispatcher that parks robots' long-polls and wakes them when a
//! job they can take appears, the heartbeat polls waiting for their job's cancel, and
//! the background loops (lease reaper, wake-up sweep)
//! that `run` starts.

mod cancels;
mod dispatcher;
mod reaper;

pub use cancels::{CancelWatch, Cancels};
pub use dispatcher::{Dispatcher, JobReady, Parked};
pub use reaper::{Sweep, spawn_background, sweep_once};
