//! Robots as people see them: listed with a status, disabled, enabled, deleted.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::robots::{self, RobotRecord};
use crate::db::{audit, now_ms};
use crate::error::{ApiError, ApiResult};

/// What a robot is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RobotStatus {
    /// Seen recently, no running job.
    Online,
    /// Seen recently, running a job.
    Busy,
    /// Said goodbye (stopped cleanly), or not seen for three heartbeat intervals, or
    /// never.
    Offline,
    /// Refused work by an admin.
    Disabled,
}

/// A robot with its status and running jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Robot {
    /// The stored robot.
    #[serde(flatten)]
    pub robot: RobotRecord,
    /// What it is doing now.
    pub status: RobotStatus,
    /// The ids of its running jobs.
    pub current_job_ids: Vec<i64>,
}

/// The status of a robot; silence wins over a running job, because a robot that stopped
/// heartbeating is not really running it (its lease will expire).
fn status(robot: &RobotRecord, running: bool, offline_before: i64) -> RobotStatus {
    if robot.disabled {
        RobotStatus::Disabled
    } else if robot.stopped_at.is_some() || robot.last_seen_at.is_none_or(|at| at < offline_before)
    {
        RobotStatus::Offline
    } else if running {
        RobotStatus::Busy
    } else {
        RobotStatus::Online
    }
}

/// How long silence makes a robot offline: three missed heartbeats.
fn offline_before(state: &AppState) -> i64 {
    let window = state.config.heartbeat_interval_ms.saturating_mul(3);
    now_ms().saturating_sub(i64::try_from(window).unwrap_or(i64::MAX))
}

async fn with_status(
    state: &AppState,
    tenant_id: &str,
    robots: Vec<RobotRecord>,
) -> ApiResult<Vec<Robot>> {
    let mut jobs: HashMap<String, Vec<i64>> = HashMap::new();
    for (robot_id, job_id) in robots::running_jobs(&state.db, tenant_id).await? {
        jobs.entry(robot_id).or_default().push(job_id);
    }
    let offline_before = offline_before(state);
    Ok(robots
        .into_iter()
        .map(|robot| {
            let current_job_ids = jobs.remove(&robot.id).unwrap_or_default();
            Robot {
                status: status(&robot, !current_job_ids.is_empty(), offline_before),
                robot,
                current_job_ids,
            }
        })
        .collect())
}

/// The tenant's robots by name.
#[utoipa::path(operation_id = "robots_list", get, path = "/api/v1/robots", tag = "robots",
    responses((status = 200, description = "The robots", body = Vec<Robot>), Errors))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Robot>>> {
    caller.require(Role::Viewer)?;
    let robots = robots::list(&state.db, &caller.tenant_id).await?;
    Ok(Json(with_status(&state, &caller.tenant_id, robots).await?))
}

async fn find(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Robot> {
    let robot = robots::get(&state.db, &caller.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("robot", id))?;
    let mut robots = with_status(state, &caller.tenant_id, vec![robot]).await?;
    robots.pop().ok_or_else(|| ApiError::not_found("robot", id))
}

/// One robot.
#[utoipa::path(operation_id = "robots_get", get, path = "/api/v1/robots/{id}", tag = "robots",
    params(("id" = String, Path, description = "The robot's id")),
    responses((status = 200, description = "The robot", body = Robot), Errors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Robot>> {
    caller.require(Role::Viewer)?;
    Ok(Json(find(&state, &caller, &id).await?))
}

async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    id: &str,
    disabled: bool,
) -> ApiResult<Json<Robot>> {
    caller.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    if !robots::set_disabled(&mut tx, &caller.tenant_id, id, disabled).await? {
        return Err(ApiError::not_found("robot", id));
    }
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        if disabled {
            "robot.disable"
        } else {
            "robot.enable"
        },
        &format!("robot:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(find(state, caller, id).await?))
}

/// Refuses the robot new work (a running job finishes).
#[utoipa::path(operation_id = "robots_disable", post, path = "/api/v1/robots/{id}/disable", tag = "robots",
    params(("id" = String, Path, description = "The robot's id")),
    responses((status = 200, description = "The robot, disabled", body = Robot), Errors))]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Robot>> {
    set_disabled(&state, &caller, &id, true).await
}

/// Lets the robot take work again.
#[utoipa::path(operation_id = "robots_enable", post, path = "/api/v1/robots/{id}/enable", tag = "robots",
    params(("id" = String, Path, description = "The robot's id")),
    responses((status = 200, description = "The robot, enabled", body = Robot), Errors))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Robot>> {
    set_disabled(&state, &caller, &id, false).await
}

/// Deletes the robot and revokes its robot tokens; a job it was running is retried when
/// its lease expires.
#[utoipa::path(operation_id = "robots_delete", delete, path = "/api/v1/robots/{id}", tag = "robots",
    params(("id" = String, Path, description = "The robot's id")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let robot = robots::get(&state.db, &caller.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("robot", &id))?;
    let mut tx = state.db.begin().await?;
    if !robots::delete(&mut tx, &caller.tenant_id, &id).await? {
        return Err(ApiError::not_found("robot", &id));
    }
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        "robot.delete",
        &format!("robot:{id}"),
        json!({ "name": robot.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
