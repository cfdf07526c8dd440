//! The calls about a leased job: heartbeat, events, artifacts, complete. Each carries
//! the job's lease token; a token that is not the job's current one (the lease expired
//! and another robot may hold the job) gets 409 `stale_lease` and changes nothing.

use std::time::Duration;

use alq_shared::api::ErrorCode;
use alq_shared::protocol::{
    CompleteRequest, CompleteResponse, EventsRequest, EventsResponse, HeartbeatRequest,
    HeartbeatResponse,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;

use super::{RobotCaller, job_id, utc};
use crate::AppState;
use crate::api::json::{Body, Report};
use crate::api::query::Params;
use crate::blobs::{BlobError, is_sha256};
use crate::db::jobs::{self, JobRecord};
use crate::db::{artifacts, job_events};
use crate::error::{ApiError, ApiResult};
use crate::events::job_step;
use crate::jobs::By;
use crate::jobs::complete::stale;

/// Most events in one batch.
const MAX_EVENTS: usize = 1_000;

/// The job, when the robot holds (or held, for the attempt that `lease_token` names)
/// its current lease: 404 when the tenant has no such job, 409 otherwise.
async fn leased_job(
    state: &AppState,
    robot: &RobotCaller,
    id: i64,
    lease_token: i64,
) -> ApiResult<JobRecord> {
    let job = jobs::get(&state.db, &robot.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job", id))?;
    if job.robot_id.as_deref() != Some(robot.robot_id.as_str()) || job.lease_token != lease_token {
        return Err(stale(id));
    }
    Ok(job)
}

/// The query of a heartbeat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatWait {
    /// How long to hold the answer back unless the job is cancelled meanwhile (capped
    /// at the heartbeat interval); 0 or missing answers at once. A query parameter, not
    /// a body field, so that an older server ignores it and answers at once.
    #[serde(default)]
    wait_ms: u64,
}

/// `POST /robot/jobs/{id}/heartbeat?wait_ms=N`: extends the lease and says whether to
/// cancel. With `wait_ms`, a long-poll: the answer comes when the job is cancelled or
/// after `wait_ms`, whichever is first, so a cancel reaches the robot at once.
#[utoipa::path(operation_id = "robot_heartbeat", post, path = "/api/v1/robot/jobs/{id}/heartbeat", tag = "robot", params(("id" = i64, Path), ("wait_ms" = Option<u64>, Query, description = "Hold the answer until a cancel or this many ms (at most the heartbeat interval)")), request_body(content = Object, description = "`{lease_token}`"), responses((status = 200, description = "`{lease_expires_at, cancel}`", body = Object), (status = 409, description = "Stale lease token (`stale_lease`)", body = super::super::api::openapi::ErrorSchema), super::super::api::openapi::Errors))]
pub async fn heartbeat(
    State(state): State<AppState>,
    robot: RobotCaller,
    Path(id): Path<String>,
    Params(wait): Params<HeartbeatWait>,
    Body(body): Body<HeartbeatRequest>,
) -> ApiResult<Json<HeartbeatResponse>> {
    let id = job_id(&id)?;
    let wait = Duration::from_millis(wait.wait_ms.min(state.config.heartbeat_interval_ms));
    robot.seen(&state).await?;
    // Watching before the lease is read: a cancel stored after the read still wakes it.
    let watch = (!wait.is_zero()).then(|| state.dispatcher.cancels().watch(id));
    let cancelled = watch.as_ref().map(|w| w.cancelled());
    let answer = extend(&state, &robot, id, body.lease_token).await?;
    let Some(cancelled) = cancelled.filter(|_| !answer.cancel) else {
        return Ok(Json(answer));
    };
    tokio::select! {
        () = cancelled => {}
        () = tokio::time::sleep(wait) => return Ok(Json(answer)),
        () = state.shutdown.cancelled() => return Ok(Json(answer)),
    }
    // Cancelled meanwhile: read it (and extend the lease once more) from the database.
    Ok(Json(extend(&state, &robot, id, body.lease_token).await?))
}

/// Extends the lease of a job the robot holds and reads whether it was cancelled.
async fn extend(
    state: &AppState,
    robot: &RobotCaller,
    id: i64,
    lease_token: i64,
) -> ApiResult<HeartbeatResponse> {
    let ttl = i64::try_from(state.config.lease_ttl_ms).unwrap_or(i64::MAX / 2);
    match jobs::extend_lease(
        &state.db,
        &robot.tenant_id,
        id,
        &robot.robot_id,
        lease_token,
        ttl,
    )
    .await?
    {
        Some((expires_at, cancel)) => Ok(HeartbeatResponse {
            lease_expires_at: utc(expires_at),
            cancel,
        }),
        None => {
            // Tell a job of another tenant (404) from a lost lease (409).
            leased_job(state, robot, id, lease_token).await?;
            Err(stale(id))
        }
    }
}

/// `POST /robot/jobs/{id}/events`: stores a batch of numbered events; numbers seen
/// before are ignored, so a replayed batch is harmless.
#[utoipa::path(operation_id = "robot_events", post, path = "/api/v1/robot/jobs/{id}/events", tag = "robot", params(("id" = i64, Path)), request_body(content = Object, description = "`{lease_token, events: [{seq, event}]}`"), responses((status = 200, description = "`{accepted}`", body = Object), (status = 409, description = "Stale lease token", body = super::super::api::openapi::ErrorSchema), super::super::api::openapi::Errors))]
pub async fn events(
    State(state): State<AppState>,
    robot: RobotCaller,
    Path(id): Path<String>,
    Report(body): Report<EventsRequest>,
) -> ApiResult<Json<EventsResponse>> {
    let id = job_id(&id)?;
    if body.events.len() > MAX_EVENTS {
        return Err(ApiError::invalid(format!(
            "a batch holds at most {MAX_EVENTS} events; got {}: send them in smaller batches",
            body.events.len()
        )));
    }
    if let Some(bad) = body.events.iter().find(|e| e.seq < 1) {
        return Err(ApiError::invalid(format!(
            "event numbers (`seq`) start at 1; got {}",
            bad.seq
        )));
    }
    let job = leased_job(&state, &robot, id, body.lease_token).await?;
    let events: Vec<(i64, Value)> = body.events.into_iter().map(|e| (e.seq, e.event)).collect();
    let mut tx = state.db.begin().await?;
    let added = job_events::append(&mut tx, &robot.tenant_id, id, job.attempt, &events).await?;
    let accepted = added.len() as u64;
    let steps = added
        .into_iter()
        .map(|(seq, event)| job_step(&robot.tenant_id, id, job.attempt, seq, event))
        .collect();
    state.events.commit(tx, steps).await?;
    Ok(Json(EventsResponse { accepted }))
}

/// `PUT /robot/jobs/{id}/artifacts/{sha256}`: the body is the artifact; its
/// `Content-Type` is kept, `X-Alq-Name` names it, `X-Alq-Lease-Token` fences it.
#[utoipa::path(operation_id = "robot_artifact", put, path = "/api/v1/robot/jobs/{id}/artifacts/{sha256}", tag = "robot", params(("id" = i64, Path), ("sha256" = String, Path), ("X-Alq-Lease-Token" = i64, Header), ("X-Alq-Name" = Option<String>, Header)), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 204, description = "Stored (or already there)"), (status = 409, description = "Stale lease token", body = super::super::api::openapi::ErrorSchema), super::super::api::openapi::Errors))]
pub async fn upload_artifact(
    State(state): State<AppState>,
    robot: RobotCaller,
    Path((id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    let id = job_id(&id)?;
    let lease_token: i64 = headers
        .get("x-alq-lease-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::invalid("send the job's lease token in the X-Alq-Lease-Token header")
        })?;
    if !is_sha256(&sha256) {
        return Err(ApiError::invalid(format!(
            "`{sha256}` is not a SHA-256 in lowercase hex (64 characters)"
        )));
    }
    leased_job(&state, &robot, id, lease_token).await?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "artifacts are limited to {} bytes",
                    state.config.max_artifact_bytes
                ),
            )
        } else {
            ApiError::invalid(format!(
                "cannot read the artifact: {}",
                rejection.body_text()
            ))
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let name = match headers.get("x-alq-name") {
        None => String::new(),
        Some(value) => std::str::from_utf8(value.as_bytes())
            .ok()
            .filter(|name| !name.chars().any(char::is_control))
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::invalid(
                    "the X-Alq-Name header must be UTF-8 text without control characters",
                )
            })?,
    };
    state.blobs.put(&sha256, &body).await.map_err(|e| match e {
        BlobError::Io(_) => ApiError::internal(e),
        other => ApiError::invalid(other.to_string()),
    })?;
    artifacts::record(
        &state.db,
        &robot.tenant_id,
        id,
        &artifacts::Artifact {
            sha256,
            name,
            content_type,
            size: i64::try_from(body.len()).unwrap_or(i64::MAX),
            created_at: 0,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /robot/jobs/{id}/complete`: ends the attempt. A replay of the completion that
/// ended it (same token, same outcome) is answered 200 again; any other call with a
/// stale token is 409 and changes nothing.
#[utoipa::path(operation_id = "robot_complete", post, path = "/api/v1/robot/jobs/{id}/complete", tag = "robot", params(("id" = i64, Path)), request_body(content = Object, description = "`{lease_token, outcome, outputs, error?}`"), responses((status = 200, description = "`{state}`", body = Object), (status = 409, description = "Stale lease token", body = super::super::api::openapi::ErrorSchema), super::super::api::openapi::Errors))]
pub async fn complete(
    State(state): State<AppState>,
    robot: RobotCaller,
    Path(id): Path<String>,
    Report(body): Report<CompleteRequest>,
) -> ApiResult<Json<CompleteResponse>> {
    let id = job_id(&id)?;
    let actor = robot.actor();
    let by = By {
        tenant_id: &robot.tenant_id,
        actor: &actor,
    };
    let done = crate::jobs::complete(&state, by, id, body).await?;
    Ok(Json(CompleteResponse {
        state: done.job.state,
    }))
}
