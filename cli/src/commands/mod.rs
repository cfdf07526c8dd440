//! One module per command group: a clap `Args` struct and a `run` returning the exit code.

pub mod asset;
pub mod bench;
pub mod doctor;
pub mod job;
pub mod login;
mod output;
mod progress;
mod remote;
pub mod robot;
mod robot_agent;
pub mod run;
pub mod schema;
pub mod server;
pub mod tenant;
pub mod token;
pub mod validate;
pub mod workflow;

/// The workflow or job failed, or the server refused the request (4xx).
pub const EXIT_FAILED: u8 = 1;
/// The workflow file or the command line is not valid.
pub const EXIT_USAGE: u8 = 2;
/// The server cannot be reached, or there is no login.
pub const EXIT_UNREACHABLE: u8 = 3;
/// The exit codes of the commands that talk to the control plane, for their help.
pub const SERVER_EXIT_CODES: &str = "Exit codes: 0 done; 1 the server refused the request \
(4xx) or the job failed; 2 usage error or invalid input; 3 cannot reach the server, or \
not logged in.";

/// The run was cancelled (Ctrl-C).
pub const EXIT_CANCELLED: u8 = 130;
