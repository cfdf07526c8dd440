//! Jobs: created pending, claimed by robots in one statement, extended by heartbeats,
//! completed under their lease token, and sent back to pending (with backoff) when a
//! lease expires or an application error happens.

use alq_shared::protocol::JobState;
use serde_json::{Map, Value};

use super::column::Text;
use super::{Db, DbResult, Tx, now_ms};
use crate::{on_db, on_tx};

/// A stored job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRecord {
    /// Its id, growing.
    pub id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// Its workflow.
    pub workflow_id: String,
    /// The workflow's name when the job was made.
    pub workflow_name: String,
    /// The version it runs.
    pub version_id: String,
    /// Where it is in its life.
    #[sqlx(try_from = "Text")]
    pub state: JobState,
    /// Higher runs first.
    pub priority: i64,
    /// Labels a robot must all have to run it.
    #[sqlx(try_from = "Text")]
    pub labels: Vec<String>,
    /// Its inputs, secrets included (mask them before showing).
    #[sqlx(try_from = "Text")]
    pub inputs: Map<String, Value>,
    /// The inputs declared `secret`.
    #[sqlx(try_from = "Text")]
    pub secret_inputs: Vec<String>,
    /// How many times it was leased.
    pub attempt: i64,
    /// How many leases it may get before it is dead.
    pub max_attempts: i64,
    /// Not leased before this (Unix ms).
    pub run_after: i64,
    /// The robot that holds or last held it.
    pub robot_id: Option<String>,
    /// The fencing token of its latest lease.
    pub lease_token: i64,
    /// When the current lease ends (Unix ms).
    pub lease_expires_at: Option<i64>,
    /// Someone asked to stop it.
    pub cancel_requested: bool,
    /// Why its last attempt failed (`{message, type}`).
    #[sqlx(try_from = "Text")]
    pub error: Option<Value>,
    /// What it returned.
    #[sqlx(try_from = "Text")]
    pub outputs: Option<Value>,
    /// The job it retries by hand.
    pub retry_of: Option<i64>,
    /// The lease token of the completion that ended the last attempt.
    pub completed_lease: Option<i64>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was first leased (Unix ms).
    pub started_at: Option<i64>,
    /// When it reached a final state (Unix ms).
    pub finished_at: Option<i64>,
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its tenant.
    pub tenant_id: String,
    /// Its workflow's id.
    pub workflow_id: String,
    /// Its workflow's name.
    pub workflow_name: String,
    /// The version to run.
    pub version_id: String,
    /// Higher first.
    pub priority: i64,
    /// Required robot labels (sorted, unique).
    pub labels: Vec<String>,
    /// Checked inputs, defaults filled in.
    pub inputs: Map<String, Value>,
    /// Names of the secret inputs.
    pub secret_inputs: Vec<String>,
    /// At most this many leases.
    pub max_attempts: i64,
    /// Not before (Unix ms); `None` is the moment it is created.
    pub run_after: Option<i64>,
    /// The job it retries.
    pub retry_of: Option<i64>,
    /// Who made it (for the record).
    pub created_by: String,
}

/// A job a robot just claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// Its id.
    pub id: i64,
    /// The attempt this lease starts.
    pub attempt: i64,
    /// The new fencing token.
    pub lease_token: i64,
    /// The lease's end (Unix ms).
    pub lease_expires_at: i64,
    /// Its inputs, secrets included.
    #[sqlx(try_from = "Text")]
    pub inputs: Map<String, Value>,
    /// Its workflow's id.
    pub workflow_id: String,
    /// Its workflow's name.
    pub workflow_name: String,
    /// The version it runs.
    pub version_id: String,
    /// Higher runs first.
    pub priority: i64,
    /// Not leased before (Unix ms).
    pub run_after: i64,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When this lease was granted (Unix ms).
    #[sqlx(skip)]
    pub leased_at: i64,
}

