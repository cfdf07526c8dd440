//! `POST /api/v1/jobs/bulk`: up to 1,000 jobs of one workflow version in one request and
//! one transaction, each checked like a single create; the first bad one is named by its
//! index and nothing is made.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::jobs::{IdempotencyHeader, answer};
use super::json::Body;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiResult;
use crate::jobs::{self, By, JobSpec, NewJobs};

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

/// `POST /api/v1/jobs/bulk`: 201 `{ids}` in the order of `jobs`. With an
/// `Idempotency-Key`, a retry gets the first answer back.
#[utoipa::path(operation_id = "jobs_create_bulk", post, path = "/api/v1/jobs/bulk", tag = "jobs",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, unique per request (a UUID): a retry with the same key and the same body within 24 hours gets the first answer (status and body, with `Idempotent-Replayed: true`) and makes no jobs")),
    request_body(content = Object, description = "`{workflow, version?, jobs: [{inputs, priority?, labels?, max_attempts?, run_after?}]}` (1 to 1,000)"),
    responses((status = 201, description = "`{ids}`", body = Object),
              (status = 409, description = "The Idempotency-Key was used for another request (`conflict`)", body = super::openapi::ErrorSchema),
              (status = 422, description = "An item does not fit (its index is named)", body = super::openapi::ErrorSchema), super::openapi::Errors))]
pub async fn create_bulk(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyHeader(key): IdempotencyHeader,
    Body(body): Body<CreateJobs>,
) -> ApiResult<Response> {
    caller.require(Role::Operator)?;
    let actor = caller.actor();
    let by = By {
        tenant_id: &caller.tenant_id,
        actor: &actor,
    };
    let request = NewJobs {
        workflow: body.workflow,
        version: body.version,
        jobs: body
            .jobs
            .into_iter()
            .map(|item| JobSpec {
                inputs: item.inputs,
                priority: item.priority,
                labels: item.labels,
                max_attempts: item.max_attempts,
                run_after: item.run_after,
            })
            .collect(),
    };
    Ok(match key {
        Some(key) => answer(jobs::create_many_once(&state, by, &key, request).await?),
        None => {
            let ids = jobs::create_many(&state, by, request).await?;
            (StatusCode::CREATED, Json(json!({ "ids": ids }))).into_response()
        }
    })
}
