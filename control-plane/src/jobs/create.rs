//! Making jobs: one, or up to [`MAX_BULK`](super::MAX_BULK) of one workflow version in
//! one transaction. Each job is checked the same way (fields, labels, inputs against
//! the version's declared inputs) and recorded in the audit log in the transaction that
//! stores it, so a failed audit write leaves no job behind.

use std::collections::BTreeMap;

use alq_shared::api::ErrorCode;
use alq_shared::protocol::JobState;
use alq_shared::stream::{Event, JobCreated};
use alq_shared::workflow::{InputSpec, resolve_inputs};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::target::{Target, target};
use super::{By, MAX_BULK, announce};
use crate::AppState;
use crate::db::jobs::{JobRecord, NewJob};
use crate::db::{Tx, audit, jobs, jobs_bulk};
use crate::error::{ApiError, ApiResult};
use crate::events::{Happened, job_created};
use crate::labels::clean_labels;
use crate::lease::JobReady;

/// What one job to make says beyond its workflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobSpec {
    /// Inputs by name.
    pub inputs: Map<String, Value>,
    /// Higher runs first.
    pub priority: i32,
    /// Labels a robot must all have.
    pub labels: Vec<String>,
    /// Leases before the job is dead (1 to 100, default 3).
    pub max_attempts: Option<i64>,
    /// Not before this time.
    pub run_after: Option<DateTime<Utc>>,
}

/// Many jobs of one workflow version.
#[derive(Debug, Clone, Serialize)]
pub struct NewJobs {
    /// The workflow, by id or name.
    pub workflow: String,
    /// A version of it (number, id or hash prefix); default the latest.
    pub version: Option<String>,
    /// The jobs (1 to [`MAX_BULK`]).
    pub jobs: Vec<JobSpec>,
}

/// The fields of a job that need no workflow to check: `(labels, max_attempts)`.
fn check_fields(spec: &JobSpec) -> ApiResult<(Vec<String>, i64)> {
    let max_attempts = spec.max_attempts.unwrap_or(3);
    if !(1..=100).contains(&max_attempts) {
        return Err(ApiError::invalid(format!(
            "`max_attempts` must be between 1 and 100; got {max_attempts}"
        )));
    }
    Ok((clean_labels(spec.labels.clone())?, max_attempts))
}

/// Checks inputs against the declared ones with the engine's own check and fills in
/// defaults; every problem is named in one 422.
fn check_inputs(
    declared: &BTreeMap<String, InputSpec>,
    given: &Map<String, Value>,
) -> ApiResult<Map<String, Value>> {
    resolve_inputs(declared, given).map_err(|problems| {
        let message = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let details: Vec<Value> = problems
            .iter()
            .map(|p| json!({ "input": p.input(), "message": p.to_string() }))
            .collect();
        ApiError::new(
            ErrorCode::InvalidInputs,
            format!("the inputs do not fit the workflow: {message}"),
        )
        .with_details(json!({ "problems": details }))
    })
}

/// Checks a job against its target; the job to store.
fn new_job(by: &By<'_>, target: &Target, spec: JobSpec) -> ApiResult<NewJob> {
    let (labels, max_attempts) = check_fields(&spec)?;
    let inputs = check_inputs(&target.declared, &spec.inputs)?;
    Ok(NewJob {
        tenant_id: by.tenant_id.to_owned(),
        workflow_id: target.workflow.id.clone(),
        workflow_name: target.workflow.name.clone(),
        version_id: target.version_id.clone(),
        priority: i64::from(spec.priority),
        labels,
        inputs,
        secret_inputs: target.secret_inputs.clone(),
        max_attempts,
        run_after: spec.run_after.map(|t| t.timestamp_millis()),
        retry_of: None,
        created_by: by.actor.name(),
    })
}

/// Stores one checked job and its audit row in `tx`; the job as stored. `entry` gives
/// the audit row's target and details from the new job's id.
pub(super) async fn insert_audited(
    tx: &mut Tx,
    by: &By<'_>,
    new: &NewJob,
    action: &str,
    entry: impl FnOnce(i64) -> (String, Value),
) -> ApiResult<JobRecord> {
    let id = jobs::insert(tx, new).await?;
    let (target, details) = entry(id);
    audit::record(tx, by.tenant_id, &by.actor.name(), action, &target, details).await?;
    Ok(jobs::get_in(tx, by.tenant_id, id).await?)
}

