//! `alq doctor`: checks chromedriver, Chromium and the run folder.

/// Options of `alq doctor`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the checks; 0 when everything `alq run` needs is there.
pub fn run(_args: Args) -> u8 {
    0
}
