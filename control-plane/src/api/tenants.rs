//! Tenants: listed and created by the system admin only.

use alq_shared::api::ErrorCode;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::json::Body;
use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::audit;
use crate::db::tenants::{self, Tenant};
use crate::error::{ApiError, ApiResult};

/// Body of `POST /tenants`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The new tenant's unique name.
    pub name: String,
}

/// Refuses (403) every caller but the system admin token.
pub(crate) fn require_system(caller: &Caller) -> ApiResult<()> {
    caller.require(Role::Admin)?;
    if caller.system {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the system admin token manages tenants",
        ))
    }
}

/// Every tenant (system admin only).
#[utoipa::path(operation_id = "tenants_list", get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, description = "The tenants", body = Vec<Tenant>), Errors))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Tenant>>> {
    require_system(&caller)?;
    Ok(Json(tenants::list(&state.db).await?))
}

/// Creates a tenant (system admin only); `POST /tenants/{id}/tokens` then gives it an admin.
#[utoipa::path(operation_id = "tenants_create", post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, description = "The tenant", body = Tenant), Errors))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    require_system(&caller)?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("`name` must not be empty"));
    }
    let mut tx = state.db.begin().await?;
    let tenant = tenants::create(&mut tx, name).await?;
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        "tenant.create",
        &format!("tenant:{}", tenant.id),
        json!({ "name": tenant.name }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}
