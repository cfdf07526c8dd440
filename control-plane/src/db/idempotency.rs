//! Stored answers of creating calls made with an `Idempotency-Key`, per tenant. The
//! answer is stored in the transaction that makes the objects, so there is never a job
//! without its stored answer or the reverse.

use serde_json::Value;

use super::column::Text;
use super::{Db, DbResult, Tx};
use crate::{on_db, on_tx};

/// The first answer to a key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    /// What was asked (`jobs.create`, `jobs.create_bulk`).
    pub operation: String,
    /// The hash of the request the key came with.
    pub request_hash: String,
    /// The HTTP status answered.
    pub status: i64,
    /// The body answered.
    #[sqlx(try_from = "Text")]
    pub response: Value,
    /// When (Unix ms).
    pub created_at: i64,
}

/// What to store for a key.
#[derive(Debug, Clone)]
pub struct Remember<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The key as the client sent it.
    pub key: &'a str,
    /// What was asked.
    pub operation: &'a str,
    /// The hash of the request.
    pub request_hash: &'a str,
    /// The HTTP status answered.
    pub status: i64,
    /// The body answered.
    pub response: &'a Value,
    /// Now (Unix ms).
    pub now: i64,
    /// An answer stored before this (Unix ms) has expired and may be replaced.
    pub expired_before: i64,
}

/// The answer stored for `key` in the tenant since `since` (Unix ms), if any.
pub async fn find(db: &Db, tenant_id: &str, key: &str, since: i64) -> DbResult<Option<Stored>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT operation, request_hash, status, response, created_at FROM idempotency_keys \
         WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at >= $3",
    )
    .bind(tenant_id)
    .bind(key)
    .bind(since)
    .fetch_optional(pool)
    .await?))
}

/// Stores the answer for a key in the caller's transaction; false when the key has a
/// live answer already (a concurrent request with the same key committed first: on
/// PostgreSQL this waits for it). An expired answer is replaced.
pub async fn remember(tx: &mut Tx, answer: &Remember<'_>) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, idempotency_key, operation, request_hash, status, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET operation = excluded.operation, \
         request_hash = excluded.request_hash, status = excluded.status, response = excluded.response, \
         created_at = excluded.created_at WHERE idempotency_keys.created_at < $8",
    )
    .bind(answer.tenant_id)
    .bind(answer.key)
    .bind(answer.operation)
    .bind(answer.request_hash)
    .bind(answer.status)
    .bind(answer.response.to_string())
    .bind(answer.now)
    .bind(answer.expired_before)
    .execute(&mut **conn)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Deletes the answers stored before `before` (Unix ms); how many.
pub async fn prune(db: &Db, before: i64) -> DbResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()),
    )
}
