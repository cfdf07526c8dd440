//! Assets: values workflows read as `{{ assets.NAME }}`. Operators set them, viewers
//! read them; a credential's password is never answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::json::Body;
use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::assets::{self, AssetError, AssetKind, AssetRecord, AssetValue};
use crate::db::audit;
use crate::error::{ApiError, ApiResult};

/// Body of `PUT /assets/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAsset {
    /// The type the value must have.
    #[serde(rename = "type")]
    pub kind: AssetKind,
    /// A string, number, boolean, any JSON, or `{username, password}` for a credential.
    pub value: Value,
}

impl From<AssetError> for ApiError {
    fn from(error: AssetError) -> Self {
        match error {
            AssetError::Database(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// Asset names are what templates can reach: letters, digits, `_`, `.` and `-`.
fn check_name(name: &str) -> ApiResult<()> {
    let fits = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if fits {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "asset name `{name}` is not valid: use 1 to 128 letters, digits, `_`, `.` or `-`"
        ))
        .with_details(json!({ "field": "name" })))
    }
}

/// Sets an asset, creating (201) or replacing (200) it.
#[utoipa::path(operation_id = "assets_put", put, path = "/api/v1/assets/{name}", tag = "assets", request_body = PutAsset,
    params(("name" = String, Path, description = "The asset's name")),
    responses((status = 201, description = "Created", body = AssetRecord),
              (status = 200, description = "Replaced", body = AssetRecord), Errors))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<PutAsset>,
) -> ApiResult<(StatusCode, Json<AssetRecord>)> {
    caller.require(Role::Operator)?;
    check_name(&name)?;
    let value = AssetValue::check(body.kind, body.value).map_err(|problem| {
        ApiError::invalid(format!("asset `{name}`: {problem}"))
            .with_details(json!({ "field": "value" }))
    })?;
    let mut tx = state.db.begin().await?;
    let (asset, created) =
        assets::put(&mut tx, &state.key, &caller.tenant_id, &name, &value).await?;
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        "asset.set",
        &format!("asset:{name}"),
        // The type only: values may be sensitive even when they are not credentials.
        json!({ "type": asset.kind, "created": created }),
    )
    .await?;
    tx.commit().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(asset)))
}

/// The tenant's assets by name, credentials masked.
#[utoipa::path(operation_id = "assets_list", get, path = "/api/v1/assets", tag = "assets",
    responses((status = 200, description = "The assets", body = Vec<AssetRecord>), Errors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<AssetRecord>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(assets::list(&state.db, &caller.tenant_id).await?))
}

/// One asset, a credential masked.
#[utoipa::path(operation_id = "assets_get", get, path = "/api/v1/assets/{name}", tag = "assets",
    params(("name" = String, Path, description = "The asset's name")),
    responses((status = 200, description = "The asset", body = AssetRecord), Errors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<AssetRecord>> {
    caller.require(Role::Viewer)?;
    assets::get(&state.db, &caller.tenant_id, &name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("asset", &name))
}

/// Deletes an asset.
#[utoipa::path(operation_id = "assets_delete", delete, path = "/api/v1/assets/{name}", tag = "assets",
    params(("name" = String, Path, description = "The asset's name")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Operator)?;
    let mut tx = state.db.begin().await?;
    if !assets::delete(&mut tx, &caller.tenant_id, &name).await? {
        return Err(ApiError::not_found("asset", &name));
    }
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        "asset.delete",
        &format!("asset:{name}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
