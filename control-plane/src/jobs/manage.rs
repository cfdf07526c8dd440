//! What an operator does to a job: cancel it, or retry it as a new job.
//!
//! Retrying makes a new job (`retry_of` names the old one) rather than resetting the old
//! one: the old job keeps its history (events per attempt, error, artifacts).

use alq_shared::api::ErrorCode;
use alq_shared::protocol::JobState;
use serde_json::json;

use super::create::insert_audited;
use super::{By, announce};
use crate::AppState;
use crate::db::jobs::{self, JobRecord, NewJob};
use crate::db::{audit, workflows};
use crate::error::{ApiError, ApiResult};
use crate::events::{job_created, job_state};

/// A job of the tenant, or 404.
pub(super) async fn find(state: &AppState, tenant_id: &str, id: i64) -> ApiResult<JobRecord> {
    jobs::get(&state.db, tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job", id))
}

/// Cancels a job: a pending one at once; a running one is asked to stop (its robot's
/// open heartbeat poll is answered at once, on whichever replica it waits); a finished
/// one is a 409. Returns the job as it is now.
pub async fn cancel(state: &AppState, by: By<'_>, id: i64) -> ApiResult<JobRecord> {
    let job = find(state, by.tenant_id, id).await?;
    let mut tx = state.db.begin().await?;
    let done = match job.state {
        JobState::Pending => jobs::cancel_pending(&mut tx, by.tenant_id, job.id).await?,
        JobState::Running => jobs::request_cancel(&mut tx, by.tenant_id, job.id).await?,
        finished => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "job {} is {} already: there is nothing to cancel",
                    job.id,
                    finished.as_str()
                ),
            ));
        }
    };
    if !done {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "job {} changed state meanwhile; look at it and try again",
                job.id
            ),
        ));
    }
    audit::record(
        &mut tx,
        by.tenant_id,
        &by.actor.name(),
        "job.cancel",
        &format!("job:{}", job.id),
        json!({ "state": job.state }),
    )
    .await?;
    let now = jobs::get_in(&mut tx, by.tenant_id, job.id).await?;
    // A pending job is cancelled now; a running one only asked to stop, until its
    // robot completes it.
    let events = if now.state == job.state {
        Vec::new()
    } else {
        vec![job_state(&now)]
    };
    state.events.commit(tx, events).await?;
    if job.state == JobState::Running {
        state.dispatcher.job_cancelled(job.id);
    }
    Ok(now)
}

/// Runs a failed, dead or cancelled job again as a new job (`retry_of` is the old one)
/// with the same version, inputs, priority, labels and `max_attempts`.
pub async fn retry(state: &AppState, by: By<'_>, id: i64) -> ApiResult<JobRecord> {
    let old = find(state, by.tenant_id, id).await?;
    if !matches!(
        old.state,
        JobState::Failed | JobState::Dead | JobState::Cancelled
    ) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "job {} is {}: only failed, dead or cancelled jobs can be retried",
                old.id,
                old.state.as_str()
            ),
        ));
    }
    if workflows::version(&state.db, by.tenant_id, &old.version_id)
        .await?
        .is_none()
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "job {} ran a version of `{}` that was deleted: start a new job instead",
                old.id, old.workflow_name
            ),
        ));
    }
    let new = NewJob {
        tenant_id: by.tenant_id.to_owned(),
        workflow_id: old.workflow_id.clone(),
        workflow_name: old.workflow_name.clone(),
        version_id: old.version_id.clone(),
        priority: old.priority,
        labels: old.labels.clone(),
        inputs: old.inputs.clone(),
        secret_inputs: old.secret_inputs.clone(),
        max_attempts: old.max_attempts,
        run_after: None,
        retry_of: Some(old.id),
        created_by: by.actor.name(),
    };
    let mut tx = state.db.begin().await?;
    let job = insert_audited(&mut tx, &by, &new, "job.retry", |id| {
        (format!("job:{}", old.id), json!({ "new_job": id }))
    })
    .await?;
    state.events.commit(tx, vec![job_created(&job)]).await?;
    announce(state, &job);
    Ok(job)
}
