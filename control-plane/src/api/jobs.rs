//! Jobs: created with inputs checked against the workflow version, listed with filters
//! and a cursor, cancelled and retried; their step events and artifacts read back.
//!
//! Retrying by hand makes a new job (`retry_of` names the old one) rather than resetting
//! the old one: the old job keeps its history (events per attempt, error, artifacts).

use std::collections::BTreeMap;

use alq_shared::api::ErrorCode;
use alq_shared::protocol::JobState;
use alq_shared::workflow::InputSpec;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::json::Body;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::jobs::{self, JobRecord, ListFilter, NewJob};
use crate::db::{artifacts, audit, job_events, workflows};
use crate::error::{ApiError, ApiResult};
use crate::lease::JobReady;
use crate::robot_api::{job_id, utc};

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

/// Trims, checks, sorts and dedups labels, by the one rule registration tokens, robots
/// and jobs share (so a job never needs a label no robot can be given).
pub(crate) fn clean_labels(labels: impl IntoIterator<Item = String>) -> ApiResult<Vec<String>> {
    let trimmed: Vec<String> = labels.into_iter().map(|l| l.trim().to_owned()).collect();
    super::tokens::check_labels(&trimmed)
}

fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| json!(utc(ms).to_rfc3339()))
}

/// The job as the API shows it: times in RFC 3339, secret inputs masked.
pub fn job_json(job: &JobRecord) -> Value {
    let inputs: Map<String, Value> = job
        .inputs
        .iter()
        .map(|(name, value)| {
            if job.secret_inputs.contains(name) {
                (name.clone(), json!("***"))
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

/// Checks inputs against the declared ones and fills in defaults; every problem is
/// named in one 422.
fn check_inputs(
    declared: &BTreeMap<String, InputSpec>,
    mut given: Map<String, Value>,
) -> ApiResult<Map<String, Value>> {
    let mut problems = Vec::new();
    for name in given.keys() {
        if !declared.contains_key(name) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            problems.push(json!({ "input": name, "message": format!("unknown input `{name}`; the workflow declares: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") }) }));
        }
    }
    for (name, spec) in declared {
        match given.get(name) {
            Some(value) if !spec.kind.accepts(value) => problems.push(json!({
                "input": name,
                "message": format!("input `{name}` must be {}; got {value}", spec.kind.described()),
            })),
            Some(_) => {}
            None => match &spec.default {
                Some(default) => {
                    given.insert(name.clone(), default.clone());
                }
                None if spec.required => problems.push(json!({
                    "input": name,
                    "message": format!("input `{name}` is required"),
                })),
                None => {}
            },
        }
    }
    if problems.is_empty() {
        return Ok(given);
    }
    let message = problems
        .iter()
        .filter_map(|p| p["message"].as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Err(ApiError::new(
        ErrorCode::InvalidInputs,
        format!("the inputs do not fit the workflow: {message}"),
    )
    .with_details(json!({ "problems": problems })))
}

async fn find_job(state: &AppState, caller: &Caller, id: &str) -> ApiResult<JobRecord> {
    let id = job_id(id)?;
    jobs::get(&state.db, &caller.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job", id))
}

fn announce(state: &AppState, job: &JobRecord) {
    state.dispatcher.job_ready_at(JobReady {
        tenant_id: job.tenant_id.clone(),
        labels: job.labels.clone(),
        run_after: job.run_after,
    });
}

/// The workflow version jobs are made of, with its declared inputs.
pub(crate) struct Target {
    workflow: workflows::WorkflowRecord,
    version_id: String,
    declared: BTreeMap<String, InputSpec>,
    secret_inputs: Vec<String>,
}

impl Target {
    /// The workflow's id.
    pub(crate) fn workflow_id(&self) -> &str {
        &self.workflow.id
    }

    /// The workflow's name.
    pub(crate) fn workflow_name(&self) -> &str {
        &self.workflow.name
    }

    /// The version the jobs run.
    pub(crate) fn version_id(&self) -> &str {
        &self.version_id
    }
}

/// Finds the workflow (by id or name) and the version (default the latest) of the
/// caller's tenant that new jobs run.
pub(crate) async fn target(
    state: &AppState,
    caller: &Caller,
    workflow: &str,
    version: Option<String>,
) -> ApiResult<Target> {
    let workflow = workflows::get(&state.db, &caller.tenant_id, workflow)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", workflow))?;
    let version = match version {
        Some(wanted) => {
            let versions = workflows::versions(&state.db, &caller.tenant_id, &workflow.id).await?;
            pick_version(&workflow.name, versions, &wanted)?
        }
        None => {
            let latest = workflow
                .latest_version_id
                .clone()
                .ok_or_else(|| ApiError::not_found("version of workflow", &workflow.name))?;
            workflows::version(&state.db, &caller.tenant_id, &latest)
                .await?
                .ok_or_else(|| ApiError::not_found("version of workflow", &workflow.name))?
        }
    };
    let declared: BTreeMap<String, InputSpec> =
        serde_json::from_value(version.inputs.clone()).map_err(ApiError::internal)?;
    let secret_inputs = declared
        .iter()
        .filter(|(_, spec)| spec.secret)
        .map(|(name, _)| name.clone())
        .collect();
    Ok(Target {
        workflow,
        version_id: version.id,
        declared,
        secret_inputs,
    })
}

/// The version `wanted` names: its number (`3`), its id, or a prefix of its hash (at
/// least 6 hex digits, as `alq workflow get` shows). None is a 404 listing what there
/// is; a prefix that fits several is a 422.
fn pick_version(
    workflow: &str,
    versions: Vec<workflows::VersionRecord>,
    wanted: &str,
) -> ApiResult<workflows::VersionRecord> {
    let wanted = wanted.trim();
    let by_number = wanted.parse::<i64>().ok();
    let is_prefix = wanted.len() >= 6 && wanted.bytes().all(|b| b.is_ascii_hexdigit());
    let lower = wanted.to_ascii_lowercase();
    let mut found: Vec<&workflows::VersionRecord> = versions
        .iter()
        .filter(|v| v.id == wanted || Some(v.number) == by_number)
        .collect();
    if found.is_empty() && is_prefix {
        found = versions
            .iter()
            .filter(|v| v.hash.starts_with(&lower))
            .collect();
    }
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known = match (versions.last(), versions.first()) {
                (Some(first), Some(last)) if first.number != last.number => {
                    format!("versions {} to {}", first.number, last.number)
                }
                (Some(only), _) => format!("version {}", only.number),
                _ => "no version".to_owned(),
            };
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "workflow `{workflow}` has no version `{wanted}`: it has {known}. Name a version by its number, its id, or the first 6 or more characters of its hash (`alq workflow get {workflow}`)"
                ),
            ))
        }
        several => Err(ApiError::invalid(format!(
            "`{wanted}` is the start of the hash of {} versions of `{workflow}` ({}): give more characters",
            several.len(),
            several
                .iter()
                .map(|v| v.number.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// What one job to make says beyond its workflow.
pub(crate) struct JobSpec {
    pub inputs: Map<String, Value>,
    pub priority: i32,
    pub labels: Vec<String>,
    pub max_attempts: Option<i64>,
    pub run_after: Option<DateTime<Utc>>,
}

/// Checks a job's fields and inputs against the target; the job to store.
pub(crate) fn new_job(caller: &Caller, target: &Target, spec: JobSpec) -> ApiResult<NewJob> {
    let max_attempts = spec.max_attempts.unwrap_or(3);
    if !(1..=100).contains(&max_attempts) {
        return Err(ApiError::invalid(format!(
            "`max_attempts` must be between 1 and 100; got {max_attempts}"
        )));
    }
    let labels = clean_labels(spec.labels)?;
    let inputs = check_inputs(&target.declared, spec.inputs)?;
    Ok(NewJob {
        tenant_id: caller.tenant_id.clone(),
        workflow_id: target.workflow.id.clone(),
        workflow_name: target.workflow.name.clone(),
        version_id: target.version_id.clone(),
        priority: i64::from(spec.priority),
        labels,
        inputs,
        secret_inputs: target.secret_inputs.clone(),
        max_attempts,
        run_after: spec.run_after.map(|t| t.timestamp_millis()),
        retry_of: None,
        created_by: caller.actor(),
    })
}

/// `POST /api/v1/jobs`.
#[utoipa::path(operation_id = "jobs_create", post, path = "/api/v1/jobs", tag = "jobs", request_body(content = Object, description = "`{workflow, version?, inputs, priority, labels, max_attempts, run_after?}`"), responses((status = 201, description = "The job", body = Object), (status = 422, description = "The inputs do not fit the workflow (`invalid_inputs`)", body = super::openapi::ErrorSchema), super::openapi::Errors))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateJob>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Operator)?;
    // Field checks first, as before: a bad field is a 400 even for an unknown workflow.
    if let Some(max_attempts) = body.max_attempts
        && !(1..=100).contains(&max_attempts)
    {
        return Err(ApiError::invalid(format!(
            "`max_attempts` must be between 1 and 100; got {max_attempts}"
        )));
    }
    clean_labels(body.labels.clone())?;
    let target = target(&state, &caller, &body.workflow, body.version).await?;
    let new = new_job(
        &caller,
        &target,
        JobSpec {
            inputs: body.inputs,
            priority: body.priority,
            labels: body.labels,
            max_attempts: body.max_attempts,
            run_after: body.run_after,
        },
    )?;
    let job = jobs::create(&state.db, &new).await?;
    audit::record(
        &state.db,
        &caller.tenant_id,
        &caller.actor(),
        "job.create",
        &format!("job:{}", job.id),
        json!({ "workflow": target.workflow.name, "version": job.version_id, "priority": job.priority }),
    )
    .await?;
    announce(&state, &job);
    Ok((StatusCode::CREATED, Json(job_json(&job))))
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
    let mut items = jobs::list(&state.db, &caller.tenant_id, &filter).await?;
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
    let job = find_job(&state, &caller, &id).await?;
    let done = match job.state {
        JobState::Pending => jobs::cancel_pending(&state.db, &caller.tenant_id, job.id).await?,
        JobState::Running => jobs::request_cancel(&state.db, &caller.tenant_id, job.id).await?,
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
    if job.state == JobState::Running {
        state.dispatcher.job_cancelled(job.id);
    }
    audit::record(
        &state.db,
        &caller.tenant_id,
        &caller.actor(),
        "job.cancel",
        &format!("job:{}", job.id),
        json!({ "state": job.state }),
    )
    .await?;
    let job = find_job(&state, &caller, &job.id.to_string()).await?;
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
    let old = find_job(&state, &caller, &id).await?;
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
    if workflows::version(&state.db, &caller.tenant_id, &old.version_id)
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
    let job = jobs::create(
        &state.db,
        &NewJob {
            tenant_id: caller.tenant_id.clone(),
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
            created_by: caller.actor(),
        },
    )
    .await?;
    audit::record(
        &state.db,
        &caller.tenant_id,
        &caller.actor(),
        "job.retry",
        &format!("job:{}", old.id),
        json!({ "new_job": job.id }),
    )
    .await?;
    announce(&state, &job);
    Ok((StatusCode::CREATED, Json(job_json(&job))))
}
