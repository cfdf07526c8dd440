//! `POST /api/v1/robots/register`: a registration token makes a robot and its token.

use alq_shared::api::ErrorCode;
use alq_shared::protocol::{RegisterRequest, RegisterResponse};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::json;

use crate::AppState;
use crate::api::json::Body;
use crate::auth::{Actor, bearer, lookup};
use crate::db::tokens::{self, TokenKind};
use crate::db::{audit, robots};
use crate::error::{ApiError, ApiResult};
use crate::labels::clean_labels;

/// The registration token of the request.
pub struct RegistrationToken(tokens::TokenRecord);

impl axum::extract::FromRequestParts<AppState> for RegistrationToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts)?;
        Ok(RegistrationToken(
            lookup(state, token, TokenKind::Registration).await?,
        ))
    }
}

/// Registers a robot. A robot registering again under its name (a reinstalled machine)
/// keeps its id, gets a new token, and its old tokens stop working.
#[utoipa::path(operation_id = "robot_register", post, path = "/api/v1/robots/register", tag = "robot", request_body(content = Object, description = "`{name, hostname, os, arch, version, labels, browsers}` with a registration token"), responses((status = 201, description = "`{robot_id, token, labels, lease_wait_s, heartbeat_interval_ms, lease_ttl_ms}`", body = Object), super::super::api::openapi::Errors))]
pub async fn register(
    State(state): State<AppState>,
    RegistrationToken(token): RegistrationToken,
    Body(body): Body<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("`name` must not be empty"));
    }
    let labels = clean_labels(token.labels.iter().chain(body.labels.iter()).cloned())?;
    let mut tx = state.db.begin().await?;
    // Claimed in the database, so two robots racing with one single-use token cannot
    // both register; in the registration's transaction, so a registration that fails
    // does not use the token up.
    if token.single_use && !tokens::use_once(&mut tx, &token.id).await? {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "this single-use registration token was used already: ask an admin for a new one",
        ));
    }
    let robot_id = robots::register(
        &mut tx,
        &token.tenant_id,
        &robots::Registration {
            name,
            hostname: &body.hostname,
            os: &body.os,
            arch: &body.arch,
            version: &body.version,
            labels: &labels,
            browsers: &body.browsers,
        },
    )
    .await?;
    let robot_token = tokens::create_robot(&mut tx, &token.tenant_id, &robot_id, name).await?;
    audit::record(
        &mut tx,
        &token.tenant_id,
        &Actor::User {
            token_id: token.id.clone(),
        }
        .name(),
        "robot.register",
        &format!("robot:{robot_id}"),
        json!({ "name": name, "labels": labels, "hostname": body.hostname }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(robot.id = %robot_id, robot.name = %name, tenant.id = %token.tenant_id, "Robot registered.");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            robot_id,
            token: robot_token.secret,
            labels,
            lease_wait_s: state.config.lease_wait_max_s,
            heartbeat_interval_ms: state.config.heartbeat_interval_ms,
            lease_ttl_ms: state.config.lease_ttl_ms,
        }),
    ))
}
