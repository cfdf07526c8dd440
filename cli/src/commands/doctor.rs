//! `alq doctor`: checks chromedriver, Chromium and the run folder, and says how to fix
//! each problem. The checks live in `alq_robot::doctor`, shared with the engine.

use std::path::PathBuf;

use alq_robot::doctor::{Outcome, run_checks};
use console::style;

/// Options of `alq doctor`.
#[derive(clap::Args)]
pub struct Args {
    /// The run folder `alq run` will write into.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub out: PathBuf,
}

/// Runs the checks; 0 when everything `alq run` needs is there, 1 otherwise.
pub fn run(args: Args) -> u8 {
    let checks = run_checks(&args.out);
    for check in &checks {
        let mark = match check.outcome {
            Outcome::Pass => style("✓").green().bold(),
            Outcome::Fail => style("✗").red().bold(),
            Outcome::Skipped => style("-").dim(),
        };
        match &check.fix {
            Some(fix) => println!("{mark} {}: {}. Fix: {fix}", check.name, check.detail),
            None => println!("{mark} {}: {}", check.name, check.detail),
        }
    }
    let failed = checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    if failed == 0 {
        println!("alq run has everything it needs.");
        0
    } else {
        println!(
            "{failed} problem{} to fix before `alq run`.",
            if failed == 1 { "" } else { "s" }
        );
        super::EXIT_FAILED
    }
}