/// Makes one job of `workflow` (id or name) at `version` (default the latest). A bad
/// field is a 400 even for an unknown workflow; inputs that do not fit are a 422.
pub async fn create(
    state: &AppState,
    by: By<'_>,
    workflow: &str,
    version: Option<&str>,
    spec: JobSpec,
) -> ApiResult<JobRecord> {
    let (job, tx) = prepare_create(state, &by, workflow, version, spec).await?;
    state.events.commit(tx, vec![job_created(&job)]).await?;
    announce(state, &job);
    Ok(job)
}

/// Everything of [`create`] but the commit: the job, and the open transaction that
/// holds it and its audit row (for callers that write more in it).
pub(super) async fn prepare_create(
    state: &AppState,
    by: &By<'_>,
    workflow: &str,
    version: Option<&str>,
    spec: JobSpec,
) -> ApiResult<(JobRecord, Tx)> {
    check_fields(&spec)?;
    let target = target(state, by.tenant_id, workflow, version).await?;
    let new = new_job(by, &target, spec)?;
    let mut tx = state.db.begin().await?;
    let job = insert_audited(&mut tx, by, &new, "job.create", |id| {
        let details = json!({
            "workflow": target.workflow.name,
            "version": target.version_id,
            "priority": new.priority,
        });
        (format!("job:{id}"), details)
    })
    .await?;
    Ok((job, tx))
}

/// Makes 1 to [`MAX_BULK`] jobs of one workflow version, all or none, audited once;
/// their ids in the order asked. The first job that does not fit is named by its index.
pub async fn create_many(state: &AppState, by: By<'_>, request: NewJobs) -> ApiResult<Vec<i64>> {
    let (ids, made, tx) = prepare_many(state, &by, request).await?;
    state.events.commit(tx, made.events).await?;
    state.dispatcher.jobs_ready(made.ready);
    Ok(ids)
}

/// What [`prepare_many`] made, to tell once it is committed.
pub(super) struct Made {
    /// A `job.created` per job.
    pub events: Vec<Happened>,
    /// A wake-up per job.
    pub ready: Vec<JobReady>,
}

/// Everything of [`create_many`] but the commit and the wake-ups.
pub(super) async fn prepare_many(
    state: &AppState,
    by: &By<'_>,
    request: NewJobs,
) -> ApiResult<(Vec<i64>, Made, Tx)> {
    if request.jobs.is_empty() || request.jobs.len() > MAX_BULK {
        return Err(ApiError::invalid(format!(
            "`jobs` must hold 1 to {MAX_BULK} jobs; got {}: split larger batches",
            request.jobs.len()
        )));
    }
    let target = target(
        state,
        by.tenant_id,
        &request.workflow,
        request.version.as_deref(),
    )
    .await?;
    let mut new = Vec::with_capacity(request.jobs.len());
    for (index, spec) in request.jobs.into_iter().enumerate() {
        new.push(new_job(by, &target, spec).map_err(|e| at_index(e, index))?);
    }
    let mut tx = state.db.begin().await?;
    let ids = jobs_bulk::insert_many(&mut tx, &new).await?;
    audit::record(
        &mut tx,
        by.tenant_id,
        &by.actor.name(),
        "job.create_bulk",
        &format!("workflow:{}", target.workflow.id),
        json!({
            "workflow": target.workflow.name,
            "version": target.version_id,
            "count": ids.len(),
            "first_id": ids.first(),
            "last_id": ids.last(),
        }),
    )
    .await?;
    let events = ids
        .iter()
        .map(|&job_id| Happened {
            tenant_id: by.tenant_id.to_owned(),
            event: Event::JobCreated(JobCreated {
                job_id,
                workflow_id: target.workflow.id.clone(),
                workflow_name: target.workflow.name.clone(),
                state: JobState::Pending,
                retry_of: None,
            }),
        })
        .collect();
    let ready = new
        .into_iter()
        .map(|job| JobReady {
            tenant_id: job.tenant_id,
            labels: job.labels,
            // None: created due, and the epoch is in the past.
            run_after: job.run_after.unwrap_or(0),
        })
        .collect();
    Ok((ids, Made { events, ready }, tx))
}

/// Names the job of a bulk request an error is about: `jobs[3]: ...`, and `index` in
/// the details. Bad items are a 422 (the request is well-formed; one job does not fit).
fn at_index(error: ApiError, index: usize) -> ApiError {
    let mut details = match error.details {
        Some(Value::Object(map)) => map,
        Some(other) => Map::from_iter([("details".to_owned(), other)]),
        None => Map::new(),
    };
    details.insert("index".to_owned(), json!(index));
    let code = match error.code {
        ErrorCode::InvalidRequest => ErrorCode::InvalidInputs,
        other => other,
    };
    ApiError::new(code, format!("jobs[{index}]: {}", error.message))
        .with_details(Value::Object(details))
}
