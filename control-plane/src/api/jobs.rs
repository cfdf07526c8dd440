//! Jobs: created with inputs checked against the workflow version, listed with filters
//! and a cursor, cancelled and retried; their step events and artifacts read back. The
//! rules are the jobs domain's (`crate::jobs`); this door parses, authorises and renders.

use alq_shared::protocol::JobState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::json::Body;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::jobs::{self as stored, JobRecord, ListFilter};
use crate::db::{artifacts, job_events, workflows};
use crate::error::{ApiError, ApiResult};
use crate::jobs::view::{job_json, time};
use crate::jobs::{self, Answer, By, IdempotencyKey, JobSpec};
use crate::robot_api::job_id;

/// Body of `POST /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    /// The workflow, by id or name.
    pub workflow: String,
    /// A version of it: its number, its id, or a prefix of its hash (6+ hex digits);
    /// default the latest.
    #[serde(default)]
    pub version: Option<String>,
    /// Inputs by name.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// Labels a robot must all have.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Leases before the job is dead (1 to 100, default 3).
    #[serde(default)]
    pub max_attempts: Option<i64>,
    /// Not before this time.
    #[serde(default)]
    pub run_after: Option<DateTime<Utc>>,
}

/// Query of `GET /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    workflow: Option<String>,
    robot: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Query of `GET /api/v1/jobs/{id}/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn find_job(state: &AppState, caller: &Caller, id: &str) -> ApiResult<JobRecord> {
    let id = job_id(id)?;
    stored::get(&state.db, &caller.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job", id))
}

/// The `Idempotency-Key` header of a creating call, if it has one.
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get("idempotency-key")
            .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("")))
            .transpose()
            .map(IdempotencyHeader)
    }
}

/// A creating call's answer; a replayed one says so in `Idempotent-Replayed: true`.
pub fn answer(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Json(answer.body)).into_response();
    if answer.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

/// `POST /api/v1/jobs`. With an `Idempotency-Key`, a retry gets the first answer back.
#[utoipa::path(operation_id = "jobs_create", post, path = "/api/v1/jobs", tag = "jobs",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, unique per request (a UUID): a retry with the same key and the same body within 24 hours gets the first answer (status and body, with `Idempotent-Replayed: true`) and makes no second job")),
    request_body(content = Object, description = "`{workflow, version?, inputs, priority, labels, max_attempts, run_after?}`"),
    responses((status = 201, description = "The job", body = Object),
              (status = 409, description = "The Idempotency-Key was used for another request (`conflict`)", body = super::openapi::ErrorSchema),
              (status = 422, description = "The inputs do not fit the workflow (`invalid_inputs`)", body = super::openapi::ErrorSchema), super::openapi::Errors))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyHeader(key): IdempotencyHeader,
    Body(body): Body<CreateJob>,
) -> ApiResult<Response> {
    caller.require(Role::Operator)?;
    let actor = caller.actor();
    let by = By {
        tenant_id: &caller.tenant_id,
        actor: &actor,
    };
    let spec = JobSpec {
        inputs: body.inputs,
        priority: body.priority,
        labels: body.labels,
        max_attempts: body.max_attempts,
        run_after: body.run_after,
    };
    let version = body.version.as_deref();
    Ok(match key {
        Some(key) => {
            answer(jobs::create_once(&state, by, &key, &body.workflow, version, spec).await?)
        }
        None => {
            let job = jobs::create(&state, by, &body.workflow, version, spec).await?;
            (StatusCode::CREATED, Json(job_json(&job))).into_response()
        }
    })
}

fn parse_time(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| {
                    ApiError::invalid(format!(
                        "`{name}` must be an RFC 3339 time like 2026-01-31T12:00:00Z; got `{v}`: {e}"
                    ))
                })
        })
        .transpose()
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::invalid(format!("invalid query: {}", e.body_text())))
}

/// `GET /api/v1/jobs`: newest first, `limit` (default 50, at most 500) per page;
/// `next_cursor` fetches the next page.
#[utoipa::path(operation_id = "jobs_list", get, path = "/api/v1/jobs", tag = "jobs", params(("state" = Option<String>, Query), ("workflow" = Option<String>, Query), ("robot" = Option<String>, Query), ("since" = Option<String>, Query, description = "RFC 3339"), ("until" = Option<String>, Query, description = "RFC 3339"), ("limit" = Option<i64>, Query, description = "1 to 500, default 50"), ("cursor" = Option<String>, Query)), responses((status = 200, description = "`{items, next_cursor}`, newest first", body = Object), super::openapi::Errors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let params = query(params)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "`limit` must be between 1 and 500; got {limit}"
        )));
    }
    let job_state = params
        .state
        .as_deref()
        .map(|s| {
            JobState::parse(s).ok_or_else(|| {
                ApiError::invalid(format!(
                    "unknown state `{s}`; use pending, running, succeeded, failed, cancelled or dead"
                ))
            })
        })
        .transpose()?;
    let workflow_id = match &params.workflow {
        Some(w) => Some(
            workflows::get(&state.db, &caller.tenant_id, w)
                .await?
                .map_or_else(|| w.clone(), |w| w.id),
        ),
        None => None,
    };
    let before_id = params
        .cursor
        .as_deref()
        .map(|c| {
            c.strip_prefix('j')
                .and_then(|n| i64::from_str_radix(n, 16).ok())
                .ok_or_else(|| {
                    ApiError::invalid(format!("`cursor` `{c}` is not one this API gave"))
                })
        })
        .transpose()?;
    let filter = ListFilter {
        state: job_state,
        workflow_id,
        robot_id: params.robot.clone(),
        since: parse_time("since", params.since.as_deref())?,
        until: parse_time("until", params.until.as_deref())?,
        before_id,
        limit: limit + 1,
    };
    let mut items = stored::list(&state.db, &caller.tenant_id, &filter).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|j| format!("j{:x}", j.id))
    } else {
        None
    };
    Ok(Json(json!({
        "items": items.iter().map(job_json).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// `GET /api/v1/jobs/{id}`.
#[utoipa::path(operation_id = "jobs_get", get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = i64, Path)), responses((status = 200, description = "The job", body = Object), super::openapi::Errors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    Ok(Json(job_json(&find_job(&state, &caller, &id).await?)))
}

/// `GET /api/v1/jobs/{id}/events?after=ID`: the step events after the event `after`
/// (their `id`, growing across attempts), oldest first.
#[utoipa::path(operation_id = "jobs_events", get, path = "/api/v1/jobs/{id}/events", tag = "jobs", params(("id" = i64, Path), ("after" = Option<i64>, Query, description = "An event id"), ("limit" = Option<i64>, Query)), responses((status = 200, description = "`{items: [{id, attempt, seq, event, received_at}]}`", body = Object), super::openapi::Errors))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let params = query(params)?;
    let job = find_job(&state, &caller, &id).await?;
    let limit = params.limit.unwrap_or(1_000).clamp(1, 10_000);
    let items = job_events::list(
        &state.db,
        &caller.tenant_id,
        job.id,
        params.after.unwrap_or(0),
        limit,
    )
    .await?;
    let items: Vec<Value> = items
        .iter()
        .map(|e| json!({ "id": e.id, "attempt": e.attempt, "seq": e.seq, "event": e.event, "received_at": time(Some(e.received_at)) }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/jobs/{id}/artifacts`.
