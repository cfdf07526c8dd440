//! `alq workflow push|list|get|delete`: workflows kept by the control plane.

use std::path::PathBuf;

use alq_shared::package;
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
    /// Package a workflow with the files of its folder and push it: a new version when
    /// anything in the package changed.
    Push {
        /// The workflow file, or its folder (holding `workflow.json`). Every file of the
        /// folder goes into the package, except what `.alqignore` (gitignore syntax),
        /// `runs/` and version-control folders leave out.
        path: PathBuf,
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
    ("VERSION", "number"),
    ("ID", "id"),
    ("HASH", "hash"),
    ("FILES", "package.files"),
    ("SIZE", "package.size"),
    ("CREATED", "created_at"),
];

/// `12.3 KiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Runs the subcommand; exit codes as for every server command.
pub fn run(args: Args) -> u8 {
    remote::exec(exec(args))
}

async fn exec(args: Args) -> Outcome {
    let json = args.remote.json;
    match args.command {
        Command::Push { path } => {
            // Package (and validate) before needing the server: a bad workflow or a path
            // that leaves the folder is a usage error (2) even offline, and nothing is
            // pushed.
            let built = tokio::task::spawn_blocking(move || {
                package::build(&path, &package::Limits::default())
            })
            .await
            .map_err(|e| Failure::usage(e.to_string()))?
            .map_err(|e| Failure::usage(e.to_string()))?;
            let client = args.remote.client()?;
            let files = built.files.len();
            let size = built.bytes.len();
            let pushed = client.push_package(built.bytes, &built.entry).await?;
            if json {
                output::json(&pushed);
            } else {
                let created = pushed.get("created").and_then(Value::as_bool) == Some(true);
                let hash = output::cell(&pushed, "version.hash");
                println!(
                    "{} workflow {}, version {} (sha256 {}): {files} file{}, {} packed ({} unpacked).",
                    if created { "Pushed" } else { "Unchanged:" },
                    output::cell(&pushed, "workflow.name"),
                    output::cell(&pushed, "version.number"),
                    hash.get(..12).unwrap_or(&hash),
                    if files == 1 { "" } else { "s" },
                    human_size(size as u64),
                    human_size(built.unpacked_bytes),
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
