//! `GET /api/v1/events`: the live event stream, read as Server-Sent Events.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reqwest::header;

use super::{Client, ClientError, error_chain, fallback_body};
use crate::api::ErrorBody;
use crate::stream::StreamEvent;

/// A stream that sends nothing (not even a heartbeat, every 15 s by default) for this
/// long is taken as dead: the connection broke without either side noticing.
pub const IDLE: Duration = Duration::from_secs(60);

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Kinds or families (`job.step`, `robot`); all when empty.
    pub kinds: Vec<String>,
    /// Only this job's events.
    pub job: Option<i64>,
}

/// Why the byte stream under the events ended.
#[derive(Debug, thiserror::Error)]
enum Wire {
    #[error("{0}")]
    Http(String),
    #[error("the server sent nothing for {} s", IDLE.as_secs())]
    Idle,
}

impl Client {
    /// Opens the event stream after the event `after` (from now on when `None`; `0`
    /// for every event the server still keeps). The stream ends when the connection
    /// does; resume with the id of the last event seen.
    pub async fn events(
        &self,
        filter: &EventFilter,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = Result<StreamEvent, ClientError>> + use<>, ClientError> {
        let mut url = self.url(&["events"]);
        {
            let mut query = url.query_pairs_mut();
            if !filter.kinds.is_empty() {
                query.append_pair("kind", &filter.kinds.join(","));
            }
            if let Some(job) = filter.job {
                query.append_pair("job", &job.to_string());
            }
        }
        let mut request = self
            .http
            .get(url.clone())
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "text/event-stream")
            // The client's overall timeout would cut a stream that is meant to stay.
            .timeout(Duration::from_secs(7 * 24 * 3600));
        if let Some(after) = after {
            request = request.header("last-event-id", after.to_string());
        }
        let response = request.send().await.map_err(|e| ClientError::Connect {
            url: self.base.to_string(),
            reason: error_chain(&e),
        })?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let body = serde_json::from_str::<ErrorBody>(&text)
                .unwrap_or_else(|_| fallback_body(status, &url, &text));
            return Err(ClientError::Api {
                status: status.as_u16(),
                body,
            });
        }
        let base = self.base.to_string();
        let bytes = futures::stream::unfold(
            (response.bytes_stream(), false),
            |(mut bytes, done)| async move {
                if done {
                    return None;
                }
                match tokio::time::timeout(IDLE, bytes.next()).await {
                    Ok(Some(Ok(chunk))) => Some((Ok(chunk), (bytes, false))),
                    Ok(Some(Err(e))) => Some((Err(Wire::Http(error_chain(&e))), (bytes, true))),
                    Ok(None) => None,
                    Err(_) => Some((Err(Wire::Idle), (bytes, true))),
                }
            },
        );
        Ok(bytes.eventsource().map(move |item| {
            let event = item.map_err(|e| ClientError::Connect {
                url: base.clone(),
                reason: format!("the event stream broke: {e}"),
            })?;
            serde_json::from_str::<StreamEvent>(&event.data).map_err(|e| ClientError::Decode {
                url: format!("{base}api/v1/events"),
                reason: format!("event {}: {e}", event.id),
            })
        }))
    }
}
