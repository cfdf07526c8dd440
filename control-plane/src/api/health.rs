//! `/healthz` (the process answers), `/readyz` (its dependencies answer) and `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// Always 200 while the process serves.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when every dependency answers, 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.ping().await;
    let bus = state.dispatcher.bus();
    let redis = if bus.is_shared() {
        Some(bus.ping().await)
    } else {
        None
    };
    let ready = database && redis.unwrap_or(true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({ "database": database });
    if let Some(redis) = redis {
        body["redis"] = json!(redis);
    }
    (status, Json(body))
}

/// Prometheus text format; jobs and robots are counted when scraped.
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let offline_after = state.config.heartbeat_interval_ms.saturating_mul(3);
    state
        .metrics
        .set_parked(i64::try_from(state.dispatcher.parked()).unwrap_or(i64::MAX));
    let text = state
        .metrics
        .render(&state.db, i64::try_from(offline_after).unwrap_or(i64::MAX))
        .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    ))
}
