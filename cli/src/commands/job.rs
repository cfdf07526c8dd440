//! `alq job start|list|get|events|artifacts|report|cancel|retry`: jobs the control plane
//! leases to robots. `get --follow` is in `job_follow.rs`.

use std::path::{Path, PathBuf};

use alq_shared::client::{Client, JobFilter, NewJob, typed_inputs};
use alq_shared::protocol::JobState;
use serde_json::{Map, Value};

use super::EXIT_FAILED;
use super::output::{self, Column};
use super::remote::{self, Failure, Outcome, Remote};

/// Options of `alq job`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Queue a job of a pushed workflow; with --wait, exit 0 when it succeeds, 1 when not.
    Start(StartArgs),
    /// List jobs, newest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<JobState>,
        /// Only jobs of this workflow (name or id).
        #[arg(long)]
        workflow: Option<String>,
        /// Only jobs this robot ran or runs (their latest attempt; its id, from `alq robot list`).
        #[arg(long)]
        robot: Option<String>,
        /// Only jobs created at or after this time (RFC 3339, e.g. 2026-01-31T12:00:00Z).
        #[arg(long, value_parser = parse_time)]
        since: Option<String>,
        /// Only jobs created before this time (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        until: Option<String>,
        /// At most this many [default: 50; at most 500].
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after the page that printed this cursor.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show a job: its state, attempts, inputs, outputs and error.
    Get {
        /// The job's id.
        id: String,
        /// Print the job's steps as they happen (from its first) until it ends; exit 0
        /// when it succeeded, 1 when it failed, died or was cancelled. With --json, one
        /// event per line, then the job.
        #[arg(long)]
        follow: bool,
    },
    /// Show the step events a job's robot reported, oldest first, every attempt.
    Events {
        /// The job's id.
        id: String,
        /// Only the events after this one (the ID column of an earlier call).
        #[arg(long, value_name = "EVENT_ID")]
        after: Option<i64>,
    },
    /// Download a job's screenshots and files into a folder.
    Artifacts {
        /// The job's id.
        id: String,
        /// The folder to save them in (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write the job's report.html (as `alq run` does), from its events and screenshots.
    Report {
        /// The job's id.
        id: String,
        /// The file to write [default: job-ID-report.html].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Which attempt [default: the last one with events].
        #[arg(long)]
        attempt: Option<i64>,
    },
    /// Cancel a job: at once when pending; a running job's robot stops at its next step.
    Cancel {
        /// The job's id.
        id: String,
    },
    /// Run a failed, dead or cancelled job again, as a new job.
    Retry {
        /// The job's id.
        id: String,
    },
}

/// Options of `alq job start`.
#[derive(clap::Args)]
struct StartArgs {
    /// The workflow's name or id.
    workflow: String,
    /// An input, `name=value`; converted to the type the workflow declares (repeatable).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// A JSON file holding an object of inputs (--input values win).
    #[arg(long)]
    inputs_file: Option<PathBuf>,
    /// Higher runs first.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    priority: i64,
    /// Labels a robot must have to run it (comma-separated).
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
    /// Attempts before the job is dead [default: the server's].
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Not before this time (RFC 3339, e.g. 2026-01-31T12:00:00Z) [default: now].
    #[arg(long, value_parser = parse_time)]
    run_after: Option<String>,
    /// The version to run: its number (as `alq workflow get` lists), its id, or the
    /// first 6+ characters of its hash [default: the latest].
    #[arg(long)]
    version: Option<String>,
    /// Wait until the job ends; exit 0 when it succeeded, 1 when it failed, died or was
    /// cancelled.
    #[arg(long)]
    wait: bool,
}

const COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("WORKFLOW", "workflow.name"),
    ("STATE", "state"),
    ("PRIORITY", "priority"),
    ("ATTEMPT", "attempt"),
    ("CREATED", "created_at"),
];

/// Runs the subcommand; exit codes as for every server command, and 1 for a job that
/// `--wait` saw fail.
pub fn run(args: Args) -> u8 {
    remote::exec(exec(args))
}

async fn exec(args: Args) -> Outcome {
    let json = args.remote.json;
    let client = args.remote.client()?;
    match args.command {
        Command::Start(start) => return start_job(&client, start, json).await,
        Command::List {
            state,
            workflow,
            robot,
            since,
            until,
            limit,
            cursor,
        } => {
            let filter = JobFilter {
                state: state.map(|s| s.as_str().to_owned()),
                workflow,
                robot,
                since,
                until,
                limit,
                cursor,
            };
            let page = client.list_jobs(&filter).await?;
            if json {
                output::json(&serde_json::to_value(&page).unwrap_or_default());
            } else {
                output::table(&page.items, COLUMNS);
                if let Some(cursor) = page.next_cursor {
                    eprintln!("More: alq job list --cursor {cursor}");
                }
            }
        }
        Command::Get { id, follow: true } => {
            return super::job_follow::follow(&client, &id, json).await;
        }
        Command::Get { id, follow: false } => {
            let job = client.get_job(&id).await?;
            if json {
                output::json(&job);
            } else {
                output::record(false, &for_people(&job));
            }
        }
        Command::Events { id, after } => {
            let events = client.all_job_events(&id, after).await?;
            if json {
                output::json(&serde_json::json!({ "items": events }));
            } else {
                let rows: Vec<Value> = events.iter().map(event_row).collect();
                output::table(&rows, EVENT_COLUMNS);
            }
        }
        Command::Artifacts { id, out } => {
            return super::job_files::artifacts(&client, &id, &out, json).await;
        }
        Command::Report { id, out, attempt } => {
            return super::job_files::report(&client, &id, out, attempt, json).await;
        }
        Command::Cancel { id } => {
            let job = client.cancel_job(&id).await?;
            if json {
                output::json(&job);
            } else if output::cell(&job, "state") == "running" {
                println!(
                    "Job {id}: cancel requested; its robot stops it at its next step (see `alq job get {id}`)."
                );
            } else {
                println!("Job {id}: {}.", output::cell(&job, "state"));
            }
        }
        Command::Retry { id } => {
            let job = client.retry_job(&id).await?;
            if json {
                output::json(&job);
            } else {
                println!(
                    "Job {id} retried as job {} ({}).",
                    output::cell(&job, "id"),
                    output::cell(&job, "state")
                );
            }
        }
    }
    Ok(0)
}

