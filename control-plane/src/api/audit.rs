//! The audit log, newest first, a page at a time.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::Errors;
use super::query::Params;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::audit::{self, AuditEntry};
use crate::error::{ApiError, ApiResult};

const MAX_LIMIT: i64 = 500;

/// Query of `GET /audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries older than this entry id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// At most this many entries (1 to 500, default 50).
    pub limit: Option<i64>,
}

/// One page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries, newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `before` for the next page; none on the last page.
    pub next_before: Option<i64>,
}

/// The tenant's audit log, newest first.
#[utoipa::path(operation_id = "audit_list", get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of entries", body = AuditPage), Errors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    caller.require(Role::Admin)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "`limit` must be between 1 and {MAX_LIMIT}, not {limit}"
        )));
    }
    let items = audit::list(&state.db, &caller.tenant_id, query.before, limit).await?;
    let next_before = if items.len() as i64 == limit {
        items.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(AuditPage { items, next_before }))
}
