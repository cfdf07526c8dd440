//! `alq`: one binary for running workflows, the control plane and robots.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// alq: open-source RPA. Run workflows that drive a real browser, and report every step.
#[derive(Parser)]
#[command(name = "alq", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workflow file here, with a live progress display and an HTML report.
    Run(commands::run::Args),
    /// Check a workflow file (and the files it calls) without running it.
    Validate(commands::validate::Args),
    /// Print the JSON Schema of workflow files, for editors.
    Schema(commands::schema::Args),
    /// Check that this machine has what `alq run` needs, and say how to fix what is missing.
    Doctor(commands::doctor::Args),
    /// Run the control plane: keeps workflows and jobs and leases jobs to robots.
    Server(commands::server::Args),
}

fn main() -> ExitCode {
    // rustls needs one process-wide crypto provider; ring is the one we build.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                commands::EXIT_USAGE
            } else {
                0
            });
        }
    };
    let code = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Server(args) => commands::server::run(args),
    };
    ExitCode::from(code)
}
