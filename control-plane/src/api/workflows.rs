//! Workflows: pushed as their JSON file (validated with the same code as `alq validate`),
//! kept as versions by content hash.

use alq_shared::api::ErrorCode;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::json::RawBody;
use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::{audit, workflows};
use crate::error::{ApiError, ApiResult};

/// Pushes a workflow: the body is the workflow file itself. 201 for a new version, 200
/// when this exact file was pushed before.
#[utoipa::path(operation_id = "workflows_push", post, path = "/api/v1/workflows", tag = "workflows",
    request_body(content = String, content_type = "application/json", description = "The workflow file (workflow.json)"),
    responses((status = 201, description = "`{workflow, version, created}`: a new version", body = Object),
              (status = 200, description = "`{workflow, version, created}`: this file was pushed before", body = Object),
              (status = 422, description = "The workflow is not valid", body = super::openapi::ErrorSchema), Errors))]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Operator)?;
    let source = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("the workflow file must be UTF-8 text"))?;
    let workflow = alq_shared::workflow::parse("workflow.json", source).map_err(|error| {
        let problems: Vec<Value> = error
            .problems
            .iter()
            .map(|p| json!({ "path": p.problem.path, "line": p.line, "column": p.column, "message": p.problem.message }))
            .collect();
        ApiError::new(ErrorCode::InvalidWorkflow, format!("the workflow is not valid:\n{error}"))
            .with_details(json!({ "problems": problems }))
    })?;
    let hash = hex::encode(Sha256::digest(source.as_bytes()));
    let inputs = serde_json::to_value(&workflow.inputs).map_err(ApiError::internal)?;
    let pushed = workflows::push(
        &state.db,
        &caller.tenant_id,
        &workflow.name,
        source,
        &hash,
        &inputs,
    )
    .await?;
    if pushed.created {
        audit::record(
            &state.db,
            &caller.tenant_id,
            &caller.actor(),
            "workflow.push",
            &format!("workflow:{}", pushed.workflow.id),
            json!({ "name": workflow.name, "version": pushed.version.id, "hash": hash }),
        )
        .await?;
    }
    let status = if pushed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(
            json!({ "workflow": pushed.workflow, "version": summary(&pushed.version), "created": pushed.created }),
        ),
    ))
}

fn summary(version: &workflows::VersionRecord) -> Value {
    json!({ "id": version.id, "hash": version.hash, "inputs": version.inputs, "created_at": version.created_at })
}

/// The tenant's workflows with their latest version.
#[utoipa::path(operation_id = "workflows_list", get, path = "/api/v1/workflows", tag = "workflows",
    responses((status = 200, description = "The workflows", body = Vec<workflows::WorkflowRecord>), Errors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<workflows::WorkflowRecord>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(workflows::list(&state.db, &caller.tenant_id).await?))
}

/// One workflow by id or name: `{workflow, source, versions}`, the source of the latest.
#[utoipa::path(operation_id = "workflows_get", get, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "The workflow's id or name")),
    responses((status = 200, description = "`{workflow, source, versions}`", body = Object), Errors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let workflow = workflows::get(&state.db, &caller.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", &id))?;
    let versions = workflows::versions(&state.db, &caller.tenant_id, &workflow.id).await?;
    let latest = versions
        .iter()
        .find(|v| Some(&v.id) == workflow.latest_version_id.as_ref());
    Ok(Json(json!({
        "workflow": workflow,
        "source": latest.map(|v| v.source.clone()),
        "versions": versions.iter().map(summary).collect::<Vec<_>>(),
    })))
}

/// Deletes a workflow by id or name; refused (409) while jobs of it are pending or running.
#[utoipa::path(operation_id = "workflows_delete", delete, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "The workflow's id or name")),
    responses((status = 204, description = "Deleted"),
              (status = 409, description = "Jobs of it are pending or running", body = super::openapi::ErrorSchema), Errors))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Operator)?;
    let workflow = workflows::get(&state.db, &caller.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", &id))?;
    let active = workflows::active_jobs(&state.db, &caller.tenant_id, &workflow.id).await?;
    if active > 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{active} job(s) of `{}` are pending or running: cancel them first",
                workflow.name
            ),
        ));
    }
    workflows::delete(&state.db, &caller.tenant_id, &workflow.id).await?;
    audit::record(
        &state.db,
        &caller.tenant_id,
        &caller.actor(),
        "workflow.delete",
        &format!("workflow:{}", workflow.id),
        json!({ "name": workflow.name }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
