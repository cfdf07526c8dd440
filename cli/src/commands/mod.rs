//! One module per command group: a clap `Args` struct and a `run` returning the exit code.

pub mod asset;
pub mod bench;
pub mod doctor;
pub mod job;
mod job_files;
mod job_follow;
pub mod login;
mod output;
mod progress;
mod remote;
pub mod robot;
mod robot_agent;
mod robot_settings;
pub mod run;
pub mod schema;
pub mod server;
pub mod tenant;
pub mod token;
pub mod validate;
pub mod workflow;

/// The async runtime of a command: one thread for the client commands, the agent and
/// `alq run` (their work is I/O, or on threads of its own), one per core for the server
/// and the bench. `None` after printing why it cannot start.
pub(crate) fn runtime(multi_thread: bool) -> Option<tokio::runtime::Runtime> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

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

/// The run was cancelled (Ctrl-C, SIGINT): 128 + 2, as shells report it.
pub const EXIT_CANCELLED: u8 = 130;
/// The run was stopped by SIGTERM (what `timeout`, `docker stop`, systemd and CI send):
/// 128 + 15.
pub const EXIT_TERMINATED: u8 = 143;

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed by this call, not when the
/// future is first polled: a stop request that comes right after a long-running command
/// said it is ready (`listening on`, `Robot started`) must not meet the default action,
/// which kills the process without its graceful stop. Call it within the runtime.
pub fn stop_requested() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            async fn next(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(term) => {}
                () = next(interrupt) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