/// A pending job a robot could take now or later (to wake a parked robot).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ready {
    /// Its id.
    pub id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// Its required labels.
    #[sqlx(try_from = "Text")]
    pub labels: Vec<String>,
    /// Its state (a re-queued job may have gone to `dead` or `cancelled` instead).
    #[sqlx(try_from = "Text")]
    pub state: JobState,
    /// Not before (Unix ms).
    pub run_after: i64,
}

/// Filters of the job list; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this workflow id.
    pub workflow_id: Option<String>,
    /// Only jobs run by this robot.
    pub robot_id: Option<String>,
    /// Created at or after (Unix ms).
    pub since: Option<i64>,
    /// Created before (Unix ms).
    pub until: Option<i64>,
    /// Only ids below this (the cursor).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// How a robot ended an attempt, as stored.
#[derive(Debug, Clone)]
pub enum Completion {
    /// `succeeded` with the outputs.
    Succeeded(Value),
    /// `cancelled` (asked for), with whatever outputs there are.
    Cancelled(Value),
    /// A business error: `failed`, never retried.
    Failed(Value),
    /// An application error: back to `pending` after a backoff, or `dead` after the
    /// last attempt (or `cancelled` when a cancel was asked for meanwhile).
    Retry(Value),
}

/// Retry delays, shared by failed completions and expired leases.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay (ms).
    pub base_ms: i64,
    /// Longest delay before jitter (ms).
    pub max_ms: i64,
}

macro_rules! columns {
    () => {
        "id, tenant_id, workflow_id, workflow_name, version_id, state, priority, labels, inputs, secret_inputs, attempt, max_attempts, run_after, robot_id, lease_token, lease_expires_at, cancel_requested, error, outputs, retry_of, completed_lease, created_at, started_at, finished_at"
    };
}

/// The state a retried attempt goes to and when it may run again, in SQL with `$1` =
/// now, `$2` = base delay, `$3` = longest delay. The delay is
/// `min(max, base * 2^(attempt-1))` times a jitter of 0.75..1.25. The jitter is a hash of
/// the job id and lease token rather than `random()` because the two backends' `random()`
/// differ in type, and one statement must serve both and many rows at once.
macro_rules! retry_assignments {
    () => {
        "state = CASE WHEN cancel_requested = TRUE THEN 'cancelled' WHEN attempt >= max_attempts THEN 'dead' ELSE 'pending' END, \
         finished_at = CASE WHEN cancel_requested = TRUE OR attempt >= max_attempts THEN $1 ELSE NULL END, \
         run_after = $1 + (CASE WHEN attempt > 40 THEN $3 WHEN ($2 << CAST(attempt - 1 AS INTEGER)) > $3 THEN $3 ELSE ($2 << CAST(attempt - 1 AS INTEGER)) END) \
             * (750 + (id * 7919 + lease_token * 104729) % 501) / 1000, \
         lease_expires_at = NULL"
    };
}

/// Stores a new pending job and its labels in the caller's transaction; returns its id.
pub async fn insert(tx: &mut Tx, job: &NewJob) -> DbResult<i64> {
    let now = now_ms();
    let labels = serde_json::to_string(&job.labels).unwrap_or_else(|_| "[]".into());
    let inputs = Value::Object(job.inputs.clone()).to_string();
    let secret_inputs = serde_json::to_string(&job.secret_inputs).unwrap_or_else(|_| "[]".into());
    let id: i64 = on_tx!(tx, conn => {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (tenant_id, workflow_id, workflow_name, version_id, state, priority, labels, inputs, secret_inputs, max_attempts, run_after, retry_of, created_by, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(&job.tenant_id)
        .bind(&job.workflow_id)
        .bind(&job.workflow_name)
        .bind(&job.version_id)
        .bind(job.priority)
        .bind(&labels)
        .bind(&inputs)
        .bind(&secret_inputs)
        .bind(job.max_attempts)
        .bind(job.run_after.unwrap_or(now))
        .bind(job.retry_of)
        .bind(&job.created_by)
        .bind(now)
        .fetch_one(&mut **conn)
        .await?;
        for label in &job.labels {
            sqlx::query("INSERT INTO job_labels (job_id, label) VALUES ($1, $2)")
                .bind(id)
                .bind(label)
                .execute(&mut **conn)
                .await?;
        }
        id
    });
    Ok(id)
}

/// A job of the tenant, read in the caller's transaction (what it just wrote).
pub async fn get_in(tx: &mut Tx, tenant_id: &str, id: i64) -> DbResult<JobRecord> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE tenant_id = $1 AND id = $2"
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(tenant_id).bind(id).fetch_optional(&mut **conn).await?)
        .ok_or_else(|| super::DbError::Missing(format!("job {id}")))
}

