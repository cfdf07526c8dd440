//! Events made from the records a change just wrote, so each door and domain call says
//! the same thing about the same change.

use alq_shared::protocol::JobState;
use alq_shared::stream::{Event, JobCreated, JobStateChanged, JobStep, RobotPresence};
use serde_json::Value;

use super::Happened;
use crate::db::jobs::JobRecord;

/// `job.created` for a job just stored.
pub fn job_created(job: &JobRecord) -> Happened {
    Happened {
        tenant_id: job.tenant_id.clone(),
        event: Event::JobCreated(JobCreated {
            job_id: job.id,
            workflow_id: job.workflow_id.clone(),
            workflow_name: job.workflow_name.clone(),
            state: job.state,
            retry_of: job.retry_of,
        }),
    }
}

/// `job.state_changed` for a job as it is after the change.
pub fn job_state(job: &JobRecord) -> Happened {
    let finished = job.state.is_finished();
    Happened {
        tenant_id: job.tenant_id.clone(),
        event: Event::JobStateChanged(JobStateChanged {
            job_id: job.id,
            workflow_name: job.workflow_name.clone(),
            state: job.state,
            attempt: job.attempt,
            robot_id: job.robot_id.clone(),
            // An error is news when the attempt failed, whatever comes next; a job back
            // to pending after a failure carries the failure that sent it back.
            error: job
                .error
                .clone()
                .filter(|_| job.state != JobState::Running && job.state != JobState::Succeeded),
            outputs: job
                .outputs
                .clone()
                .filter(|_| finished && job.state == JobState::Succeeded),
        }),
    }
}

/// `job.step` for a run event a robot reported.
pub fn job_step(tenant_id: &str, job_id: i64, attempt: i64, seq: i64, event: Value) -> Happened {
    Happened {
        tenant_id: tenant_id.to_owned(),
        event: Event::JobStep(JobStep {
            job_id,
            attempt,
            seq,
            event,
        }),
    }
}

/// `robot.online`, `robot.busy` or `robot.offline` (by `presence`); `None` for another
/// word.
pub fn robot_presence(
    tenant_id: &str,
    robot_id: &str,
    name: &str,
    presence: &str,
) -> Option<Happened> {
    let payload = RobotPresence {
        robot_id: robot_id.to_owned(),
        name: name.to_owned(),
    };
    let event = match presence {
        "online" => Event::RobotOnline(payload),
        "busy" => Event::RobotBusy(payload),
        "offline" => Event::RobotOffline(payload),
        _ => return None,
    };
    Some(Happened {
        tenant_id: tenant_id.to_owned(),
        event,
    })
}
