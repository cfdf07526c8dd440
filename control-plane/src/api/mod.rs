//! The public REST API under `/api/v1`, one module per resource, plus health checks.

mod health;
pub mod jobs;
pub mod json;
mod tenants;
mod workflows;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::AppState;

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let api = Router::new()
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/workflows", get(workflows::list).post(workflows::push))
        .route(
            "/workflows/{id}",
            get(workflows::get).delete(workflows::delete),
        )
        .route("/jobs", get(jobs::list).post(jobs::create))
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/jobs/{id}/artifacts", get(jobs::artifacts))
        .route("/jobs/{id}/artifacts/{sha256}", get(jobs::artifact))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/retry", post(jobs::retry))
        .merge(crate::robot_api::router(&state));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
