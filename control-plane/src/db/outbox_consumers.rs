//! The cursors of outbox consumers: how far each named consumer got, and which replica
//! holds it until when. A replica claims a consumer with one conditional `UPDATE`, so
//! however many replicas try, one holds it; it renews the claim as it advances, and a
//! claim that runs out (the replica died) can be taken by another.

use super::{Db, DbResult, now_ms};
use crate::on_db;

/// Adds the consumer at `position` (the last event it has handled); a consumer that
/// exists already keeps its cursor.
pub async fn register(db: &Db, name: &str, position: i64) -> DbResult<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO outbox_consumers (name, position, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(position)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

/// Claims (or renews) the consumer for `owner` until `until` (Unix ms) when no one else
/// holds it; its position, or `None` when another replica holds it.
pub async fn claim(db: &Db, name: &str, owner: &str, until: i64) -> DbResult<Option<i64>> {
    let now = now_ms();
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "UPDATE outbox_consumers SET owner = $1, claimed_until = $2, updated_at = $3 \
         WHERE name = $4 AND (owner IS NULL OR owner = $1 OR claimed_until < $3) RETURNING position",
    )
    .bind(owner)
    .bind(until)
    .bind(now)
    .bind(name)
    .fetch_optional(pool)
    .await?))
}

/// Moves the cursor of a consumer `owner` holds to `position` and renews the claim;
/// false when `owner` no longer holds it (its claim ran out and another replica took
/// it: that one handles the events again, at least once).
pub async fn advance(
    db: &Db,
    name: &str,
    owner: &str,
    position: i64,
    until: i64,
) -> DbResult<bool> {
    let done = on_db!(db, pool => sqlx::query(
        "UPDATE outbox_consumers SET position = $1, claimed_until = $2, updated_at = $3 WHERE name = $4 AND owner = $5",
    )
    .bind(position)
    .bind(until)
    .bind(now_ms())
    .bind(name)
    .bind(owner)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Gives the consumer up (on shutdown), so another replica takes it at once.
pub async fn release(db: &Db, name: &str, owner: &str) -> DbResult<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE outbox_consumers SET owner = NULL, claimed_until = NULL WHERE name = $1 AND owner = $2",
    )
    .bind(name)
    .bind(owner)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

/// A consumer's position, `None` when there is no such consumer.
pub async fn position(db: &Db, name: &str) -> DbResult<Option<i64>> {
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "SELECT position FROM outbox_consumers WHERE name = $1"
    )
    .bind(name)
    .fetch_optional(pool)
    .await?))
}

/// The lowest position of any consumer (`None` when there is none), to warn when the
/// pruning removes events a consumer has not handled yet.
pub async fn lowest_position(db: &Db) -> DbResult<Option<(String, i64)>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT name, position FROM outbox_consumers ORDER BY position, name LIMIT 1"
    )
    .fetch_optional(pool)
    .await?))
}
