//! `alq validate FILE`.

use std::path::PathBuf;

/// Options of `alq validate`.
#[derive(clap::Args)]
pub struct Args {
    /// The workflow file, or its folder (holding `workflow.json`).
    pub file: PathBuf,
}

/// Exit 0 when the workflow (and every file it calls) is valid, 2 otherwise.
pub fn run(mut args: Args) -> u8 {
    if args.file.is_dir() {
        args.file = args.file.join(alq_shared::package::DEFAULT_ENTRY);
    }
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
            let count = error.problems.len();
            eprintln!(
                "{} is not valid: {count} problem{}",
                args.file.display(),
                if count == 1 { "" } else { "s" }
            );
            super::EXIT_USAGE
        }
    }
}
