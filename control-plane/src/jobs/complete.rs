//! A robot ends an attempt under its lease token. A replay of the completion that ended
//! it (same token, same outcome) is answered again; any other call with a stale token is
//! a 409 `stale_lease` and changes nothing. Completions are not in the audit log: what
//! robots report is in the job.

use alq_shared::api::ErrorCode;
use alq_shared::protocol::{CompleteRequest, ErrorType, JobState, Outcome};
use serde_json::{Value, json};

use super::manage::find;
use super::{By, announce};
use crate::AppState;
use crate::auth::Actor;
use crate::db::jobs::{self, Backoff, Completion, JobRecord};
use crate::db::presence;
use crate::error::{ApiError, ApiResult};
use crate::events::{job_state, robot_presence};

/// A completion's result.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The job after it.
    pub job: JobRecord,
    /// Whether this was a replay of the completion that already ended the attempt.
    pub replay: bool,
}

/// The answer to a lease token that is not the job's current one.
pub fn stale(id: i64) -> ApiError {
    ApiError::new(
        ErrorCode::StaleLease,
        format!(
            "job {id}: this lease token is not the job's current lease (it expired or the job was completed); stop working on the job"
        ),
    )
}

/// How a robot's report is stored.
fn completion(request: CompleteRequest) -> Completion {
    let outputs = Value::Object(request.outputs);
    match request.outcome {
        Outcome::Succeeded => Completion::Succeeded(outputs),
        Outcome::Cancelled => Completion::Cancelled(outputs),
        Outcome::Failed => {
            let kind = request.error.as_ref().map(|e| e.kind).unwrap_or_default();
            let error = match &request.error {
                Some(e) => json!({ "message": e.message, "type": e.kind }),
                None => {
                    json!({ "message": "the robot reported a failure without an error", "type": "application" })
                }
            };
            match kind {
                ErrorType::Business => Completion::Failed(error),
                ErrorType::Application => Completion::Retry(error),
            }
        }
    }
}

/// Ends the attempt of job `id` that the acting robot holds under `lease_token`: a
/// business failure is final, an application failure goes back to pending after a
/// backoff (or to dead after its last attempt).
pub async fn complete(
    state: &AppState,
    by: By<'_>,
    id: i64,
    request: CompleteRequest,
) -> ApiResult<Completed> {
    let Actor::Robot { robot_id } = by.actor else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the robot that holds a job's lease completes it",
        ));
    };
    let lease_token = request.lease_token;
    let completion = completion(request);
    let backoff = Backoff {
        base_ms: i64::try_from(state.config.retry_base_ms).unwrap_or(i64::MAX / 4),
        max_ms: i64::try_from(state.config.retry_max_ms).unwrap_or(i64::MAX / 4),
    };
    let mut tx = state.db.begin().await?;
    let done = jobs::complete(
        &mut tx,
        by.tenant_id,
        id,
        robot_id,
        lease_token,
        &completion,
        backoff,
    )
    .await?;
    if done {
        let job = jobs::get_in(&mut tx, by.tenant_id, id).await?;
        let mut events = vec![job_state(&job)];
        if let Some((tenant, name)) = presence::became_idle(&mut tx, robot_id).await? {
            events.extend(robot_presence(&tenant, robot_id, &name, "online"));
        }
        state.events.commit(tx, events).await?;
    } else {
        drop(tx);
    }
    let job = find(state, by.tenant_id, id).await?;
    if !done {
        let replay = job.completed_lease == Some(lease_token)
            && job.lease_token == lease_token
            && job.robot_id.as_deref() == Some(robot_id.as_str())
            && match &completion {
                Completion::Succeeded(_) => job.state == JobState::Succeeded,
                Completion::Cancelled(_) => job.state == JobState::Cancelled,
                Completion::Failed(_) => job.state == JobState::Failed,
                Completion::Retry(_) => matches!(
                    job.state,
                    JobState::Pending | JobState::Dead | JobState::Cancelled
                ),
            };
        if !replay {
            return Err(stale(id));
        }
        return Ok(Completed { job, replay: true });
    }
    tracing::info!(job.id = id, job.attempt = job.attempt, job.state = job.state.as_str(), robot.id = %robot_id, "Job attempt completed.");
    if job.state == JobState::Pending {
        announce(state, &job);
    }
    Ok(Completed { job, replay: false })
}