async fn start_job(client: &Client, start: StartArgs, json: bool) -> Outcome {
    let declared = client
        .declared_inputs(&start.workflow, start.version.as_deref())
        .await?;
    let base = match &start.inputs_file {
        Some(path) => inputs_file(path)?,
        None => Map::new(),
    };
    let inputs = typed_inputs(base, &start.inputs, &declared).map_err(Failure::usage)?;
    let new = NewJob {
        workflow: start.workflow.clone(),
        version: start.version.clone(),
        inputs,
        priority: start.priority,
        labels: start.labels.into_iter().filter(|l| !l.is_empty()).collect(),
        max_attempts: start.max_attempts,
        run_after: start.run_after,
    };
    let job = client.create_job(&new).await?;
    let id = output::cell(&job, "id");
    if !start.wait {
        if json {
            output::json(&job);
        } else {
            println!(
                "Started job {id} of {} ({}).",
                start.workflow,
                output::cell(&job, "state")
            );
        }
        return Ok(0);
    }
    eprintln!(
        "Started job {id} of {}; waiting for it to end...",
        start.workflow
    );
    let job = client
        .wait_for_job(job, |job| {
            eprintln!(
                "  {} (attempt {} of {})",
                output::cell(job, "state"),
                output::cell(job, "attempt"),
                output::cell(job, "max_attempts")
            );
        })
        .await?;
    let state = output::cell(&job, "state");
    if json {
        output::json(&job);
    } else {
        println!("Job {id} {state}.");
        if let Some(outputs) = job.get("outputs").filter(|o| !o.is_null()) {
            println!("outputs: {outputs}");
        }
        if let Some(error) = job.get("error").filter(|e| !e.is_null()) {
            println!("{}", describe_error(error));
        }
    }
    Ok(if state == "succeeded" { 0 } else { EXIT_FAILED })
}

/// An RFC 3339 time, checked here so a typo is a usage error (exit 2).
fn parse_time(text: &str) -> Result<String, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_rfc3339())
        .map_err(|e| format!("`{text}` is not an RFC 3339 time like 2026-01-31T12:00:00Z: {e}"))
}

/// `--inputs-file`: a JSON object.
fn inputs_file(path: &Path) -> Result<Map<String, Value>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::usage(format!(
            "{}: the inputs file must hold a JSON object",
            path.display()
        ))),
        Err(e) => Err(Failure::usage(format!(
            "{}: invalid JSON: {e}",
            path.display()
        ))),
    }
}

const EVENT_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("ATTEMPT", "attempt"),
    ("AT", "at"),
    ("EVENT", "event"),
    ("DETAIL", "detail"),
];

/// One row for a step event: its id, attempt and time, what happened, and its label,
/// message or status.
fn event_row(item: &Value) -> Value {
    let event = item.get("event").unwrap_or(&Value::Null);
    let kind = event
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("event");
    let at = event.get("at").or_else(|| item.get("received_at"));
    let mut detail: Vec<String> = ["label", "message", "status", "workflow"]
        .iter()
        .filter_map(|k| event.get(*k))
        .map(|v| output::text(v, ""))
        .collect();
    if let Some(error) = event.pointer("/error/message").and_then(Value::as_str) {
        detail.push(format!("error: {error}"));
    }
    serde_json::json!({
        "id": item.get("id"),
        "attempt": item.get("attempt"),
        "at": at,
        "event": kind,
        "detail": detail.join("; "),
    })
}

/// A job's error for people: `error (business): message`.
pub(super) fn describe_error(error: &Value) -> String {
    match error.get("message").and_then(Value::as_str) {
        Some(message) => format!("error ({}): {message}", output::cell(error, "type")),
        None => format!("error: {}", output::text(error, "error")),
    }
}

/// A job as `alq job get` shows it: the workflow by name.
fn for_people(job: &Value) -> Value {
    let mut job = job.clone();
    if job["workflow"].is_object() {
        job["workflow"] = Value::String(format!(
            "{} ({})",
            output::cell(&job, "workflow.name"),
            output::cell(&job, "workflow.id")
        ));
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_read_as_one_row_each() {
        let row = event_row(
            &json!({"id": 7, "attempt": 2, "seq": 1, "received_at": "2026-01-01T00:00:00Z",
            "event": {"event": "log", "seq": 1, "at": "2026-01-01T00:00:00Z", "message": "hi"}}),
        );
        assert_eq!(row["id"], 7);
        assert_eq!(row["attempt"], 2);
        assert_eq!(row["event"], "log");
        assert_eq!(row["detail"], "hi");
        assert_eq!(row["at"], "2026-01-01T00:00:00Z");
    }

    #[test]
    fn errors_say_their_type() {
        assert_eq!(
            describe_error(&json!({"message": "rejected", "type": "business"})),
            "error (business): rejected"
        );
    }
}
