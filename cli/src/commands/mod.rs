//! One module per command group: a clap `Args` struct and a `run` returning the exit code.

pub mod doctor;
mod progress;
pub mod run;
pub mod schema;
pub mod server;
pub mod validate;

/// The workflow failed.
pub const EXIT_FAILED: u8 = 1;
/// The workflow file or the command line is not valid.
pub const EXIT_USAGE: u8 = 2;
/// The run was cancelled (Ctrl-C).
pub const EXIT_CANCELLED: u8 = 130;
