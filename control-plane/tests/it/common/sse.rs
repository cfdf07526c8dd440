//! A small Server-Sent Events reader for `GET /api/v1/events`: frames as the wire has
//! them (an event with its id, kind and data, or a comment).

use std::time::Duration;

use serde_json::Value;

use super::TestServer;

/// One frame of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An event: its `id`, its `event` (kind) and its `data` as JSON.
    Event { id: i64, kind: String, data: Value },
    /// A `: ...` comment (the heartbeat).
    Comment(String),
}

/// An open event stream.
pub struct Sse {
    response: reqwest::Response,
    buffer: String,
}

/// What an answer to `GET /events` was, when it was not a stream.
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl Sse {
    /// Opens `/api/v1/events?<query>` with `token`, sending `Last-Event-ID` when given.
    pub async fn open(
        server: &TestServer,
        token: &str,
        query: &str,
        last_event_id: Option<&str>,
    ) -> Result<Sse, Refused> {
        let mut request = reqwest::Client::new()
            .get(format!("{}/api/v1/events?{query}", server.url))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.json().await.unwrap_or(Value::Null);
            return Err(Refused { status, body });
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Ok(Sse {
            response,
            buffer: String::new(),
        })
    }

    /// The next frame; panics when none comes within a minute (a hung stream).
    pub async fn next(&mut self) -> Frame {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(frame) = parse(&block) {
                    return frame;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(60), self.response.chunk())
                .await
                .expect("the stream sent nothing for a minute")
                .expect("the stream broke")
                .expect("the stream ended");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event, skipping heartbeats: `(id, kind, data)`.
    pub async fn event(&mut self) -> (i64, String, Value) {
        loop {
            if let Frame::Event { id, kind, data } = self.next().await {
                return (id, kind, data);
            }
        }
    }

    /// The next `n` events.
    pub async fn events(&mut self, n: usize) -> Vec<(i64, String, Value)> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.event().await);
        }
        events
    }
}

fn parse(block: &str) -> Option<Frame> {
    let (mut id, mut kind, mut data, mut comment) = (None, None, Vec::new(), None);
    for line in block.lines() {
        if let Some(text) = line.strip_prefix(':') {
            comment = Some(text.trim().to_owned());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = value.parse().ok(),
                "event" => kind = Some(value.to_owned()),
                "data" => data.push(value.to_owned()),
                _ => {}
            }
        }
    }
    match (id, kind) {
        (Some(id), Some(kind)) => Some(Frame::Event {
            id,
            kind,
            data: serde_json::from_str(&data.join("\n")).expect("data is JSON"),
        }),
        _ => comment.map(Frame::Comment),
    }
}
