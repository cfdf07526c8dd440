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
    /// Measure the control plane on this machine: simulated robots doing no-op jobs.
    Bench(commands::bench::Args),
    /// Check a token against a server and remember both for the commands below.
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    Login(commands::login::Args),
    /// Forget the stored server and token.
    Logout(commands::login::LogoutArgs),
    /// Tenants (system admin token only).
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    Tenant(commands::tenant::Args),
    /// Workflows on the server: push, list, get, delete.
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    Workflow(commands::workflow::Args),
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    /// Jobs: start one (and wait for it), list, show, cancel, retry.
    Job(commands::job::Args),
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    /// Assets workflows read as `{{ assets.NAME }}`: text, numbers, JSON, credentials.
    Asset(commands::asset::Args),
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    /// Personal API tokens of this tenant.
    Token(commands::token::Args),
    #[command(after_help = commands::SERVER_EXIT_CODES)]
    /// Robots, and the registration tokens they join with.
    Robot(commands::robot::Args),
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
    init_logging(match &cli.command {
        Command::Server(_) => true,
        Command::Robot(args) => args.is_agent(),
        _ => false,
    });
    let code = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Server(args) => commands::server::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Login(args) => commands::login::run(args),
        Command::Logout(args) => commands::login::logout(args),
        Command::Tenant(args) => commands::tenant::run(args),
        Command::Workflow(args) => commands::workflow::run(args),
        Command::Job(args) => commands::job::run(args),
        Command::Asset(args) => commands::asset::run(args),
        Command::Token(args) => commands::token::run(args),
        Command::Robot(args) => commands::robot::run(args),
    };
    ExitCode::from(code)
}

/// Logs go to standard error, filtered by `RUST_LOG`; without it a server or a robot
/// logs what it does (`info`), other commands only what needs attention (`warn`), since
/// their own output already tells the story. Colours only on a terminal: a service's
/// log goes to journald or a file.
fn init_logging(service: bool) {
    use std::io::IsTerminal;
    let default = if service { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
