//! The public REST API under `/api/v1`, one module per resource, plus health checks,
//! metrics and the OpenAPI document.

mod artifact_response;
mod assets;
mod audit;
mod events;
mod health;
pub mod jobs;
mod jobs_bulk;
pub mod json;
mod nul;
pub mod openapi;
pub(crate) mod query;
mod robots;
mod shape;
mod tenants;
mod tokens;
mod upload;
mod workflows;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, put};

use crate::AppState;

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let api = Router::new()
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/tenants/{id}/tokens", post(tokens::create_for_tenant))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route(
            "/robot-tokens",
            get(tokens::list_registration).post(tokens::create_registration),
        )
        .route(
            "/robot-tokens/{id}",
            axum::routing::delete(tokens::revoke_registration),
        )
        .route("/robots", get(robots::list))
        .route("/robots/{id}", get(robots::get).delete(robots::delete))
        .route("/robots/{id}/disable", post(robots::disable))
        .route("/robots/{id}/enable", post(robots::enable))
        .route("/workflows", get(workflows::list).post(workflows::push))
        .route(
            "/workflows/{id}",
            get(workflows::get).delete(workflows::delete),
        )
        .route("/workflows/{id}/versions", get(workflows::versions))
        .route("/assets", get(assets::list))
        .route(
            "/assets/{name}",
            put(assets::put).get(assets::get).delete(assets::delete),
        )
        .route("/audit", get(audit::list))
        .route("/events", get(events::stream))
        .route("/openapi.json", get(openapi::document))
        .route("/jobs", get(jobs::list).post(jobs::create))
        .route("/jobs/bulk", post(jobs_bulk::create_bulk))
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/jobs/{id}/artifacts", get(jobs::artifacts))
        .route("/jobs/{id}/artifacts/{sha256}", get(jobs::artifact))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/retry", post(jobs::retry))
        .merge(crate::robot_api::router(&state));
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest("/api/v1", api)
        // A route layer sees the matched route template; unrouted requests are not timed.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track_http,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(nul::refuse_nul_in_url))
        .with_state(state);
    // Around the whole router, not each route (what `Router::layer` does): the router
    // adds `Allow` to a 405 outside its routes' layers.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(shape::error_shape))
}
