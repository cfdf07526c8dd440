//! Workflows: pushed as packages (the workflow file with the files of its folder, checked
//! with the same code as `alq workflow push`) or as a plain workflow file, kept as
//! numbered versions by content hash.

use alq_shared::api::ErrorCode;
use alq_shared::package;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::openapi::Errors;
use super::query::Params;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::{audit, workflows};
use crate::error::{ApiError, ApiResult};

/// Where a pushed package's workflow file is (`?entry=`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushParams {
    /// The workflow file's path inside the package (default `workflow.json`).
    entry: Option<String>,
}

/// Pushes a workflow: a package (`Content-Type: application/gzip`, the archive `alq
/// workflow push` builds) or, for compatibility, the workflow file alone
/// (`application/json`). 201 for a new version, 200 when this exact package (or file)
/// was pushed before.
#[utoipa::path(operation_id = "workflows_push", post, path = "/api/v1/workflows", tag = "workflows",
    params(("entry" = Option<String>, Query, description = "For a package: the workflow file's path inside it (default `workflow.json`)")),
    request_body(content = String, content_type = "application/gzip", description = "A package (tar.gz of the workflow's folder), or the workflow file itself as application/json"),
    responses((status = 201, description = "`{workflow, version, created}`: a new version", body = Object),
              (status = 200, description = "`{workflow, version, created}`: this package was pushed before", body = Object),
              (status = 413, description = "Over `max_package_bytes` (a package) or `max_body_bytes` (a file)", body = super::openapi::ErrorSchema),
              (status = 422, description = "The workflow or the package is not valid", body = super::openapi::ErrorSchema), Errors))]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<PushParams>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Operator)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let is_package = content_type.starts_with(package::CONTENT_TYPE)
        || content_type.starts_with("application/x-gzip")
        || content_type.starts_with("application/octet-stream");
    let (limit, what, setting) = if is_package {
        (
            state.config.max_package_bytes,
            "package",
            "max_package_bytes",
        )
    } else {
        (
            state.config.max_body_bytes,
            "workflow file",
            "max_body_bytes",
        )
    };
    let body = super::upload::read_limited(body, limit, what, setting).await?;
    let stored = if is_package {
        let entry = params
            .entry
            .unwrap_or_else(|| package::DEFAULT_ENTRY.to_owned());
        open_package(&state, body, entry).await?
    } else {
        if params.entry.is_some() {
            return Err(ApiError::invalid(
                "`entry` is for packages (Content-Type: application/gzip)",
            ));
        }
        let source = String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::invalid("the workflow file must be UTF-8 text"))?;
        let workflow =
            alq_shared::workflow::parse("workflow.json", &source).map_err(invalid_workflow)?;
        let hash = hex::encode(Sha256::digest(source.as_bytes()));
        Stored {
            name: workflow.name,
            inputs: serde_json::to_value(&workflow.inputs).map_err(ApiError::internal)?,
            source,
            hash,
            package: None,
        }
    };
    let mut tx = state.db.begin().await?;
    let pushed = workflows::push(
        &mut tx,
        &caller.tenant_id,
        &workflows::NewVersion {
            name: &stored.name,
            source: &stored.source,
            hash: &stored.hash,
            inputs: &stored.inputs,
            package: stored.package.as_ref(),
        },
    )
    .await?;
    if pushed.created {
        audit::record(
            &mut tx,
            &caller.tenant_id,
            &caller.actor().name(),
            "workflow.push",
            &format!("workflow:{}", pushed.workflow.id),
            json!({ "name": stored.name, "version": pushed.version.id, "number": pushed.version.number, "hash": stored.hash }),
        )
        .await?;
    }
    tx.commit().await?;
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

/// At most this many problems are listed in an answer; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// The first [`MAX_PROBLEMS`] of `lines`, then `and N more` when there are more.
fn capped<T>(lines: &[T], show: impl Fn(&T) -> String) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().take(MAX_PROBLEMS).map(show).collect();
    if lines.len() > MAX_PROBLEMS {
        out.push(format!("and {} more", lines.len() - MAX_PROBLEMS));
    }
    out
}

/// What a push stores.
struct Stored {
    name: String,
    source: String,
    hash: String,
    inputs: Value,
    package: Option<workflows::PackageInfo>,
}

fn invalid_workflow(error: alq_shared::workflow::WorkflowError) -> ApiError {
    let problems: Vec<Value> = error
        .problems
        .iter()
        .take(MAX_PROBLEMS)
        .map(|p| json!({ "file": p.file, "path": p.problem.path, "line": p.line, "column": p.column, "message": p.problem.message }))
        .collect();
    let lines = capped(&error.problems, ToString::to_string);
    ApiError::new(
        ErrorCode::InvalidWorkflow,
        format!("the workflow is not valid:\n{}", lines.join("\n")),
    )
    .with_details(
        json!({ "problems": problems, "more": error.problems.len().saturating_sub(MAX_PROBLEMS) }),
    )
}

