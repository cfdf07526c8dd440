//! `alq workflow push|list|get|delete`: workflows kept by the control plane.

use std::path::PathBuf;

use alq_shared::client::ClientError;
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

/// A package that cannot be built: over a size limit is a refusal (exit 1), like the
/// server's 413; anything else is a usage error (exit 2).
fn build_failure(error: package::PackageError) -> Failure {
    use package::PackageError;
    match error {
        PackageError::TooLarge { .. } | PackageError::TooManyFiles { .. } => Failure {
            code: super::EXIT_FAILED,
            message: format!(
                "{error}: leave files out with .alqignore (`runs/` and version-control folders are left out already)"
            ),
        },
        other => Failure::usage(other.to_string()),
    }
}

/// A push the server refused or cut off, said with the package's size.
fn push_failure(error: ClientError, size: u64) -> Failure {
    let too_large = error.status() == Some(413);
    // A server that closes the connection while the package is still being sent has
    // most likely refused its size without waiting for the rest (an older server).
    let cut_off = error.is_connect()
        && ["writing a body", "broken pipe", "connection reset"]
            .iter()
            .any(|s| error.to_string().to_lowercase().contains(s));
    let mut failure = Failure::from(error);
    if too_large {
        failure.message.push_str(&format!(
            "
This package is {} packed.",
            human_size(size)
        ));
    } else if cut_off {
        failure.message.push_str(&format!(
            "
The server closed the connection while the package ({}) was being sent: it may be over the server's max_package_bytes.",
            human_size(size)
        ));
    }
    failure
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
            .map_err(build_failure)?;
            let client = args.remote.client()?;
            let files = built.files.len();
            let size = built.bytes.len();
            let pushed = client
                .push_package(built.bytes, &built.entry)
                .await
                .map_err(|e| push_failure(e, size as u64))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_over_a_limit_is_a_refusal_not_a_usage_error() {
        let failure = build_failure(package::PackageError::TooLarge {
            what: "packed",
            actual: 60 * 1024 * 1024,
            limit: 50 * 1024 * 1024,
        });
        assert_eq!(failure.code, super::super::EXIT_FAILED);
        assert!(failure.message.contains("52428800"), "{}", failure.message);
        assert!(
            failure.message.contains(".alqignore"),
            "{}",
            failure.message
        );
        let failure = build_failure(package::PackageError::NoWorkflow("x".into()));
        assert_eq!(failure.code, super::super::EXIT_USAGE);
    }
}
