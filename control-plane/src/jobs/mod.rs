//! The jobs domain: the rules for making and changing jobs, whoever asks. The public
//! API, the bulk API and the robot API call these functions with an [`Actor`]; so will
//! triggers, queues and the console. Every change is one transaction that also writes
//! its audit row, and the robots are told about new work only after it commits.
//!
//! - [`create`], [`create_many`]: check the inputs and fields against the workflow
//!   version, store the job(s) and the audit row, wake a robot.
//! - [`create_once`], [`create_many_once`]: the same, once per `Idempotency-Key`.
//! - [`cancel`], [`retry`]: what an operator does to a job.
//! - [`complete`]: a robot ends an attempt under its lease token.
//! - [`view`]: the job as the API and the console show it.

pub mod complete;
mod create;
pub mod idempotency;
mod manage;
mod target;
pub mod view;

pub use complete::{Completed, complete};
pub use create::{JobSpec, NewJobs, create, create_many};
pub use idempotency::{Answer, IdempotencyKey, create_many_once, create_once};
pub use manage::{cancel, retry};
pub use target::{Target, target};

use crate::AppState;
use crate::auth::Actor;
use crate::db::jobs::JobRecord;
use crate::lease::JobReady;

/// The most jobs one call of [`create_many`] makes.
pub const MAX_BULK: usize = 1_000;

/// Tells parked robots that a pending job may be claimed (at its `run_after`).
fn announce(state: &AppState, job: &JobRecord) {
    state.dispatcher.job_ready_at(JobReady {
        tenant_id: job.tenant_id.clone(),
        labels: job.labels.clone(),
        run_after: job.run_after,
    });
}

/// Who acts, in which tenant: what every call of the domain takes.
#[derive(Debug, Clone)]
pub struct By<'a> {
    /// The tenant the change happens in.
    pub tenant_id: &'a str,
    /// Who makes it.
    pub actor: &'a Actor,
}
