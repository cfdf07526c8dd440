//! The control plane's domain events: what `GET /api/v1/events` streams, what the outbox
//! stores and what outbox consumers (chained triggers, notifications) read.
//!
//! The `events!` table below is the one list of event kinds: it builds the [`Event`]
//! enum, the [`EventKind`] names, and the parsing of stored events, so a new kind (queue
//! items, triggers) is one line here plus its payload type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::JobState;

macro_rules! events {
    ($( $name:literal => $variant:ident($payload:ident) ),* $(,)?) => {
        /// One thing that happened, with what the kind says about it.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( #[doc = concat!("`", $name, "`")] $variant($payload), )*
        }

        /// The kind of an [`Event`], named as the stream shows it (`job.created`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $( #[doc = concat!("`", $name, "`")] $variant, )*
        }

        impl EventKind {
            /// Every kind, in the order of the reference.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// Every kind's name.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The name the stream and the outbox use, e.g. `job.state_changed`.
            pub fn name(self) -> &'static str {
                match self { $( EventKind::$variant => $name, )* }
            }

            /// The kind of a name; `None` for an unknown one.
            pub fn parse(name: &str) -> Option<EventKind> {
                match name { $( $name => Some(EventKind::$variant), )* _ => None }
            }
        }

        impl Event {
            /// Its kind.
            pub fn kind(&self) -> EventKind {
                match self { $( Event::$variant(_) => EventKind::$variant, )* }
            }

            /// The job it is about, if any.
            pub fn job_id(&self) -> Option<i64> {
                match self { $( Event::$variant(p) => About::job_id(p), )* }
            }

            /// What it says, as JSON (the SSE `data` and the outbox `payload`).
            pub fn payload(&self) -> Value {
                let value = match self { $( Event::$variant(p) => serde_json::to_value(p), )* };
                // Serializing plain data structs into a `Value` cannot fail.
                value.unwrap_or(Value::Null)
            }

            /// Rebuilds an event from its kind's name and its payload.
            pub fn from_parts(kind: &str, payload: Value) -> Result<Event, EventError> {
                match kind {
                    $( $name => serde_json::from_value(payload)
                        .map(Event::$variant)
                        .map_err(|e| EventError::Payload { kind: $name, message: e.to_string() }), )*
                    other => Err(EventError::UnknownKind(other.to_owned())),
                }
            }
        }
    };
}

events! {
    "job.created" => JobCreated(JobCreated),
    "job.state_changed" => JobStateChanged(JobStateChanged),
    "job.step" => JobStep(JobStep),
    "robot.online" => RobotOnline(RobotPresence),
    "robot.busy" => RobotBusy(RobotPresence),
    "robot.offline" => RobotOffline(RobotPresence),
}

impl EventKind {
    /// The kinds a filter names: a kind (`job.step`) or a family (`job`, `robot`).
    /// `None` when it names neither.
    pub fn matching(filter: &str) -> Option<Vec<EventKind>> {
        if let Some(kind) = EventKind::parse(filter) {
            return Some(vec![kind]);
        }
        let family: Vec<EventKind> = EventKind::ALL
            .iter()
            .copied()
            .filter(|k| k.name().split('.').next() == Some(filter))
            .collect();
        (!family.is_empty()).then_some(family)
    }
}

/// What an event's payload is about.
pub trait About {
    /// The job, for events about one.
    fn job_id(&self) -> Option<i64> {
        None
    }
}

macro_rules! about_job {
    ($($payload:ty),*) => {
        $(impl About for $payload {
            fn job_id(&self) -> Option<i64> {
                Some(self.job_id)
            }
        })*
    };
}

about_job!(JobCreated, JobStateChanged, JobStep);
impl About for RobotPresence {}

/// A stored event that does not read back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    /// No kind has this name (written by a newer server?).
    #[error("unknown event kind `{0}`")]
    UnknownKind(String),
    /// The payload does not fit its kind.
    #[error("event `{kind}`: {message}")]
    Payload {
        /// The kind.
        kind: &'static str,
        /// What does not fit.
        message: String,
    },
}

