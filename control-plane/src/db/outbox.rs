//! The outbox: every domain event, written in the transaction of the change that caused
//! it, read back in id order by the event stream (`Last-Event-ID` resume) and by outbox
//! consumers from their own cursor, and pruned after the retention.
//!
//! Ids must be committed in the order they were given, or a reader that saw id 8 could
//! later find a 7 committed after it and skip it for good. SQLite has one writer at a
//! time, so that holds by itself. On PostgreSQL two transactions take ids from the
//! sequence concurrently and may commit in the other order, so [`append`] first takes a
//! transaction-level advisory lock: from the id to the commit, one writer at a time.
//! Appending is the last statement of a transaction, so the lock is held only for the
//! commit and cannot be part of a deadlock.

use super::column::Text;
use super::{Db, DbResult, Tx};
use crate::on_db;

/// The PostgreSQL advisory lock key that orders outbox writers ("alq outbox").
const OUTBOX_LOCK: i64 = 0x616c_715f_6f75_7462;

/// An event to store.
#[derive(Debug, Clone)]
pub struct NewRow {
    /// Its tenant.
    pub tenant_id: String,
    /// Its kind's name.
    pub kind: &'static str,
    /// The job it is about.
    pub job_id: Option<i64>,
    /// What it says (JSON).
    pub payload: String,
    /// When (Unix ms).
    pub created_at: i64,
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    /// The event id.
    pub id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// Its kind's name.
    pub kind: String,
    /// The job it is about.
    pub job_id: Option<i64>,
    /// What it says.
    #[sqlx(try_from = "Text")]
    pub payload: serde_json::Value,
    /// When (Unix ms).
    pub created_at: i64,
}

/// Stores events in the caller's transaction, as its last statement; their ids, in order.
pub async fn append(tx: &mut Tx, rows: &[NewRow]) -> DbResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    match tx {
        // One statement takes the lock and inserts every row, so the lock is held for
        // one round trip and the commit, not one per row.
        Tx::Postgres(conn) => {
            let mut ids: Vec<i64> = sqlx::query_scalar(
                "WITH ordered AS (SELECT pg_advisory_xact_lock($1)) \
                 INSERT INTO outbox (tenant_id, kind, job_id, payload, created_at) \
                 SELECT t, k, j, p, c FROM ordered, UNNEST($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[]) \
                 WITH ORDINALITY AS r(t, k, j, p, c, n) ORDER BY n RETURNING id",
            )
            .bind(OUTBOX_LOCK)
            .bind(rows.iter().map(|r| r.tenant_id.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.job_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.payload.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .fetch_all(&mut **conn)
            .await?;
            // The rows take their ids in the order they are inserted (`ORDER BY n`);
            // RETURNING itself promises no order.
            ids.sort_unstable();
            Ok(ids)
        }
        Tx::Sqlite(conn) => {
            let mut ids = Vec::with_capacity(rows.len());
            for row in rows {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO outbox (tenant_id, kind, job_id, payload, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&row.tenant_id)
                .bind(row.kind)
                .bind(row.job_id)
                .bind(&row.payload)
                .bind(row.created_at)
                .fetch_one(&mut **conn)
                .await?;
                ids.push(id);
            }
            Ok(ids)
        }
    }
}

macro_rules! columns {
    () => {
        "id, tenant_id, kind, job_id, payload, created_at"
    };
}

/// A tenant's events after the event `after`, oldest first; only those of `job_id` when
/// given.
pub async fn after_in_tenant(
    db: &Db,
    tenant_id: &str,
    job_id: Option<i64>,
    after: i64,
    limit: i64,
) -> DbResult<Vec<Row>> {
    // Two texts rather than `($2 IS NULL OR job_id = $2)`: PostgreSQL's generic plan for
    // the latter cannot use the (tenant, job, id) index.
    let rows = match job_id {
        Some(job_id) => on_db!(db, pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), " FROM outbox WHERE tenant_id = $1 AND job_id = $2 AND id > $3 ORDER BY id LIMIT $4"
        ))
        .bind(tenant_id)
        .bind(job_id)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?),
        None => on_db!(db, pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), " FROM outbox WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?),
    };
    Ok(rows)
}

/// Every tenant's events after the event `after`, oldest first (for consumers).
pub async fn after(db: &Db, after: i64, limit: i64) -> DbResult<Vec<Row>> {
    Ok(on_db!(db, pool => sqlx::query_as(concat!(
        "SELECT ", columns!(), " FROM outbox WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// The latest event id of the tenant (every tenant when `None`); 0 when there is none.
pub async fn last_id(db: &Db, tenant_id: Option<&str>) -> DbResult<i64> {
    let id: Option<i64> = match tenant_id {
        Some(tenant_id) => on_db!(db, pool => sqlx::query_scalar(
            "SELECT MAX(id) FROM outbox WHERE tenant_id = $1"
        )
        .bind(tenant_id)
        .fetch_one(pool)
        .await?),
        None => on_db!(db, pool => sqlx::query_scalar("SELECT MAX(id) FROM outbox")
            .fetch_one(pool)
            .await?),
    };
    Ok(id.unwrap_or(0))
}

/// The newest event id stored before `before` (Unix ms); 0 when there is none.
pub async fn last_before(db: &Db, before: i64) -> DbResult<i64> {
    let id: Option<i64> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT MAX(id) FROM outbox WHERE created_at < $1"
    )
    .bind(before)
    .fetch_one(pool)
    .await?);
    Ok(id.unwrap_or(0))
}

/// Deletes the events stored before `before` (Unix ms); how many.
pub async fn prune(db: &Db, before: i64) -> DbResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query("DELETE FROM outbox WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()),
    )
}