/// Unpacks a pushed package into a temporary folder and checks it as `alq workflow
/// push` did (the same code), then keeps the archive in the blob store.
async fn open_package(
    state: &AppState,
    body: axum::body::Bytes,
    entry: String,
) -> ApiResult<Stored> {
    if !package::is_safe_relative(&entry) {
        return Err(ApiError::invalid(format!(
            "`entry` must be a relative path inside the package, not `{entry}`"
        )));
    }
    let limits = package::Limits {
        max_packed_bytes: state.config.max_package_bytes as u64,
        max_workflow_bytes: state.config.max_body_bytes as u64,
        ..package::Limits::default()
    };
    let bytes = body.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().map_err(ApiError::internal)?;
        let unpacked = package::unpack(&bytes, dir.path(), &limits).map_err(bad_package)?;
        let root = std::fs::canonicalize(dir.path()).map_err(ApiError::internal)?;
        if !unpacked.files.contains(&entry) {
            return Err(ApiError::new(
                ErrorCode::InvalidWorkflow,
                format!("the package has no workflow file `{entry}`"),
            ));
        }
        // No JSON file over max_body_bytes, called or not: the server reads them all.
        for name in unpacked.files.iter().filter(|n| n.ends_with(".json")) {
            let size = std::fs::metadata(root.join(name))
                .map_err(ApiError::internal)?
                .len();
            if size > limits.max_workflow_bytes {
                return Err(bad_package(package::PackageError::WorkflowTooLarge {
                    file: name.clone(),
                    actual: size,
                    limit: limits.max_workflow_bytes,
                }));
            }
        }
        let loaded =
            package::check_dir(&root, &entry, &unpacked.files, &limits).map_err(|e| match e {
                package::PackageError::Invalid(error) => invalid_workflow(error),
                other => bad_package(other),
            })?;
        let source = std::fs::read_to_string(root.join(&entry)).map_err(ApiError::internal)?;
        // Every JSON file, not only the ones called by a fixed path: a workflow called by
        // a path built at run time gets its assets too.
        let mut assets = std::collections::BTreeSet::new();
        for name in unpacked.files.iter().filter(|n| n.ends_with(".json")) {
            if let Ok(text) = std::fs::read_to_string(root.join(name)) {
                assets.extend(alq_shared::workflow::referenced_assets(&text));
            }
        }
        Ok::<_, ApiError>((loaded.workflow, source, unpacked.files.len(), entry, assets))
    })
    .await
    .map_err(ApiError::internal)??;
    let (workflow, source, files, entry, assets) = checked;
    let sha256 = package::sha256(&body);
    state
        .blobs
        .put(&sha256, &body)
        .await
        .map_err(ApiError::internal)?;
    Ok(Stored {
        name: workflow.name,
        inputs: serde_json::to_value(&workflow.inputs).map_err(ApiError::internal)?,
        source,
        hash: sha256.clone(),
        package: Some(workflows::PackageInfo {
            sha256,
            size: i64::try_from(body.len()).unwrap_or(i64::MAX),
            files: i64::try_from(files).unwrap_or(i64::MAX),
            entry,
            assets: assets.into_iter().collect(),
        }),
    })
}

/// A package that cannot be stored: too large is 413, a disk error of the server 500
/// (logged, with a generic answer), the rest 422.
fn bad_package(error: package::PackageError) -> ApiError {
    use package::PackageError;
    let message = match &error {
        PackageError::Io { .. } => return ApiError::internal(error),
        PackageError::WorkflowTooLarge { limit, .. } => {
            return ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the package is not valid: {error} (max_body_bytes = {limit}): make the workflow smaller, or ask the operator to raise max_body_bytes"
                ),
            );
        }
        PackageError::References(problems) => format!(
            "the package cannot hold what the workflow needs:\n{}",
            capped(problems, |p| format!("  - {p}")).join("\n")
        ),
        other => other.to_string(),
    };
    let code = match error {
        PackageError::TooLarge { .. } | PackageError::TooManyFiles { .. } => {
            ErrorCode::PayloadTooLarge
        }
        _ => ErrorCode::InvalidWorkflow,
    };
    ApiError::new(code, format!("the package is not valid: {message}"))
}

fn summary(version: &workflows::VersionRecord) -> Value {
    json!({
        "id": version.id,
        "number": version.number,
        "hash": version.hash,
        "inputs": version.inputs,
        "package": version.package,
        "created_at": version.created_at,
    })
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

/// The versions of a workflow (by id or name), newest first, with their packages.
#[utoipa::path(operation_id = "workflows_versions", get, path = "/api/v1/workflows/{id}/versions", tag = "workflows",
    params(("id" = String, Path, description = "The workflow's id or name")),
    responses((status = 200, description = "`[{id, number, hash, inputs, package, created_at}]`, newest first", body = Object), Errors))]
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    caller.require(Role::Viewer)?;
    let workflow = workflows::get(&state.db, &caller.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", &id))?;
    let versions = workflows::versions(&state.db, &caller.tenant_id, &workflow.id).await?;
    Ok(Json(versions.iter().map(summary).collect()))
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
    let mut tx = state.db.begin().await?;
    workflows::delete(&mut tx, &caller.tenant_id, &workflow.id).await?;
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        "workflow.delete",
        &format!("workflow:{}", workflow.id),
        json!({ "name": workflow.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_with_a_disk_error_are_a_server_error_without_the_path() {
        let error = bad_package(package::PackageError::Io {
            path: "/srv/alq/tmp/.tmpAbC/workflow.json".into(),
            source: std::io::Error::other("disk full"),
        });
        assert_eq!(error.code.status(), 500);
        assert!(!error.message.contains("/srv"), "{}", error.message);
        let error = bad_package(package::PackageError::Corrupt("x".into()));
        assert_eq!(error.code.status(), 422);
    }
}
