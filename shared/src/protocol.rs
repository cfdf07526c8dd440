//! The robot protocol (`/api/v1/robots/register` and `/api/v1/robot/...`): the bodies the
//! control plane takes and answers, shared with the robot agent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The states of a job: the one list the control plane stores, the API shows, the CLI
/// takes and the metrics count.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::VariantNames,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JobState {
    /// Waiting for a robot (maybe until `run_after`).
    Pending,
    /// Leased to a robot.
    Running,
    /// Finished well.
    Succeeded,
    /// Failed with a business error; never retried.
    Failed,
    /// Stopped on request.
    Cancelled,
    /// Failed (or lost its robot) `max_attempts` times: the dead-letter state.
    Dead,
}

impl JobState {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored or given name.
    pub fn parse(name: &str) -> Option<JobState> {
        name.parse().ok()
    }

    /// Whether the job will not change any more by itself.
    pub fn is_finished(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }
}

/// Body of `POST /api/v1/robots/register` (sent with a registration token).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The robot's name, unique in the tenant; registering the same name again replaces
    /// the robot's token.
    pub name: String,
    /// The machine's host name.
    #[serde(default)]
    pub hostname: String,
    /// The operating system (`linux`, `windows`, ...).
    #[serde(default)]
    pub os: String,
    /// The CPU architecture.
    #[serde(default)]
    pub arch: String,
    /// The robot's alq version.
    #[serde(default)]
    pub version: String,
    /// Labels the robot has, on top of the registration token's.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The browsers it can drive.
    #[serde(default)]
    pub browsers: Vec<String>,
}

/// Answer to a registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The robot's id.
    pub robot_id: String,
    /// The robot's token (`alq_rbt_...`), shown once.
    pub token: String,
    /// The robot's labels: the registration token's and its own.
    pub labels: Vec<String>,
    /// How long to park a lease long-poll (seconds).
    pub lease_wait_s: u64,
    /// How often to heartbeat a running job.
    pub heartbeat_interval_ms: u64,
    /// How long a lease lasts without a heartbeat.
    pub lease_ttl_ms: u64,
}

/// Body of `POST /api/v1/robot/lease`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// How long to wait for a job (capped by the server).
    #[serde(default)]
    pub wait_s: u64,
    /// How many jobs the robot can take now (at least 1).
    #[serde(default = "one")]
    pub slots: u32,
}

fn one() -> u32 {
    1
}

/// Answer to a lease (200; a 204 without a body means no job came within `wait_s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseResponse {
    /// The jobs leased, best first.
    pub jobs: Vec<LeasedJob>,
    /// The robot is disabled: it gets no job until an admin enables it. The answer
    /// comes after the poll's wait (at once when the server stops), never as an error,
    /// so a disabled robot stays connected and asks again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// A job leased to a robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeasedJob {
    /// The job's id.
    pub job_id: i64,
    /// Which attempt this is, from 1.
    pub attempt: i64,
    /// The fencing token every later call about this job must carry.
    pub lease_token: i64,
    /// When the lease ends unless heartbeats extend it.
    pub lease_expires_at: DateTime<Utc>,
    /// The inputs, secrets included.
    pub inputs: Map<String, Value>,
    /// The tenant's assets the workflow reads (`{{ assets.NAME }}`), credentials
    /// decrypted (`{username, password}`).
    #[serde(default)]
    pub assets: Map<String, Value>,
    /// What to run.
    pub workflow: LeasedWorkflow,
}

/// The workflow version a leased job runs, inline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeasedWorkflow {
    /// The workflow's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The version's id.
    pub version_id: String,
    /// The workflow file of that version.
    pub source: String,
    /// The version's package, to download by hash (`GET /robot/packages/{sha256}`) and
    /// unpack into the job's folder; `None` for a version pushed as a plain file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
}

/// Where a leased job's package is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    /// The archive's SHA-256 (lowercase hex): its name, and the check of what arrived.
    pub sha256: String,
    /// The archive's size in bytes.
    pub size: u64,
    /// The workflow file's path inside the package (`workflow.json`).
    pub entry: String,
}

/// Body of `POST /api/v1/robot/jobs/{id}/heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The job's lease token.
    pub lease_token: i64,
}

/// Answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The lease's new end.
    pub lease_expires_at: DateTime<Utc>,
    /// Someone asked to stop the job: stop at the next step boundary and complete it as
    /// `cancelled`.
    pub cancel: bool,
}

/// Body of `POST /api/v1/robot/jobs/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsRequest {
    /// The job's lease token.
    pub lease_token: i64,
    /// The events, each numbered within the attempt.
    pub events: Vec<EventItem>,
}

/// One numbered event (a `RunEvent` in practice); a number sent again is ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventItem {
    /// Its number within the attempt, from 1.
    pub seq: i64,
    /// The event.
    pub event: Value,
}

/// Answer to an events batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsResponse {
    /// How many events were new (the others were replays).
    pub accepted: u64,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It worked.
    Succeeded,
    /// It failed; `error.type` says whether to retry.
    Failed,
    /// It stopped because a cancel was asked for.
    Cancelled,
}

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// Bad data: retrying cannot help.
    Business,
    /// Something broke (a page, the network): retried with backoff.
    #[default]
    Application,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobError {
    /// What happened.
    pub message: String,
    /// Business or application.
    #[serde(rename = "type", default)]
    pub kind: ErrorType,
}

/// Body of `POST /api/v1/robot/jobs/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// The job's lease token.
    pub lease_token: i64,
    /// How the attempt ended.
    pub outcome: Outcome,
    /// The workflow's outputs.
    #[serde(default)]
    pub outputs: Map<String, Value>,
    /// Why it failed (for `failed`; an application error when missing).
    #[serde(default)]
    pub error: Option<JobError>,
}

/// Answer to a completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteResponse {
    /// The job's state now: `pending` when a failure will be retried.
    pub state: JobState,
}