#[utoipa::path(operation_id = "jobs_artifacts", get, path = "/api/v1/jobs/{id}/artifacts", tag = "jobs", params(("id" = i64, Path)), responses((status = 200, description = "The job's artifacts", body = Object), super::openapi::Errors))]
pub async fn artifacts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let job = find_job(&state, &caller, &id).await?;
    let items = artifacts::list(&state.db, &caller.tenant_id, job.id).await?;
    let items: Vec<Value> = items
        .iter()
        .map(|a| json!({ "sha256": a.sha256, "name": a.name, "content_type": a.content_type, "size": a.size, "created_at": time(Some(a.created_at)) }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/jobs/{id}/artifacts/{sha256}`: the bytes; an image inline, anything else
/// as a download (see `artifact_response`).
#[utoipa::path(operation_id = "jobs_artifact", get, path = "/api/v1/jobs/{id}/artifacts/{sha256}", tag = "jobs", params(("id" = i64, Path), ("sha256" = String, Path)), responses((status = 200, description = "The bytes: PNG, JPEG, GIF and WebP images inline with their type, anything else as an `attachment` of type application/octet-stream; always `X-Content-Type-Options: nosniff` and `Content-Security-Policy: default-src 'none'; sandbox`"), super::openapi::Errors))]
pub async fn artifact(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let job = find_job(&state, &caller, &id).await?;
    let artifact = artifacts::get(&state.db, &caller.tenant_id, job.id, &sha256)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("artifact of job {}", job.id), &sha256))?;
    let bytes = state
        .blobs
        .require(&sha256)
        .await
        .map_err(ApiError::internal)?;
    Ok(super::artifact_response::artifact_response(
        &artifact.content_type,
        &artifact.name,
        &sha256,
        bytes,
    ))
}

/// `POST /api/v1/jobs/{id}/cancel`: a pending job is cancelled at once; a running one
/// is asked to stop (its robot's open heartbeat poll is answered at once, on whichever
/// replica it waits); a finished one is 409.
#[utoipa::path(operation_id = "jobs_cancel", post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = i64, Path)), responses((status = 200, description = "The job: cancelled, or running with cancel_requested (its robot is told at once)", body = Object), (status = 409, description = "The job has ended", body = super::openapi::ErrorSchema), super::openapi::Errors))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Operator)?;
    let actor = caller.actor();
    let by = By {
        tenant_id: &caller.tenant_id,
        actor: &actor,
    };
    let job = jobs::cancel(&state, by, job_id(&id)?).await?;
    Ok(Json(job_json(&job)))
}

/// `POST /api/v1/jobs/{id}/retry`: a failed, dead or cancelled job runs again as a new
/// job (`retry_of` is the old one) with the same version, inputs, priority and labels.
#[utoipa::path(operation_id = "jobs_retry", post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", params(("id" = i64, Path)), responses((status = 201, description = "A new job with `retry_of`", body = Object), (status = 409, description = "The job is not failed, dead or cancelled", body = super::openapi::ErrorSchema), super::openapi::Errors))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Operator)?;
    let actor = caller.actor();
    let by = By {
        tenant_id: &caller.tenant_id,
        actor: &actor,
    };
    let job = jobs::retry(&state, by, job_id(&id)?).await?;
    Ok((StatusCode::CREATED, Json(job_json(&job))))
}
