//! `POST /api/v1/robot/lease`: the long-poll that hands jobs to robots.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use alq_shared::protocol::{
    JobState, LeaseRequest, LeaseResponse, LeasedJob, LeasedWorkflow, PackageRef,
};
use alq_shared::stream::{Event, JobStateChanged};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{RobotCaller, utc};
use crate::AppState;
use crate::api::json::Body;
use crate::db::{assets, jobs, presence, robots, workflows};
use crate::error::{ApiError, ApiResult};
use crate::events::{Happened, robot_presence};

/// Most jobs one lease call may take.
const MAX_SLOTS: u32 = 100;

/// Claims the best jobs the robot may run; when there are none, parks the request
/// (no database work) until a job it can take appears, `wait_s` passes (204) or the
/// server stops (204). A disabled robot's request is held the same way and answered
/// `{jobs: [], disabled: true}`, or served as usual once the robot is enabled.
#[utoipa::path(operation_id = "robot_lease", post, path = "/api/v1/robot/lease", tag = "robot", request_body(content = Object, description = "`{wait_s, slots}`"), responses((status = 200, description = "`{jobs: [{job_id, attempt, lease_token, lease_expires_at, inputs, assets, workflow}]}`; for a disabled robot, after the wait: `{jobs: [], disabled: true}`", body = Object), (status = 204, description = "No job within `wait_s`"), super::super::api::openapi::Errors))]
pub async fn lease(
    State(state): State<AppState>,
    robot: RobotCaller,
    Body(body): Body<LeaseRequest>,
) -> ApiResult<Response> {
    if body.slots == 0 || body.slots > MAX_SLOTS {
        return Err(ApiError::invalid(format!(
            "`slots` must be between 1 and {MAX_SLOTS}; got {}",
            body.slots
        )));
    }
    robot.seen(&state).await?;
    let wait = Duration::from_secs(body.wait_s.min(state.config.lease_wait_max_s));
    let deadline = tokio::time::Instant::now() + wait;
    if robot.disabled && !enabled_before(&state, &robot, deadline).await? {
        return Ok(Json(LeaseResponse {
            jobs: Vec::new(),
            disabled: true,
        })
        .into_response());
    }
    let mut wake = None;
    loop {
        // Parked before claiming, so a job made between the claim and the wait still
        // wakes this request.
        let mut parked = state.dispatcher.park(&robot.tenant_id, &robot.labels);
        let claimed = match claim(&state, &robot, body.slots).await {
            Ok(claimed) => claimed,
            Err(error) => {
                // Woken for a job this request cannot claim now: another robot may.
                if let Some(ready) = wake.take() {
                    state.dispatcher.wake_local(ready);
                }
                return Err(error);
            }
        };
        if !claimed.is_empty() {
            state.dispatcher.leased();
            drop(parked);
            // Woken for a job but filled up with others: the job may still wait, so
            // pass its wake-up on to the next parked robot.
            if let Some(ready) = wake.take()
                && claimed.len() == body.slots as usize
            {
                state.dispatcher.wake_local(ready);
            }
            return Ok(Json(LeaseResponse {
                jobs: claimed,
                disabled: false,
            })
            .into_response());
        }
        if state.shutdown.is_cancelled() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        tokio::select! {
            woken = parked.woken() => {
                if woken.is_none() {
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
                wake = woken;
                // Someone else may take the job first: then this loops and parks again.
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(StatusCode::NO_CONTENT.into_response()),
            _ = state.shutdown.cancelled() => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    }
}

/// How often a disabled robot's parked poll looks whether it was enabled. Enabling is
/// rare and may happen on another replica, so a cheap look by primary key beats a
/// wake-up channel; a robot resumes within this long of being enabled.
pub const DISABLED_RECHECK: Duration = Duration::from_secs(2);

/// Holds a disabled robot's poll until `deadline` (or the server stops): true as soon
/// as the robot is enabled, false when it is still disabled then. A robot deleted
/// meanwhile is 401, as its next call would be.
async fn enabled_before(
    state: &AppState,
    robot: &RobotCaller,
    deadline: tokio::time::Instant,
) -> ApiResult<bool> {
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline || state.shutdown.is_cancelled() {
            return Ok(false);
        }
        tokio::select! {
            () = tokio::time::sleep(DISABLED_RECHECK.min(deadline - now)) => {}
            () = state.shutdown.cancelled() => return Ok(false),
        }
        match robots::get(&state.db, &robot.tenant_id, &robot.robot_id).await? {
            None => return Err(super::robot_gone()),
            Some(record) if !record.disabled => return Ok(true),
            Some(_) => {}
        }
    }
}

async fn claim(state: &AppState, robot: &RobotCaller, slots: u32) -> ApiResult<Vec<LeasedJob>> {
    let ttl = i64::try_from(state.config.lease_ttl_ms).unwrap_or(i64::MAX / 2);
    let mut tx = state.db.begin().await?;
    let claimed = jobs::claim_jobs(
        &mut tx,
        &robot.tenant_id,
        &robot.robot_id,
        i64::from(slots),
        ttl,
    )
    .await?;
    let mut events: Vec<Happened> = claimed
        .iter()
        .map(|job| Happened {
            tenant_id: robot.tenant_id.clone(),
            event: Event::JobStateChanged(JobStateChanged {
                job_id: job.id,
                workflow_name: job.workflow_name.clone(),
                state: JobState::Running,
                attempt: job.attempt,
                robot_id: Some(robot.robot_id.clone()),
                error: None,
                outputs: None,
            }),
        })
        .collect();
    if !claimed.is_empty()
        && let Some((tenant, name)) = presence::became_busy(&mut tx, &robot.robot_id).await?
    {
        events.extend(robot_presence(&tenant, &robot.robot_id, &name, "busy"));
    }
    state.events.commit(tx, events).await?;
    // Per version: its workflow file, its package, and the assets its files name.
    let mut sources: HashMap<String, (String, Option<PackageRef>, BTreeSet<String>)> =
        HashMap::new();
    // Read once per lease answer, and only when a job was claimed: parked polls stay free.
    let mut tenant_assets = None;
    let mut leased = Vec::with_capacity(claimed.len());
    for job in claimed {
        if !sources.contains_key(&job.version_id) {
            let version = workflows::version(&state.db, &robot.tenant_id, &job.version_id)
                .await?
                .ok_or_else(|| {
                    ApiError::internal(format!(
                        "job {} runs workflow version {}, which is gone",
                        job.id, job.version_id
                    ))
                })?;
            let wanted = match &version.package {
                Some(package) => package.assets.iter().cloned().collect(),
                None => alq_shared::workflow::referenced_assets(&version.source),
            };
            let package = version.package.map(|p| PackageRef {
                sha256: p.sha256,
                size: u64::try_from(p.size).unwrap_or(0),
                entry: p.entry,
            });
            sources.insert(job.version_id.clone(), (version.source, package, wanted));
        }
        let (source, package, wanted) = sources.get(&job.version_id).cloned().unwrap_or_default();
        let assets = if wanted.is_empty() {
            serde_json::Map::new()
        } else {
            if tenant_assets.is_none() {
                tenant_assets =
                    Some(assets::resolve_for_job(&state.db, &state.key, &robot.tenant_id).await?);
            }
            let all = tenant_assets.as_ref().cloned().unwrap_or_default();
            all.into_iter()
                .filter(|(name, _)| wanted.contains(name))
                .collect()
        };
        // How long the job waited for a robot: from when it could first run (made, or
        // its `run_after`) to this lease. A retried job counts from its retry time.
        let waited = job.leased_at - job.created_at.max(job.run_after);
        state
            .metrics
            .observe_lease_wait(Duration::from_millis(u64::try_from(waited).unwrap_or(0)));
        tracing::info!(job.id = job.id, job.attempt = job.attempt, robot.id = %robot.robot_id, "Job leased.");
        leased.push(LeasedJob {
            job_id: job.id,
            attempt: job.attempt,
            lease_token: job.lease_token,
            lease_expires_at: utc(job.lease_expires_at),
            inputs: job.inputs,
            assets,
            workflow: LeasedWorkflow {
                id: job.workflow_id,
                name: job.workflow_name,
                source,
                version_id: job.version_id,
                package,
            },
        });
    }
    Ok(leased)
}
