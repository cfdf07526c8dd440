//! `alq validate FILE`.

use std::path::PathBuf;

/// Options of `alq validate`.
#[derive(clap::Args)]
pub struct Args {
    /// The workflow file.
    pub file: PathBuf,
}

/// Exit 0 when the workflow (and every file it calls) is valid, 2 otherwise.
pub fn run(args: Args) -> u8 {
    match alq_shared::workflow::load(&args.file) {
        Ok(loaded) => {
            println!(
                "{}: valid ({} steps)",
                args.file.display(),
                loaded.workflow.all_steps().len()
            );
            0
        }
        Err(error) => {
            eprintln!("{error}");
            super::EXIT_USAGE
        }
    }
}
