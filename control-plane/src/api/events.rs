//! `GET /api/v1/events`: the live event stream (Server-Sent Events) of the caller's
//! tenant, filtered by kind and by job, resumable by `Last-Event-ID`.
//!
//! The stream reads the outbox from an event id, so it sends events in commit order
//! and a reconnecting client misses nothing the retention kept. The in-process channel
//! (fed by Redis from the other replicas) only tells it that there is more to read; the
//! heartbeat also reads, so an event whose Redis message was lost arrives at the next
//! heartbeat at the latest.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use alq_shared::stream::EventKind;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::query::Params;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::{jobs, outbox};
use crate::error::{ApiError, ApiResult};
use crate::events::Stored;
use crate::robot_api::job_id;

/// Events read from the outbox per query.
const PAGE: i64 = 200;

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Kinds or families, comma-separated (`job.step,robot`).
    kind: Option<String>,
    /// Only events of this job.
    job: Option<String>,
    /// Start after this event id (as `Last-Event-ID`, which wins).
    after: Option<String>,
}

/// Which events a stream sends.
#[derive(Debug, Clone)]
struct Filter {
    tenant_id: String,
    kinds: Option<HashSet<EventKind>>,
    job_id: Option<i64>,
}

impl Filter {
    fn wants(&self, event: &Stored) -> bool {
        event.tenant_id == self.tenant_id
            && self
                .kinds
                .as_ref()
                .is_none_or(|k| k.contains(&event.event.kind()))
            && self.job_id.is_none_or(|id| event.job_id() == Some(id))
    }
}

fn kinds(text: &str) -> ApiResult<HashSet<EventKind>> {
    let mut kinds = HashSet::new();
    for name in text.split(',').map(str::trim) {
        let found = EventKind::matching(name).ok_or_else(|| {
            ApiError::invalid(format!(
                "unknown event kind `{name}` in `kind`; use one or more of {}, or a family (job, robot), comma-separated",
                EventKind::NAMES.join(", ")
            ))
        })?;
        kinds.extend(found);
    }
    Ok(kinds)
}

fn event_id(name: &str, text: &str) -> ApiResult<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "`{name}` must be an event id (the `id` of an event this stream sent); got `{text}`"
            ))
        })
}

/// `GET /api/v1/events`: the tenant's events as Server-Sent Events, from the event
/// after `Last-Event-ID` (or `after`), or from now on without either.
#[utoipa::path(operation_id = "events_stream", get, path = "/api/v1/events", tag = "events",
    params(
        ("kind" = Option<String>, Query, description = "Only these kinds, comma-separated: a kind (`job.created`, `job.state_changed`, `job.step`, `robot.online`, `robot.busy`, `robot.offline`) or a family (`job`, `robot`)"),
        ("job" = Option<i64>, Query, description = "Only the events of this job"),
        ("after" = Option<i64>, Query, description = "Start after this event id (0: every event kept); `Last-Event-ID` wins"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id (browsers send it when they reconnect)"),
    ),
    responses((status = 200, description = "`text/event-stream`: each event has `id` (the event id), `event` (its kind) and `data` (a StreamEvent in JSON); a `: heartbeat` comment comes every `event_heartbeat_ms`", content_type = "text/event-stream", body = alq_shared::stream::StreamEvent), super::openapi::Errors))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Params(query): Params<StreamQuery>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let kinds = query.kind.as_deref().map(kinds).transpose()?;
    let job_id = match query.job.as_deref() {
        Some(id) => {
            let id = job_id(id)?;
            jobs::get(&state.db, &caller.tenant_id, id)
                .await?
                .ok_or_else(|| ApiError::not_found("job", id))?;
            Some(id)
        }
        None => None,
    };
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(event_id(
            "Last-Event-ID",
            value.to_str().unwrap_or("not text"),
        )?),
        None => query
            .after
            .as_deref()
            .map(|a| event_id("after", a))
            .transpose()?,
    };
    // Subscribed before the outbox is read, so nothing committed in between is missed.
    let live = state.events.subscribe();
    let cursor = match resume {
        Some(after) => after,
        None => outbox::last_id(&state.db, Some(&caller.tenant_id)).await?,
    };
    let filter = Filter {
        tenant_id: caller.tenant_id.clone(),
        kinds,
        job_id,
    };
    let (send, receive) = mpsc::channel(64);
    tokio::spawn(pump(state, filter, cursor, live, send));
    let stream = futures::stream::unfold(receive, |mut receive| async move {
        receive
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receive))
    });
    let mut response = Sse::new(stream).into_response();
    // nginx buffers responses unless told not to; a buffered stream is no stream.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// Sends the events after `cursor` that `filter` wants, then every new one, until the
/// client goes away, the server stops, or the database fails (the client reconnects
/// with `Last-Event-ID`).
async fn pump(
    state: AppState,
    filter: Filter,
    mut cursor: i64,
    mut live: tokio::sync::broadcast::Receiver<std::sync::Arc<Stored>>,
    send: mpsc::Sender<SseEvent>,
) {
    let period = Duration::from_millis(state.config.event_heartbeat_ms);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut look = true;
    loop {
        while look {
            let rows = match outbox::after_in_tenant(
                &state.db,
                &filter.tenant_id,
                filter.job_id,
                cursor,
                PAGE,
            )
            .await
            {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(error = %error, "Cannot read the outbox for an event stream; ending it (the client resumes).");
                    return;
                }
            };
            look = rows.len() as i64 == PAGE;
            for row in rows {
                cursor = row.id;
                let Some(stored) = Stored::from_row(row) else {
                    continue;
                };
                if !filter.wants(&stored) {
                    continue;
                }
                let event = stored.to_stream();
                let sse = SseEvent::default()
                    .id(event.id.to_string())
                    .event(event.kind.clone())
                    .json_data(&event);
                let Ok(sse) = sse else { continue };
                if send.send(sse).await.is_err() {
                    return;
                }
            }
        }
        tokio::select! {
            () = send.closed() => return,
            () = state.shutdown.cancelled() => return,
            _ = heartbeat.tick() => {
                if send.send(SseEvent::default().comment("heartbeat")).await.is_err() {
                    return;
                }
                look = true;
            }
            received = live.recv() => match received {
                Ok(event) => look = event.id > cursor && filter.wants(&event),
                Err(RecvError::Lagged(_)) => look = true,
                Err(RecvError::Closed) => return,
            },
        }
    }
}
