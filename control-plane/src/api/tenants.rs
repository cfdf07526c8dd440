//! Tenants: listed and created by the system admin only.

use alq_shared::api::ErrorCode;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::json::Body;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::tenants::{self, Tenant};
use crate::error::{ApiError, ApiResult};

/// Body of `POST /tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The new tenant's unique name.
    pub name: String,
}

fn require_system(caller: &Caller) -> ApiResult<()> {
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

/// `GET /api/v1/tenants`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Tenant>>> {
    require_system(&caller)?;
    Ok(Json(tenants::list(&state.db).await?))
}

/// `POST /api/v1/tenants`.
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
    let tenant = tenants::create(&state.db, name).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}