/// A job of the tenant.
pub async fn get(db: &Db, tenant_id: &str, id: i64) -> DbResult<Option<JobRecord>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE tenant_id = $1 AND id = $2"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql).bind(tenant_id).bind(id).fetch_optional(pool).await?))
}

/// The tenant's jobs matching the filter, newest first.
pub async fn list(db: &Db, tenant_id: &str, filter: &ListFilter) -> DbResult<Vec<JobRecord>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE tenant_id = $1 AND id < $2 \
         AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR workflow_id = $4) AND ($5 IS NULL OR robot_id = $5) \
         AND created_at >= $6 AND created_at < $7 ORDER BY id DESC LIMIT $8"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql)
        .bind(tenant_id)
        .bind(filter.before_id.unwrap_or(i64::MAX))
        .bind(filter.state.map(JobState::as_str))
        .bind(filter.workflow_id.as_deref())
        .bind(filter.robot_id.as_deref())
        .bind(filter.since.unwrap_or(i64::MIN))
        .bind(filter.until.unwrap_or(i64::MAX))
        .bind(filter.limit)
        .fetch_all(pool)
        .await?))
}

/// Cancels a pending job at once, in the caller's transaction; false when it is not
/// pending (any more).
pub async fn cancel_pending(tx: &mut Tx, tenant_id: &str, id: i64) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE jobs SET state = 'cancelled', cancel_requested = TRUE, finished_at = $1 WHERE tenant_id = $2 AND id = $3 AND state = 'pending'",
    )
    .bind(now_ms())
    .bind(tenant_id)
    .bind(id)
    .execute(&mut **conn)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Asks the robot running a job to stop (the caller then wakes the robot's heartbeat
/// poll), in the caller's transaction; false when the job is not running (any more).
pub async fn request_cancel(tx: &mut Tx, tenant_id: &str, id: i64) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE jobs SET cancel_requested = TRUE WHERE tenant_id = $1 AND id = $2 AND state = 'running'",
    )
    .bind(tenant_id)
    .bind(id)
    .execute(&mut **conn)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// The pending jobs (of the robot's tenant, not before `run_after`) the robot may take,
/// best first: `$1` robot, `$3` now, `$4` tenant, `$5` how many. A job needs every one of
/// its labels among the robot's, so a job no robot can take is skipped, not waited on.
/// The lease check of a completion: `$3` tenant, `$4` job, `$5` robot, `$6` lease token.
macro_rules! fence {
    () => {
        " WHERE tenant_id = $3 AND id = $4 AND robot_id = $5 AND lease_token = $6 AND state = 'running'"
    };
}

macro_rules! claim_candidates {
    () => {
        "SELECT j.id FROM jobs j WHERE j.state = 'pending' AND j.tenant_id = $4 AND j.run_after <= $3 \
         AND NOT EXISTS (SELECT 1 FROM job_labels jl WHERE jl.job_id = j.id \
             AND NOT EXISTS (SELECT 1 FROM robot_labels rl WHERE rl.robot_id = $1 AND rl.label = jl.label)) \
         ORDER BY j.priority DESC, j.run_after, j.id LIMIT $5"
    };
}

