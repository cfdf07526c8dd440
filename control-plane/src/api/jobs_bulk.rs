//! `POST /api/v1/jobs/bulk`: up to 1,000 jobs of one workflow version in one request and
//! one transaction, each checked like a single create; the first bad one is named by its
//! index and nothing is made.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::jobs::{JobSpec, new_job, target};
use super::json::Body;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::jobs_bulk;
use crate::error::{ApiError, ApiResult};
use crate::lease::JobReady;

/// Most jobs one bulk request may make.
pub const MAX_BULK: usize = 1_000;

/// Body of `POST /api/v1/jobs/bulk`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJobs {
    /// The workflow, by id or name.
    pub workflow: String,
    /// A version of it (number, id or hash prefix); default the latest.
    #[serde(default)]
    pub version: Option<String>,
    /// The jobs (1 to 1,000).
    pub jobs: Vec<BulkItem>,
}

/// One job of a bulk request: the fields of a single create but the workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
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

/// `POST /api/v1/jobs/bulk`: 201 `{ids}` in the order of `jobs`.
#[utoipa::path(operation_id = "jobs_create_bulk", post, path = "/api/v1/jobs/bulk", tag = "jobs", request_body(content = Object, description = "`{workflow, version?, jobs: [{inputs, priority?, labels?, max_attempts?, run_after?}]}` (1 to 1,000)"), responses((status = 201, description = "`{ids}`", body = Object), (status = 422, description = "An item does not fit (its index is named)", body = super::openapi::ErrorSchema), super::openapi::Errors))]
pub async fn create_bulk(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateJobs>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Operator)?;
    if body.jobs.is_empty() || body.jobs.len() > MAX_BULK {
        return Err(ApiError::invalid(format!(
            "`jobs` must hold 1 to {MAX_BULK} jobs; got {}: split larger batches",
            body.jobs.len()
        )));
    }
    let target = target(&state, &caller, &body.workflow, body.version).await?;
    let mut new = Vec::with_capacity(body.jobs.len());
    for (index, item) in body.jobs.into_iter().enumerate() {
        let spec = JobSpec {
            inputs: item.inputs,
            priority: item.priority,
            labels: item.labels,
            max_attempts: item.max_attempts,
            run_after: item.run_after,
        };
        let job = new_job(&caller, &target, spec).map_err(|e| at_index(e, index))?;
        new.push(job);
    }
    let ids = jobs_bulk::create_many(&state.db, &new).await?;
    crate::db::audit::record(
        &state.db,
        &caller.tenant_id,
        &caller.actor(),
        "job.create_bulk",
        &format!("workflow:{}", target.workflow_id()),
        json!({
            "workflow": target.workflow_name(),
            "version": target.version_id(),
            "count": ids.len(),
            "first_id": ids.first(),
            "last_id": ids.last(),
        }),
    )
    .await?;
    state.dispatcher.jobs_ready(
        new.into_iter()
            .map(|job| JobReady {
                tenant_id: job.tenant_id,
                labels: job.labels,
                // None: created due, and the epoch is in the past.
                run_after: job.run_after.unwrap_or(0),
            })
            .collect(),
    );
    Ok((StatusCode::CREATED, Json(json!({ "ids": ids }))))
}

/// Names the job of the request an error is about: `jobs[3]: ...`, and `index` in the
/// details. Bad items are a 422 (the request is well-formed; one job does not fit).
fn at_index(error: ApiError, index: usize) -> ApiError {
    let mut details = match error.details {
        Some(Value::Object(map)) => map,
        Some(other) => Map::from_iter([("details".to_owned(), other)]),
        None => Map::new(),
    };
    details.insert("index".to_owned(), json!(index));
    let code = match error.code {
        alq_shared::api::ErrorCode::InvalidRequest => alq_shared::api::ErrorCode::InvalidInputs,
        other => other,
    };
    ApiError::new(code, format!("jobs[{index}]: {}", error.message))
        .with_details(Value::Object(details))
}
