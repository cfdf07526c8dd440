//! `alq token create|list|revoke`: personal API tokens of this tenant.

use alq_shared::api::Role;
use serde_json::json;

use super::output::{self, Column};
use super::remote::{self, Outcome, Remote};

/// Options of `alq token`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a token; its secret is printed this once.
    Create {
        /// A name saying who or what uses it.
        name: String,
        /// What it may do.
        #[arg(long, value_enum, default_value_t = Role::Viewer)]
        role: Role,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token: it stops working at once.
    Revoke {
        /// The token's id (from `alq token list`).
        id: String,
    },
}

const COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("ROLE", "role"),
    ("PREFIX", "prefix"),
    ("CREATED", "created_at"),
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
        Command::Create { name, role } => {
            let created = client.create_token(&name, role.as_str()).await?;
            if json {
                output::json(&created);
            } else {
                println!(
                    "Created token {name} ({}, role {}). Its secret, shown only this once:\n\n    {}\n",
                    output::cell(&created, "id"),
                    role.as_str(),
                    output::cell(&created, "token"),
                );
            }
        }
        Command::List => output::list(json, &client.list_tokens().await?, COLUMNS),
        Command::Revoke { id } => {
            client.revoke_token(&id).await?;
            if json {
                output::json(&json!({ "revoked": id }));
            } else {
                println!("Revoked token {id}.");
            }
        }
    }
    Ok(0)
}
