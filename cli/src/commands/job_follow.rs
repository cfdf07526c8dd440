//! `alq job get ID --follow`: a job's steps as they happen, from the server's event
//! stream (`GET /api/v1/events?job=ID`), until the job ends. The exit code is the one
//! `alq job start --wait` gives: 0 when the job succeeded, 1 when it failed, died or
//! was cancelled.
//!
//! The stream starts from the job's first event the server keeps, so what happened
//! before the command ran is shown too; a dropped connection is resumed from the last
//! event seen (`Last-Event-ID`), so nothing is shown twice or missed.

use std::collections::HashMap;
use std::time::Duration;

use alq_shared::client::{Client, ClientError, EventFilter, is_final_job_state};
use alq_shared::stream::StreamEvent;
use futures::StreamExt;
use serde_json::Value;

use super::EXIT_FAILED;
use super::job::describe_error;
use super::output;
use super::remote::Outcome;

/// How many times in a row a lost stream is reopened before giving up.
const RECONNECTS: u32 = 10;

/// Follows job `id` until it ends.
pub async fn follow(client: &Client, id: &str, json: bool) -> Outcome {
    let job = client.get_job(id).await?;
    let job_id = job.get("id").and_then(Value::as_i64).unwrap_or_default();
    let mut shown = Shown::default();
    if is_final_job_state(&output::cell(&job, "state")) {
        // Ended already (perhaps longer ago than the server keeps events): its
        // stored step events, then how it ended.
        if !json {
            for item in client.all_job_events(id, None).await? {
                let attempt = item.get("attempt").and_then(Value::as_i64).unwrap_or(1);
                shown.step(attempt, item.get("event").unwrap_or(&Value::Null));
            }
        }
        return Ok(ended(&job, json));
    }
    if !json {
        println!(
            "Job {id} of {}: {} (attempt {} of {}); following it...",
            output::cell(&job, "workflow.name"),
            output::cell(&job, "state"),
            output::cell(&job, "attempt"),
            output::cell(&job, "max_attempts"),
        );
    }
    let filter = EventFilter {
        kinds: Vec::new(),
        job: Some(job_id),
    };
    // From the start: the steps it ran before this command are shown too.
    let mut after = 0;
    let mut failures = 0;
    loop {
        let lost = match client.events(&filter, Some(after)).await {
            Ok(stream) => {
                let mut stream = std::pin::pin!(stream);
                let mut lost = None;
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(event) => {
                            failures = 0;
                            after = event.id;
                            if json {
                                output::json_line(
                                    &serde_json::to_value(&event).unwrap_or_default(),
                                );
                            } else {
                                shown.event(&event);
                            }
                            if event.kind == "job.state_changed"
                                && is_final_job_state(&output::cell(&event.data, "state"))
                            {
                                let job = client.get_job(id).await?;
                                return Ok(ended(&job, json));
                            }
                        }
                        Err(error) => {
                            lost = Some(error);
                            break;
                        }
                    }
                }
                lost.unwrap_or_else(|| ClientError::Connect {
                    url: client.base_url().to_owned(),
                    reason: "the server ended the event stream".into(),
                })
            }
            Err(error @ ClientError::Api { status, .. }) if status < 500 => {
                return Err(error.into());
            }
            Err(error) => error,
        };
        failures += 1;
        if failures > RECONNECTS {
            return Err(lost.into());
        }
        eprintln!("Lost the event stream ({lost}); reconnecting...");
        tokio::time::sleep(Duration::from_millis(250 * u64::from(failures.min(8)))).await;
    }
}

/// Prints how the job ended; its exit code.
fn ended(job: &Value, json: bool) -> u8 {
    let state = output::cell(job, "state");
    if json {
        output::json_line(job);
    } else {
        println!("Job {} {state}.", output::cell(job, "id"));
        if let Some(outputs) = job.get("outputs").filter(|o| !o.is_null()) {
            println!("outputs: {outputs}");
        }
        if let Some(error) = job.get("error").filter(|e| !e.is_null()) {
            println!("{}", describe_error(error));
        }
    }
    if state == "succeeded" { 0 } else { EXIT_FAILED }
}

/// What was printed so far: step labels by attempt and number, so a step's end names it.
#[derive(Default)]
struct Shown {
    labels: HashMap<(i64, u64), String>,
}

impl Shown {
    fn event(&mut self, event: &StreamEvent) {
        let data = &event.data;
        match event.kind.as_str() {
            "job.step" => {
                let attempt = data.get("attempt").and_then(Value::as_i64).unwrap_or(1);
                self.step(attempt, data.get("event").unwrap_or(&Value::Null));
            }
            "job.state_changed" => {
                let state = output::cell(data, "state");
                match state.as_str() {
                    "running" => println!(
                        "Attempt {} started on robot {}.",
                        output::cell(data, "attempt"),
                        output::cell(data, "robot_id")
                    ),
                    "pending" => {
                        let why = data.get("error").map(describe_error).unwrap_or_default();
                        println!(
                            "Attempt {} failed; the job will run again. {why}",
                            output::cell(data, "attempt")
                        );
                    }
                    // The end is printed from the job itself.
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// One line per run event of a robot.
    fn step(&mut self, attempt: i64, event: &Value) {
        let seq = event.get("seq").and_then(Value::as_u64).unwrap_or(0);
        match output::cell(event, "event").as_str() {
            "step_started" => {
                let label = output::cell(event, "label");
                println!("  step {seq}: {label}");
                self.labels.insert((attempt, seq), label);
            }
            "step_finished" => {
                let label = self
                    .labels
                    .get(&(attempt, seq))
                    .cloned()
                    .unwrap_or_else(|| format!("step {seq}"));
                let mut line = format!(
                    "  step {seq}: {} {} ({} ms)",
                    label,
                    output::cell(event, "status"),
                    output::cell(event, "duration_ms")
                );
                if let Some(message) = event.pointer("/error/message").and_then(Value::as_str) {
                    line.push_str(&format!(": {message}"));
                }
                println!("{line}");
            }
            "log" => println!("    {}", output::cell(event, "message")),
            "run_started" => println!("Run started (attempt {attempt})."),
            "run_finished" => println!(
                "Run {} ({} ms).",
                output::cell(event, "status"),
                output::cell(event, "duration_ms")
            ),
            other => println!("  {other}"),
        }
    }
}
