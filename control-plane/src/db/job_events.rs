//! Step events of jobs, numbered by the robot within each attempt; a number received
//! twice is kept once, so a robot may resend a batch it is unsure about.

use serde::Serialize;
use serde_json::Value;

use super::column::Text;
use super::{Db, DbResult, Tx, now_ms};
use crate::{on_db, on_tx};

/// One stored event.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JobEvent {
    /// Its number across the job's attempts, growing (the `after` cursor).
    pub id: i64,
    /// The attempt it belongs to.
    pub attempt: i64,
    /// Its number within the attempt, as the robot sent it.
    pub seq: i64,
    /// The event (a `RunEvent` in practice).
    #[sqlx(rename = "payload", try_from = "Text")]
    pub event: Value,
    /// When it arrived (Unix ms).
    pub received_at: i64,
}

/// Stores a batch of events of one attempt in the caller's transaction; returns the
/// new ones (a number stored before is skipped), in the order given.
pub async fn append(
    tx: &mut Tx,
    tenant_id: &str,
    job_id: i64,
    attempt: i64,
    events: &[(i64, Value)],
) -> DbResult<Vec<(i64, Value)>> {
    let now = now_ms();
    let mut added = Vec::new();
    for (seq, event) in events {
        let new: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
            "INSERT INTO job_events (job_id, attempt, seq, tenant_id, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (job_id, attempt, seq) DO NOTHING RETURNING seq",
        )
        .bind(job_id)
        .bind(attempt)
        .bind(seq)
        .bind(tenant_id)
        .bind(event.to_string())
        .bind(now)
        .fetch_optional(&mut **conn)
        .await?);
        if new.is_some() {
            added.push((*seq, event.clone()));
        }
    }
    Ok(added)
}

/// The events of a job of the tenant after the event `after` (an `id`), oldest first.
pub async fn list(
    db: &Db,
    tenant_id: &str,
    job_id: i64,
    after: i64,
    limit: i64,
) -> DbResult<Vec<JobEvent>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT id, attempt, seq, payload, received_at FROM job_events \
         WHERE tenant_id = $1 AND job_id = $2 AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(tenant_id)
    .bind(job_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}