macro_rules! claim_update {
    ($candidates:expr) => {
        concat!(
            "UPDATE jobs SET state = 'running', robot_id = $1, attempt = attempt + 1, lease_token = lease_token + 1, \
             lease_expires_at = $2, started_at = COALESCE(started_at, $3) \
             WHERE state = 'pending' AND id IN (",
            $candidates,
            ") RETURNING id, attempt, lease_token, lease_expires_at, inputs, workflow_id, workflow_name, version_id, priority, run_after, created_at"
        )
    };
}

/// Leases up to `slots` of the best jobs to a robot in one statement, in the caller's
/// transaction (which then writes the events of the lease). On PostgreSQL concurrent
/// claims skip each other's rows (`SKIP LOCKED`); on SQLite the write transaction makes
/// claims take turns.
pub async fn claim_jobs(
    tx: &mut Tx,
    tenant_id: &str,
    robot_id: &str,
    slots: i64,
    lease_ttl_ms: i64,
) -> DbResult<Vec<Claimed>> {
    let now = now_ms();
    let sql = match tx {
        Tx::Sqlite(_) => claim_update!(claim_candidates!()),
        // The candidates in a materialized CTE, not in `IN (...)`: PostgreSQL may run an
        // `IN` subquery more than once (when a concurrent claim makes it recheck a row),
        // and each run can lock other rows, so a robot asking for one job got two.
        Tx::Postgres(_) => concat!(
            "WITH picked AS MATERIALIZED (",
            claim_candidates!(),
            " FOR UPDATE SKIP LOCKED) ",
            "UPDATE jobs SET state = 'running', robot_id = $1, attempt = attempt + 1, lease_token = lease_token + 1, \
             lease_expires_at = $2, started_at = COALESCE(started_at, $3) \
             FROM picked WHERE jobs.id = picked.id AND jobs.state = 'pending' \
             RETURNING jobs.id, attempt, lease_token, lease_expires_at, inputs, workflow_id, workflow_name, version_id, priority, run_after, created_at"
        ),
    };
    let mut claimed: Vec<Claimed> = on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(robot_id)
        .bind(now + lease_ttl_ms)
        .bind(now)
        .bind(tenant_id)
        .bind(slots)
        .fetch_all(&mut **conn)
        .await?);
    for job in &mut claimed {
        job.leased_at = now;
    }
    // RETURNING has no order: give them back best first.
    claimed.sort_by_key(|c| (std::cmp::Reverse(c.priority), c.run_after, c.id));
    Ok(claimed)
}

/// Extends the lease of a running job held by `robot_id` under `lease_token`; returns
/// the new end and whether a cancel was asked for, or `None` when the lease is stale.
pub async fn extend_lease(
    db: &Db,
    tenant_id: &str,
    id: i64,
    robot_id: &str,
    lease_token: i64,
    lease_ttl_ms: i64,
) -> DbResult<Option<(i64, bool)>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = $1 WHERE tenant_id = $2 AND id = $3 AND robot_id = $4 AND lease_token = $5 AND state = 'running' \
         RETURNING lease_expires_at, cancel_requested",
    )
    .bind(now_ms() + lease_ttl_ms)
    .bind(tenant_id)
    .bind(id)
    .bind(robot_id)
    .bind(lease_token)
    .fetch_optional(pool)
    .await?))
}

