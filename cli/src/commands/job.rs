//! `alq job start|list|get|events|cancel|retry`: jobs the control plane leases to robots.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use alq_shared::client::{Client, JobFilter, NewJob, is_final_job_state};
use alq_shared::workflow::{InputSpec, InputType};
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
        /// Only jobs in this state (pending, running, succeeded, failed, dead, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// Only jobs of this workflow (name or id).
        #[arg(long)]
        workflow: Option<String>,
        /// At most this many.
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
    },
    /// Show the step events a job's robot reported.
    Events {
        /// The job's id.
        id: String,
    },
    /// Cancel a job: at once when pending, at the next heartbeat when running.
    Cancel {
        /// The job's id.
        id: String,
    },
    /// Queue a failed or dead job again.
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
    /// A version id of the workflow [default: the latest].
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
            limit,
            cursor,
        } => {
            let filter = JobFilter {
                state,
                workflow,
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
        Command::Get { id } => output::record(json, &client.get_job(&id).await?),
        Command::Events { id } => {
            let events = client.job_events(&id).await?;
            if json {
                output::json(&events);
            } else {
                for event in output::items(&events) {
                    println!("{}", describe_event(event));
                }
            }
        }
        Command::Cancel { id } => {
            let job = client.cancel_job(&id).await?;
            if json {
                output::json(&job);
            } else {
                println!("Job {id}: {}.", output::cell(&job, "state"));
            }
        }
        Command::Retry { id } => {
            let job = client.retry_job(&id).await?;
            if json {
                output::json(&job);
            } else {
                println!("Job {id} queued again: {}.", output::cell(&job, "state"));
            }
        }
    }
    Ok(0)
}

async fn start_job(client: &Client, start: StartArgs, json: bool) -> Outcome {
    let declared = declared_inputs(client, &start.workflow).await?;
    let inputs = collect_inputs(&start, &declared)?;
    let new = NewJob {
        workflow: start.workflow.clone(),
        version: start.version.clone(),
        inputs,
        priority: start.priority,
        labels: start.labels.into_iter().filter(|l| !l.is_empty()).collect(),
        max_attempts: start.max_attempts,
        run_after: None,
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
    let job = wait_for(client, &id, &job).await?;
    let state = output::cell(&job, "state");
    if json {
        output::json(&job);
    } else {
        println!("Job {id} {state}.");
        if let Some(outputs) = job.get("outputs").filter(|o| !o.is_null()) {
            println!("outputs: {outputs}");
        }
        if let Some(error) = job.get("error").filter(|e| !e.is_null()) {
            println!("error: {}", output::text(error, "error"));
        }
    }
    Ok(if state == "succeeded" { 0 } else { EXIT_FAILED })
}

/// Polls the job until it reaches a final state, telling each change on stderr.
async fn wait_for(client: &Client, id: &str, first: &Value) -> Result<Value, Failure> {
    let mut job = first.clone();
    let mut last = String::new();
    let mut delay = Duration::from_millis(200);
    loop {
        let state = output::cell(&job, "state");
        if state != last {
            eprintln!(
                "  {state} (attempt {} of {})",
                output::cell(&job, "attempt"),
                output::cell(&job, "max_attempts")
            );
            last = state.clone();
        }
        if is_final_job_state(&state) {
            return Ok(job);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
        job = client.get_job(id).await?;
    }
}

/// The inputs the workflow's latest version declares, or none when the server does not
/// say (the server checks the inputs in any case).
async fn declared_inputs(
    client: &Client,
    workflow: &str,
) -> Result<BTreeMap<String, InputSpec>, Failure> {
    let answer = client.get_workflow(workflow).await?;
    let latest = answer.pointer("/workflow/latest_version_id").cloned();
    let versions = answer
        .get("versions")
        .map(output::items)
        .unwrap_or_default();
    let inputs = versions
        .iter()
        .find(|v| v.get("id") == latest.as_ref())
        .or(versions.last())
        .and_then(|v| v.get("inputs").cloned());
    Ok(inputs
        .and_then(|i| serde_json::from_value(i).ok())
        .unwrap_or_default())
}

/// `--inputs-file`, then each `--input` converted to its declared type (JSON, else
/// text, for an undeclared one).
fn collect_inputs(
    start: &StartArgs,
    declared: &BTreeMap<String, InputSpec>,
) -> Result<Map<String, Value>, Failure> {
    let mut inputs = Map::new();
    if let Some(path) = &start.inputs_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => inputs = map,
            Ok(_) => {
                return Err(Failure::usage(format!(
                    "{}: the inputs file must hold a JSON object",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(Failure::usage(format!(
                    "{}: invalid JSON: {e}",
                    path.display()
                )));
            }
        }
    }
    for pair in &start.inputs {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(Failure::usage(format!(
                "--input `{pair}` must be NAME=VALUE"
            )));
        };
        let kind = declared.get(name).map_or(InputType::Any, |spec| spec.kind);
        let value = kind
            .parse_text(text)
            .map_err(|e| Failure::usage(format!("input `{name}`: {e}")))?;
        inputs.insert(name.to_owned(), value);
    }
    Ok(inputs)
}

/// One line for a step event: when, what, and its label, message or status.
fn describe_event(item: &Value) -> String {
    let event = match item.get("event") {
        Some(inner @ Value::Object(_)) => inner,
        _ => item,
    };
    let kind = ["event", "kind", "type"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .unwrap_or("event");
    let at = event
        .get("at")
        .or_else(|| item.get("at"))
        .map(|a| output::text(a, "at"))
        .unwrap_or_default();
    let mut detail: Vec<String> = ["label", "message", "status", "workflow"]
        .iter()
        .filter_map(|k| event.get(*k))
        .map(|v| output::text(v, ""))
        .collect();
    if let Some(error) = event.pointer("/error/message").and_then(Value::as_str) {
        detail.push(format!("error: {error}"));
    }
    format!("{at}  {kind:<14}  {}", detail.join("  "))
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn start(inputs: &[&str]) -> StartArgs {
        StartArgs {
            workflow: "w".into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            inputs_file: None,
            priority: 0,
            labels: vec![],
            max_attempts: None,
            version: None,
            wait: false,
        }
    }

    #[test]
    fn inputs_take_their_declared_types_else_json_or_text() {
        let declared: BTreeMap<String, InputSpec> = serde_json::from_value(
            json!({"count": {"type": "integer"}, "code": {"type": "string"}}),
        )
        .expect("specs");
        let inputs = collect_inputs(
            &start(&["count=3", "code=007", "extra=[1,2]", "word=hello", "eq=a=b"]),
            &declared,
        )
        .map_err(|f| f.message)
        .expect("inputs");
        assert_eq!(
            Value::Object(inputs),
            json!({"count": 3, "code": "007", "extra": [1, 2], "word": "hello", "eq": "a=b"})
        );
        let error = collect_inputs(&start(&["count=many"]), &declared).expect_err("not an integer");
        assert_eq!(error.code, super::super::EXIT_USAGE);
        assert!(error.message.contains("input `count`"), "{}", error.message);
        assert!(collect_inputs(&start(&["novalue"]), &declared).is_err());
    }

    #[test]
    fn events_read_as_one_line_each() {
        let line = describe_event(
            &json!({"seq": 1, "event": {"event": "log", "seq": 1, "message": "hi"}}),
        );
        assert!(line.contains("log") && line.ends_with("hi"), "{line}");
    }
}
