//! The bus between replicas. One replica alone needs none: its in-process dispatcher and
//! event channel see every change. With `--redis-url`, each replica publishes on one
//! Redis channel what the others must react to, and listens to theirs: the domain events
//! it committed (so a console on replica B sees a job created on replica A), and the
//! dispatcher's wake-ups (a job became ready, a job was cancelled), so a robot parked on
//! replica B is woken by a job created on replica A.
//!
//! Redis pub/sub is best effort: a message lost while Redis is away delays a wake-up
//! until the dispatcher's sweep, and an event until the reader next looks at the outbox
//! (its heartbeat), but loses nothing: the outbox is the record.

use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::redact_url;

/// What one replica tells the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// A job can be leased (created, retried, back from a lost lease) and no robot parked
    /// on the sending replica could take it.
    JobReady {
        /// The job's tenant.
        tenant_id: String,
        /// The labels a robot needs for it.
        labels: Vec<String>,
        /// Not claimable before (Unix ms).
        run_after: i64,
    },
    /// Someone asked to cancel a running job: the replica where its robot's heartbeat
    /// poll waits answers it now. (Lost, the robot learns it from its next heartbeat.)
    CancelRequested {
        /// The job.
        job_id: i64,
    },
    /// A domain event the sending replica committed (its outbox row is stored).
    Event(WireEvent),
}

/// A committed event as it travels between replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// The event id (its outbox row).
    pub id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// When (Unix ms).
    pub at: i64,
    /// Its kind's name.
    pub event_kind: String,
    /// What it says.
    pub payload: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    #[serde(flatten)]
    message: Message,
}

/// The sending side: a no-op without Redis.
#[derive(Clone)]
pub struct Bus {
    origin: String,
    // A connection manager reconnects by itself when Redis restarts.
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

impl Bus {
    /// For a single replica.
    pub fn local() -> Bus {
        Bus {
            origin: crate::db::new_id(),
            redis: None,
        }
    }

    /// Connects to Redis; `channel` is shared by every replica of one deployment.
    pub async fn redis(url: &str, channel: &str) -> anyhow::Result<Bus> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("invalid Redis URL `{}`: {e}", redact_url(url)))?;
        // Few quick retries: a start-up against a missing Redis should fail in about a
        // second, not after the default minute of backoff. Later drops reconnect anyway.
        let retries = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(2)));
        let connection = redis::aio::ConnectionManager::new_with_config(client, retries)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {}: {e}", redact_url(url)))?;
        Ok(Bus {
            origin: crate::db::new_id(),
            redis: Some((connection, channel.to_owned())),
        })
    }

    /// Whether messages leave this process.
    pub fn is_shared(&self) -> bool {
        self.redis.is_some()
    }

    /// Tells the other replicas. Best effort: a lost wake-up is caught by their periodic
    /// sweep and a lost event by their readers' next look at the outbox, so a Redis
    /// hiccup delays, but loses nothing.
    pub async fn publish(&self, message: Message) {
        let Some((connection, channel)) = &self.redis else {
            return;
        };
        let envelope = Envelope {
            origin: self.origin.clone(),
            message,
        };
        let Ok(payload) = serde_json::to_string(&envelope) else {
            return;
        };
        let mut connection = connection.clone();
        if let Err(e) = connection.publish::<_, _, ()>(channel, payload).await {
            tracing::warn!(error = %e, "Cannot publish to Redis; other replicas will catch up on their sweep.");
        }
    }

    /// Whether Redis answers (for `/readyz`); true without Redis.
    pub async fn ping(&self) -> bool {
        let Some((connection, _)) = &self.redis else {
            return true;
        };
        let mut connection = connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .is_ok()
    }

    /// Listens to the other replicas' messages until `shutdown`, calling `handler` for
    /// each; reconnects with a growing delay when Redis goes away. Returns at once
    /// without Redis.
    pub fn listen(
        &self,
        url: &str,
        handler: impl Fn(Message) + Send + Sync + 'static,
        shutdown: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let (_, channel) = self.redis.as_ref()?;
        let (url, channel, origin) = (url.to_owned(), channel.clone(), self.origin.clone());
        Some(tokio::spawn(async move {
            let mut delay = Duration::from_millis(200);
            while !shutdown.is_cancelled() {
                match subscribe(&url, &channel).await {
                    Ok(mut pubsub) => {
                        delay = Duration::from_millis(200);
                        let mut messages = pubsub.on_message();
                        loop {
                            let message = tokio::select! {
                                () = shutdown.cancelled() => return,
                                message = messages.next() => message,
                            };
                            let Some(message) = message else { break };
                            match serde_json::from_slice::<Envelope>(message.get_payload_bytes()) {
                                Ok(envelope) if envelope.origin != origin => {
                                    handler(envelope.message)
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "Ignoring a malformed message from Redis.")
                                }
                            }
                        }
                        tracing::warn!("Redis subscription ended; reconnecting.");
                    }
                    Err(e) => tracing::warn!(error = %e, "Cannot subscribe to Redis; retrying."),
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }))
    }
}

async fn subscribe(url: &str, channel: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}