/// Ends the attempt of a running job held by `robot_id` under `lease_token`, in the
/// caller's transaction; false (and nothing changed) when the lease is stale.
pub async fn complete(
    tx: &mut Tx,
    tenant_id: &str,
    id: i64,
    robot_id: &str,
    lease_token: i64,
    completion: &Completion,
    backoff: Backoff,
) -> DbResult<bool> {
    let now = now_ms();
    let (sql, payload): (&str, &Value) = match completion {
        Completion::Succeeded(outputs) => (
            concat!(
                "UPDATE jobs SET state = 'succeeded', outputs = $1, error = NULL, finished_at = $2, lease_expires_at = NULL, completed_lease = $6",
                fence!()
            ),
            outputs,
        ),
        Completion::Cancelled(outputs) => (
            concat!(
                "UPDATE jobs SET state = 'cancelled', outputs = $1, finished_at = $2, lease_expires_at = NULL, completed_lease = $6",
                fence!()
            ),
            outputs,
        ),
        Completion::Failed(error) => (
            concat!(
                "UPDATE jobs SET state = 'failed', error = $1, finished_at = $2, lease_expires_at = NULL, completed_lease = $6",
                fence!()
            ),
            error,
        ),
        Completion::Retry(error) => {
            let sql = concat!(
                "UPDATE jobs SET ",
                retry_assignments!(),
                ", error = $4, completed_lease = $8 \
                 WHERE tenant_id = $5 AND id = $6 AND robot_id = $7 AND lease_token = $8 AND state = 'running'"
            );
            let done = on_tx!(tx, conn => sqlx::query(sql)
                .bind(now)
                .bind(backoff.base_ms)
                .bind(backoff.max_ms)
                .bind(error.to_string())
                .bind(tenant_id)
                .bind(id)
                .bind(robot_id)
                .bind(lease_token)
                .execute(&mut **conn)
                .await?
                .rows_affected());
            return Ok(done == 1);
        }
    };
    let done = on_tx!(tx, conn => sqlx::query(sql)
        .bind(payload.to_string())
        .bind(now)
        .bind(tenant_id)
        .bind(id)
        .bind(robot_id)
        .bind(lease_token)
        .execute(&mut **conn)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// A job whose lease expired, as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Expired {
    /// The job, to wake robots for when it is pending again.
    #[sqlx(flatten)]
    pub ready: Ready,
    /// Its workflow's name.
    pub workflow_name: String,
    /// The attempt that was lost.
    pub attempt: i64,
    /// The robot that lost it.
    pub robot_id: Option<String>,
}

/// Sends every running job whose lease ended back to `pending` with a backoff (or to
/// `dead` after its last attempt, or `cancelled` when a cancel was asked for), in one
/// statement in the caller's transaction, so with several replicas each job is acted on
/// by exactly one.
pub async fn expire_leases(tx: &mut Tx, backoff: Backoff) -> DbResult<Vec<Expired>> {
    let sql = concat!(
        "UPDATE jobs SET ",
        retry_assignments!(),
        ", error = $4 WHERE state = 'running' AND lease_expires_at < $1 \
         RETURNING id, tenant_id, labels, state, run_after, workflow_name, attempt, robot_id"
    );
    let error = lease_expired_error();
    Ok(on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(now_ms())
        .bind(backoff.base_ms)
        .bind(backoff.max_ms)
        .bind(error.to_string())
        .fetch_all(&mut **conn)
        .await?))
}

/// The lease-expiry error every expired job carries (see [`expire_leases`]).
pub fn lease_expired_error() -> Value {
    serde_json::json!({
        "message": "the robot stopped heartbeating and its lease expired",
        "type": "application",
    })
}

/// When the earliest lease of a running job expires (Unix ms); `None` when no job runs.
pub async fn next_lease_expiry(db: &Db) -> DbResult<Option<i64>> {
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "SELECT MIN(lease_expires_at) FROM jobs WHERE state = 'running'",
    )
    .fetch_one(pool)
    .await?))
}

/// When the earliest pending job that may not run yet becomes claimable (Unix ms);
/// `None` when there is none.
pub async fn next_run_after(db: &Db) -> DbResult<Option<i64>> {
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "SELECT MIN(run_after) FROM jobs WHERE state = 'pending' AND run_after > $1",
    )
    .bind(now_ms())
    .fetch_one(pool)
    .await?))
}

/// The best pending jobs that may run now, for the sweep that wakes parked robots.
pub async fn due_pending(db: &Db, limit: i64) -> DbResult<Vec<Ready>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT id, tenant_id, labels, state, run_after FROM jobs WHERE state = 'pending' AND run_after <= $1 \
         ORDER BY priority DESC, run_after, id LIMIT $2",
    )
    .bind(now_ms())
    .bind(limit)
    .fetch_all(pool)
    .await?))
}
