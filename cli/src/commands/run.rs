//! `alq run FILE`.

/// Options of `alq run`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the workflow.
pub fn run(_args: Args) -> u8 {
    super::EXIT_FAILED
}
