//! The event stream and its outbox (DESIGN.md section 12).
//!
//! Every change the domain makes is one transaction that also writes its events to the
//! outbox table ([`Events::commit`]). After the commit the events are published: to this
//! process through a broadcast channel ([`Events::subscribe`]), and to the other
//! replicas through Redis ([`bus`]) when `--redis-url` is set. Two kinds of readers:
//!
//! - live views (`GET /api/v1/events`, `alq job get --follow`, later the console) read
//!   the outbox from an event id and use the broadcast only to learn that there is more
//!   to read, so they see events in commit order and resume by `Last-Event-ID`;
//! - [`consumer`]s that must never miss an event (chained triggers, notifications) read
//!   the outbox from a cursor of their own, claimed in the database so one replica at a
//!   time handles each, at least once.
//!
//! [`retention`] prunes old rows. The kinds of events are the `events!` table in
//! `alq_shared::stream`.

pub mod bus;
pub mod consumer;
mod make;
pub mod retention;

use std::sync::Arc;

use alq_shared::stream::{Event, StreamEvent};
use tokio::sync::broadcast;

use crate::db::outbox::{self, NewRow, Row};
use crate::db::{DbResult, Tx, now_ms};
pub use bus::{Bus, Message, WireEvent};
pub use make::{job_created, job_state, job_step, robot_presence};

/// How many events the in-process channel holds for a slow subscriber before it lags
/// (a lagging reader re-reads the outbox, so lagging loses nothing).
const CHANNEL: usize = 1024;

/// An event to commit: what happened in which tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Happened {
    /// The tenant it happened in.
    pub tenant_id: String,
    /// What happened.
    pub event: Event,
}

/// A committed event.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Its id: growing, in commit order.
    pub id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// When (Unix ms).
    pub at: i64,
    /// What happened.
    pub event: Event,
}

impl Stored {
    /// The job it is about, if any.
    pub fn job_id(&self) -> Option<i64> {
        self.event.job_id()
    }

    /// As `GET /api/v1/events` sends it.
    pub fn to_stream(&self) -> StreamEvent {
        StreamEvent {
            id: self.id,
            kind: self.event.kind().name().to_owned(),
            job_id: self.job_id(),
            at: crate::jobs::view::utc(self.at),
            data: self.event.payload(),
        }
    }

    /// Reads an outbox row back; `None` (and a warning) for a kind this build does not
    /// know, e.g. written by a newer replica during an upgrade.
    pub fn from_row(row: Row) -> Option<Stored> {
        match Event::from_parts(&row.kind, row.payload) {
            Ok(event) => Some(Stored {
                id: row.id,
                tenant_id: row.tenant_id,
                at: row.created_at,
                event,
            }),
            Err(error) => {
                tracing::warn!(event.id = row.id, error = %error, "Skipping an outbox event this version cannot read.");
                None
            }
        }
    }

    fn to_wire(&self) -> WireEvent {
        WireEvent {
            id: self.id,
            tenant_id: self.tenant_id.clone(),
            at: self.at,
            event_kind: self.event.kind().name().to_owned(),
            payload: self.event.payload(),
        }
    }

    fn from_wire(wire: WireEvent) -> Option<Stored> {
        Event::from_parts(&wire.event_kind, wire.payload)
            .ok()
            .map(|event| Stored {
                id: wire.id,
                tenant_id: wire.tenant_id,
                at: wire.at,
                event,
            })
    }
}

/// The event hub of one process: commits events with their change and publishes them.
pub struct Events {
    local: broadcast::Sender<Arc<Stored>>,
    bus: Bus,
}

impl Events {
    /// A hub that publishes across replicas through `bus` (a no-op bus for one replica).
    pub fn new(bus: Bus) -> Events {
        Events {
            local: broadcast::channel(CHANNEL).0,
            bus,
        }
    }

    /// The bus to the other replicas.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Writes `events` to the outbox as the last statements of `tx`, commits it, then
    /// publishes them. Nothing is published when the commit fails.
    pub async fn commit(&self, mut tx: Tx, events: Vec<Happened>) -> DbResult<Vec<Arc<Stored>>> {
        let at = now_ms();
        let rows: Vec<NewRow> = events
            .iter()
            .map(|h| NewRow {
                tenant_id: h.tenant_id.clone(),
                kind: h.event.kind().name(),
                job_id: h.event.job_id(),
                payload: h.event.payload().to_string(),
                created_at: at,
            })
            .collect();
        let ids = outbox::append(&mut tx, &rows).await?;
        tx.commit().await?;
        let stored: Vec<Arc<Stored>> = events
            .into_iter()
            .zip(ids)
            .map(|(h, id)| {
                Arc::new(Stored {
                    id,
                    tenant_id: h.tenant_id,
                    at,
                    event: h.event,
                })
            })
            .collect();
        self.publish(&stored);
        Ok(stored)
    }

    /// Tells this process's subscribers and the other replicas about committed events.
    fn publish(&self, stored: &[Arc<Stored>]) {
        for event in stored {
            // No subscriber is fine: nobody is watching.
            let _ = self.local.send(event.clone());
        }
        if self.bus.is_shared() && !stored.is_empty() {
            let bus = self.bus.clone();
            let wires: Vec<WireEvent> = stored.iter().map(|s| s.to_wire()).collect();
            tokio::spawn(async move {
                for wire in wires {
                    bus.publish(Message::Event(wire)).await;
                }
            });
        }
    }

    /// Hands an event another replica committed to this process's subscribers.
    pub fn received(&self, wire: WireEvent) {
        if let Some(stored) = Stored::from_wire(wire) {
            let _ = self.local.send(Arc::new(stored));
        }
    }

    /// Every event committed from now on, by this process or (with Redis) another
    /// replica. A receiver that falls behind gets `Lagged` and should re-read the outbox.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Stored>> {
        self.local.subscribe()
    }
}
