//! `alq workflow push|list|get|delete`: workflows kept by the control plane.

use std::path::PathBuf;

use serde_json::Value;

use super::output::{self, Column};
use super::remote::{self, Failure, Outcome, Remote};

/// Options of `alq workflow`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Validate a workflow file here, then push it: a new version when it changed.
    Push {
        /// The workflow file.
        file: PathBuf,
    },
    /// List the workflows.
    List,
    /// Show a workflow and its versions.
    Get {
        /// Its name or id.
        name_or_id: String,
        /// Print only the latest version's source (the workflow file).
        #[arg(long)]
        source: bool,
    },
    /// Delete a workflow and its versions (refused while jobs of it are pending or running).
    Delete {
        /// Its name or id.
        name_or_id: String,
    },
}

const COLUMNS: &[Column] = &[
    ("NAME", "name"),
    ("ID", "id"),
    ("LATEST VERSION", "latest_version_id"),
    ("UPDATED", "updated_at"),
];

const VERSION_COLUMNS: &[Column] = &[
    ("VERSION", "id"),
    ("HASH", "hash"),
    ("CREATED", "created_at"),
];

/// Runs the subcommand; exit codes as for every server command.
pub fn run(args: Args) -> u8 {
    remote::exec(exec(args))
}

async fn exec(args: Args) -> Outcome {
    let json = args.remote.json;
    match args.command {
        Command::Push { file } => {
            // Validate before needing the server: a bad file is a usage error (2) even
            // when offline, and nothing is pushed.
            if let Err(error) = alq_shared::workflow::load(&file) {
                return Err(Failure::usage(error.to_string()));
            }
            let source = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
            let client = args.remote.client()?;
            let pushed = client.push_workflow(&source).await?;
            if json {
                output::json(&pushed);
            } else {
                let created = pushed.get("created").and_then(Value::as_bool) == Some(true);
                println!(
                    "{} workflow {} ({}), version {}.",
                    if created { "Pushed" } else { "Unchanged:" },
                    output::cell(&pushed, "workflow.name"),
                    output::cell(&pushed, "workflow.id"),
                    output::cell(&pushed, "version.id"),
                );
            }
        }
        Command::List => {
            let client = args.remote.client()?;
            let workflows = Value::Array(client.list_workflows().await?);
            output::list(json, &workflows, COLUMNS);
        }
        Command::Get { name_or_id, source } => {
            let client = args.remote.client()?;
            let answer = client.get_workflow(&name_or_id).await?;
            if source {
                match answer.get("source").and_then(Value::as_str) {
                    Some(text) => print!("{text}{}", if text.ends_with('\n') { "" } else { "\n" }),
                    None => {
                        return Err(Failure {
                            code: super::EXIT_FAILED,
                            message: format!("workflow `{name_or_id}` has no version"),
                        });
                    }
                }
            } else if json {
                output::json(&answer);
            } else {
                let workflow = answer.get("workflow").cloned().unwrap_or_default();
                output::record(false, &workflow);
                println!();
                let versions = answer.get("versions").cloned().unwrap_or_default();
                output::table(output::items(&versions), VERSION_COLUMNS);
            }
        }
        Command::Delete { name_or_id } => {
            let client = args.remote.client()?;
            client.delete_workflow(&name_or_id).await?;
            if json {
                output::json(&serde_json::json!({ "deleted": name_or_id }));
            } else {
                println!("Deleted workflow {name_or_id}.");
            }
        }
    }
    Ok(0)
}
