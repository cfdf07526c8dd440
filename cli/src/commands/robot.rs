//! `alq robot list` and `alq robot token create|list|revoke` (the tokens robots
//! register with).

use std::time::Duration;

use alq_shared::client::NewRobotToken;
use serde_json::json;

use super::output::{self, Column};
use super::remote::{self, Outcome, Remote};

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
}

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

/// Runs the subcommand; exit codes as for every server command.
pub fn run(args: Args) -> u8 {
    remote::exec(exec(args))
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
            let created = client.create_robot_token(&new).await?;
            if json {
                output::json(&created);
            } else {
                println!(
                    "Created registration token {} for {}. Its secret, shown only this once:\n\n    {}\n\n\
                     A robot registers with it once, then uses its own robot token.",
                    output::cell(&created, "id"),
                    client.base_url().trim_end_matches('/'),
                    output::cell(&created, "token"),
                );
            }
        }
        Command::Token(TokenCommand::List) => {
            output::list(json, &client.list_robot_tokens().await?, TOKEN_COLUMNS)
        }
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
