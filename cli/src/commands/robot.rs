//! `alq robot list` and `alq robot token create|list|revoke` (the tokens robots
//! register with), and this machine as a robot: `register`, `run`, `status`,
//! `install|uninstall|start|stop`.

use std::path::PathBuf;
use std::time::Duration;

use alq_shared::client::NewRobotToken;
use serde_json::json;

use super::output::{self, Column};
use super::remote::{self, Outcome, Remote};
use super::robot_agent as agent;
use super::robot_settings::RunSettings;

/// Options of `alq robot`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List the robots: online, busy or offline, with their labels and version.
    List,
    /// Registration tokens: what a robot needs to join this control plane.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Register this machine as a robot (with --url and a registration --token).
    Register {
        /// The robot's name [default: the host name].
        #[arg(long)]
        name: Option<String>,
        /// Labels of this robot (comma-separated), on top of the token's.
        #[arg(long, value_delimiter = ',')]
        labels: Vec<String>,
        /// Allow plain http:// to a host other than this machine.
        #[arg(long)]
        insecure_http: bool,
    },
    /// Run the robot in the foreground: lease jobs and run them until Ctrl-C / SIGTERM.
    #[command(after_help = RUN_EXIT_CODES)]
    Run(RunArgs),
    /// Show this robot's identity, whether its server answers, and its current jobs.
    #[command(after_help = STATUS_EXIT_CODES)]
    Status,
    /// Install the robot as a service (systemd), enabled and started.
    Install(ServiceArgs),
    /// Stop and remove the robot's service.
    Uninstall(ServiceArgs),
    /// Start the installed service.
    Start(ServiceArgs),
    /// Stop the installed service.
    Stop(ServiceArgs),
}

/// Options of `alq robot run`: every setting is a flag, an `ALQ_*` variable and a key
/// of the robot's config file.
#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    settings: RunSettings,
    /// The robot's TOML config file [default: config.toml in the robot folder, when
    /// there is one].
    #[arg(long, env = "ALQ_ROBOT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Options of the service commands.
#[derive(clap::Args)]
struct ServiceArgs {
    /// A per-user unit instead of a system-wide one.
    #[arg(long)]
    user: bool,
}

const RUN_EXIT_CODES: &str = "Exit codes: 0 stopped on request; 1 the server refused the \
robot's token (deleted, or registered again elsewhere: register again); 2 not registered, \
or a bad flag. A disabled robot does not exit: it waits until an admin enables it.";

const STATUS_EXIT_CODES: &str = "Exit codes: 0 the server answers and knows this robot; 1 \
the server refuses the robot's token (register again); 2 not registered; 3 the server cannot \
be reached.";

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Create a registration token; its secret is printed this once.
    Create {
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
        /// Labels given to the robots that register with it (comma-separated).
        #[arg(long, value_delimiter = ',')]
        labels: Vec<String>,
        /// How long it is valid, e.g. 30m, 24h, 7d [default: no expiry].
        #[arg(long, value_parser = humantime::parse_duration)]
        expires: Option<Duration>,
        /// Valid for one registration only.
        #[arg(long)]
        single_use: bool,
    },
    /// List the registration tokens (never their secrets).
    List,
    /// Revoke a registration token (robots already registered keep working).
    Revoke {
        /// Its id (from `alq robot token list`).
        id: String,
    },
}

const ROBOT_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("LABELS", "labels"),
    ("VERSION", "version"),
    ("JOBS", "current_job_ids"),
    ("LAST SEEN", "last_seen_at"),
];

const TOKEN_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("LABELS", "labels"),
    ("SINGLE USE", "single_use"),
    ("USED", "used_at"),
    ("EXPIRES", "expires_at"),
    ("REVOKED", "revoked_at"),
];

impl Args {
    /// Whether this runs the agent (`alq robot run`), which logs like a service.
    pub fn is_agent(&self) -> bool {
        matches!(self.command, Command::Run(_))
    }
}

/// Runs the subcommand; exit codes as for every server command.
pub fn run(args: Args) -> u8 {
    match args.command {
        Command::Run(run) => agent::run(run.settings, run.config),
        Command::Install(a) => agent::service(agent::Service::Install, a.user),
        Command::Uninstall(a) => agent::service(agent::Service::Uninstall, a.user),
        Command::Start(a) => agent::service(agent::Service::Start, a.user),
        Command::Stop(a) => agent::service(agent::Service::Stop, a.user),
        Command::Status => remote::exec(agent::status(args.remote.json)),
        Command::Register {
            name,
            labels,
            insecure_http,
        } => remote::exec(agent::register(&args.remote, name, labels, insecure_http)),
        _ => remote::exec(exec(args)),
    }
}

/// The command a robot machine registers with, ready to copy: the URL quoted only
/// when a shell would split it (a registration token is letters, digits, `_` and `-`).
fn register_line(url: &str, token: &str) -> String {
    let quote = |text: &str| {
        if text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,[]".contains(c))
        {
            text.to_owned()
        } else {
            format!("'{}'", text.replace('\'', r"'\''"))
        }
    };
    format!(
        "alq robot register --url {} --token {}",
        quote(url),
        quote(token)
    )
}

async fn exec(args: Args) -> Outcome {
    let client = args.remote.client()?;
    let json = args.remote.json;
    match args.command {
        Command::List => output::list(json, &client.list_robots().await?, ROBOT_COLUMNS),
        Command::Token(TokenCommand::Create {
            name,
            labels,
            expires,
            single_use,
        }) => {
            let new = NewRobotToken {
                name,
                labels: labels.into_iter().filter(|l| !l.is_empty()).collect(),
                expires_in_s: expires.map(|d| d.as_secs().max(1)),
                single_use,
            };
            let mut created = client.create_robot_token(&new).await?;
            if json {
                let line = register_line(
                    client.base_url().trim_end_matches('/'),
                    &output::cell(&created, "token"),
                );
                if let Some(object) = created.as_object_mut() {
                    object.insert("register_command".into(), line.into());
                }
                output::json(&created);
            } else {
                let url = client.base_url().trim_end_matches('/');
                let token = output::cell(&created, "token");
                println!(
                    "Created registration token {} for {url}. Its secret, shown only this once:\n\n    {token}\n\n\
                     On the robot machine, register with it (once; the robot then uses its own robot token):\n\n    \
                     {}\n",
                    output::cell(&created, "id"),
                    register_line(url, &token),
                );
            }
        }
        Command::Token(TokenCommand::List) => {
            output::list(json, &client.list_robot_tokens().await?, TOKEN_COLUMNS)
        }
        Command::Register { .. }
        | Command::Run(_)
        | Command::Status
        | Command::Install(_)
        | Command::Uninstall(_)
        | Command::Start(_)
        | Command::Stop(_) => unreachable!("handled in run()"),
        Command::Token(TokenCommand::Revoke { id }) => {
            client.revoke_robot_token(&id).await?;
            if json {
                output::json(&json!({ "revoked": id }));
            } else {
                println!("Revoked registration token {id}.");
            }
        }
    }
    Ok(0)
}
