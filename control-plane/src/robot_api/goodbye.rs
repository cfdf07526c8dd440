//! `POST /api/v1/robot/goodbye`: a robot that stops cleanly says so, and is offline at
//! once instead of after three silent heartbeat intervals.

use axum::extract::State;
use axum::http::StatusCode;

use super::RobotCaller;
use crate::AppState;
use crate::db::{presence, robots};
use crate::error::ApiResult;
use crate::events::robot_presence;

/// Marks the robot offline until its next call. The robot says goodbye after its jobs
/// ended: completed, or given back as failed so they run again. A lease it still held
/// (a completion that never got through) expires as usual.
#[utoipa::path(operation_id = "robot_goodbye", post, path = "/api/v1/robot/goodbye", tag = "robot", responses((status = 204, description = "The robot is offline until its next call"), super::super::api::openapi::Errors))]
pub async fn goodbye(State(state): State<AppState>, robot: RobotCaller) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let events = presence::went_offline(&mut tx, &robot.robot_id)
        .await?
        .and_then(|(tenant, name)| robot_presence(&tenant, &robot.robot_id, &name, "offline"));
    state
        .events
        .commit(tx, events.into_iter().collect())
        .await?;
    robots::goodbye(&state.db, &robot.robot_id).await?;
    tracing::info!(robot.id = %robot.robot_id, robot.name = %robot.name, "Robot said goodbye.");
    Ok(StatusCode::NO_CONTENT)
}