/// `job.created`: a job was made (by the API, the bulk API, a retry, a trigger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCreated {
    /// The job.
    pub job_id: i64,
    /// Its workflow's id.
    pub workflow_id: String,
    /// Its workflow's name.
    pub workflow_name: String,
    /// Its state (pending).
    pub state: JobState,
    /// The job it retries, for a retry by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<i64>,
}

/// `job.state_changed`: a job moved to another state (leased, completed, back to pending
/// after a failure or a lost lease, dead, cancelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStateChanged {
    /// The job.
    pub job_id: i64,
    /// Its workflow's name.
    pub workflow_name: String,
    /// Its new state.
    pub state: JobState,
    /// The attempt it is on (1 from its first lease).
    pub attempt: i64,
    /// The robot that holds or held it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robot_id: Option<String>,
    /// Why the attempt failed (`{message, type}`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// What it returned, when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
}

/// `job.step`: a job's robot reported a run event (a step started or finished, a log
/// line, the run's start or end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStep {
    /// The job.
    pub job_id: i64,
    /// The attempt it belongs to.
    pub attempt: i64,
    /// Its number within the attempt, as the robot sent it.
    pub seq: i64,
    /// The run event (a `RunEvent`), as `GET /jobs/{id}/events` shows it.
    pub event: Value,
}

/// `robot.online`, `robot.busy`, `robot.offline`: a robot came (or came back), took its
/// first running job, or went away (said goodbye, or fell silent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobotPresence {
    /// The robot.
    pub robot_id: String,
    /// Its name.
    pub name: String,
}

/// An event as the stream sends it: the SSE `data` of `GET /api/v1/events`, whose
/// `id` is the event id (`Last-Event-ID`) and whose `event` is `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StreamEvent {
    /// The event id: growing, the order events were committed in.
    pub id: i64,
    /// Its kind, e.g. `job.state_changed`.
    pub kind: String,
    /// The job it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    /// When it happened (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    /// What the kind says (see docs/api.md for each kind).
    #[schema(value_type = Object)]
    pub data: Value,
}

impl StreamEvent {
    /// The typed event; an error for a kind this build does not know.
    pub fn event(&self) -> Result<Event, EventError> {
        Event::from_parts(&self.kind, self.data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        assert_eq!(EventKind::ALL.len(), EventKind::NAMES.len());
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Some(*kind));
        }
        assert_eq!(EventKind::parse("job.nope"), None);
    }

    #[test]
    fn filters_name_a_kind_or_a_family() {
        assert_eq!(
            EventKind::matching("job.step"),
            Some(vec![EventKind::JobStep])
        );
        assert_eq!(
            EventKind::matching("robot"),
            Some(vec![
                EventKind::RobotOnline,
                EventKind::RobotBusy,
                EventKind::RobotOffline
            ])
        );
        assert_eq!(EventKind::matching("jo"), None);
        assert_eq!(EventKind::matching(""), None);
    }

    #[test]
    fn events_read_back_from_kind_and_payload() {
        let event = Event::JobStateChanged(JobStateChanged {
            job_id: 7,
            workflow_name: "greet".into(),
            state: JobState::Running,
            attempt: 1,
            robot_id: Some("r1".into()),
            error: None,
            outputs: None,
        });
        let back = Event::from_parts(event.kind().name(), event.payload()).unwrap();
        assert_eq!(back, event);
        assert_eq!(
            Event::from_parts("job.step", serde_json::json!({"job_id": 1})),
            Err(EventError::Payload {
                kind: "job.step",
                message: "missing field `attempt`".into()
            })
        );
        assert!(matches!(
            Event::from_parts("queue.item_added", Value::Null),
            Err(EventError::UnknownKind(_))
        ));
    }
}
