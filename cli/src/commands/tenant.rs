//! `alq tenant create|list` (the system admin token only).

use super::output::{self, Column};
use super::remote::{self, Outcome, Remote};

/// Options of `alq tenant`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a tenant: a separate set of workflows, jobs, robots and tokens.
    Create {
        /// Its unique name.
        name: String,
    },
    /// List the tenants.
    List,
}

const COLUMNS: &[Column] = &[("ID", "id"), ("NAME", "name"), ("CREATED", "created_at")];

/// Runs the subcommand; exit codes as for every server command.
pub fn run(args: Args) -> u8 {
    remote::exec(exec(args))
}

async fn exec(args: Args) -> Outcome {
    let client = args.remote.client()?;
    let json = args.remote.json;
    match args.command {
        Command::Create { name } => {
            let tenant = client.create_tenant(&name).await?;
            if json {
                output::json(&tenant);
            } else {
                println!("Created tenant {} ({}).", name, output::cell(&tenant, "id"));
            }
        }
        Command::List => {
            let tenants = serde_json::Value::Array(client.list_tenants().await?);
            output::list(json, &tenants, COLUMNS);
        }
    }
    Ok(0)
}
