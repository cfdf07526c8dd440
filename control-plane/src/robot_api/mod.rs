//! The robot API (DESIGN.md section 4): registration with a registration token, then,
//! with the robot's own token, lease long-polls and the calls about leased jobs
//! (heartbeat, events, artifacts, complete), each fenced by the job's lease token.

pub(crate) mod goodbye;
pub(crate) mod jobs;
pub(crate) mod lease;
pub(crate) mod packages;
pub(crate) mod register;

use alq_shared::api::ErrorCode;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post, put};

use crate::AppState;
use crate::auth::{Actor, bearer, lookup};
use crate::db::tokens::TokenKind;
use crate::db::{presence, robots};
use crate::error::ApiError;
use crate::events::robot_presence;

/// The routes of the robot API, to nest under `/api/v1`.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/robots/register", post(register::register))
        .route("/robot/lease", post(lease::lease))
        .route("/robot/goodbye", post(goodbye::goodbye))
        .route("/robot/jobs/{id}/heartbeat", post(jobs::heartbeat))
        .route("/robot/jobs/{id}/events", post(jobs::events))
        .route(
            "/robot/jobs/{id}/artifacts/{sha256}",
            put(jobs::upload_artifact)
                .layer(DefaultBodyLimit::max(state.config.max_artifact_bytes)),
        )
        .route("/robot/jobs/{id}/complete", post(jobs::complete))
        .route("/robot/packages/{sha256}", get(packages::package))
}

/// A robot's authenticated request (a robot token of an enabled robot).
#[derive(Debug, Clone)]
pub struct RobotCaller {
    /// The robot's id.
    pub robot_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: Vec<String>,
    /// A disabled robot gets no new jobs (its lease polls are answered `disabled`), but
    /// may finish and report the ones it holds.
    pub disabled: bool,
    /// Whether its last robot event said it is offline (its next call says online).
    pub offline: bool,
}

impl RobotCaller {
    /// Notes that the robot called (for its status): a robot that was offline comes
    /// online, and says so on the event stream.
    pub async fn seen(&self, state: &AppState) -> Result<(), ApiError> {
        if !self.offline {
            robots::touch(&state.db, &self.robot_id).await?;
            return Ok(());
        }
        let mut tx = state.db.begin().await?;
        let events = presence::came_online(&mut tx, &self.robot_id)
            .await?
            .and_then(|(tenant, name)| robot_presence(&tenant, &self.robot_id, &name, "online"));
        state
            .events
            .commit(tx, events.into_iter().collect())
            .await?;
        Ok(())
    }

    /// The robot as the domain layer records it.
    pub fn actor(&self) -> Actor {
        Actor::Robot {
            robot_id: self.robot_id.clone(),
        }
    }
}

impl FromRequestParts<AppState> for RobotCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let record = lookup(state, token, TokenKind::Robot).await?;
        let robot_id = record.robot_id.unwrap_or_default();
        let robot = robots::get_any(&state.db, &robot_id)
            .await?
            .ok_or_else(robot_gone)?;
        Ok(RobotCaller {
            offline: robot.presence == "offline",
            disabled: robot.disabled,
            robot_id: robot.id,
            tenant_id: robot.tenant_id,
            name: robot.name,
            labels: robot.labels,
        })
    }
}

/// 401 for a robot that was deleted while its token was in use.
pub(crate) fn robot_gone() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthenticated,
        "the robot of this token was deleted: register it again",
    )
}

/// Parses a job id from a path; anything else is no job (404).
pub(crate) fn job_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("job", id))
}

pub(crate) use crate::jobs::view::utc;
