//! The job as the API and the console show it: times in RFC 3339, secret inputs masked.

use serde_json::{Map, Value, json};

use crate::db::jobs::JobRecord;

/// Unix milliseconds as a UTC time.
pub fn utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Unix milliseconds as RFC 3339 text, `null` for none.
pub fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| json!(utc(ms).to_rfc3339()))
}

/// What a secret input is shown as.
pub const MASK: &str = "***";

/// The job as the API shows it: times in RFC 3339, secret inputs masked (a secret not
/// given stays `null`).
pub fn job_json(job: &JobRecord) -> Value {
    let inputs: Map<String, Value> = job
        .inputs
        .iter()
        .map(|(name, value)| {
            if job.secret_inputs.contains(name) && !value.is_null() {
                (name.clone(), json!(MASK))
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect();
    json!({
        "id": job.id,
        "workflow": { "id": job.workflow_id, "name": job.workflow_name },
        "version_id": job.version_id,
        "state": job.state,
        "priority": job.priority,
        "labels": job.labels,
        "inputs": inputs,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "run_after": time(Some(job.run_after)),
        "robot_id": job.robot_id,
        "lease_expires_at": time(job.lease_expires_at),
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "outputs": job.outputs,
        "retry_of": job.retry_of,
        "created_at": time(Some(job.created_at)),
        "started_at": time(job.started_at),
        "finished_at": time(job.finished_at),
    })
}
