//! What the robot events last said about each robot (`robots.presence`: `online`,
//! `busy`, `offline`). Each change is one conditional `UPDATE` in the transaction that
//! writes its event, so a change is announced once, whichever replica sees it first.

use super::{DbResult, Tx, now_ms};
use crate::on_tx;

/// A robot whose presence changed: `(tenant id, name)`.
pub type Changed = Option<(String, String)>;

/// The robot called while it was offline (new, said goodbye, or fell silent): online
/// now, and seen now.
pub async fn came_online(tx: &mut Tx, robot_id: &str) -> DbResult<Changed> {
    Ok(on_tx!(tx, conn => sqlx::query_as(
        "UPDATE robots SET presence = 'online', last_seen = $1, stopped_at = NULL WHERE id = $2 AND presence = 'offline' \
         RETURNING tenant_id, name",
    )
    .bind(now_ms())
    .bind(robot_id)
    .fetch_optional(&mut **conn)
    .await?))
}

/// The robot leased a job: busy, unless it was already.
pub async fn became_busy(tx: &mut Tx, robot_id: &str) -> DbResult<Changed> {
    Ok(on_tx!(tx, conn => sqlx::query_as(
        "UPDATE robots SET presence = 'busy' WHERE id = $1 AND presence <> 'busy' RETURNING tenant_id, name",
    )
    .bind(robot_id)
    .fetch_optional(&mut **conn)
    .await?))
}

/// An attempt of the robot ended: online again when it was busy and runs no other job.
pub async fn became_idle(tx: &mut Tx, robot_id: &str) -> DbResult<Changed> {
    Ok(on_tx!(tx, conn => sqlx::query_as(
        "UPDATE robots SET presence = 'online' WHERE id = $1 AND presence = 'busy' \
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE robot_id = $1 AND state = 'running') RETURNING tenant_id, name",
    )
    .bind(robot_id)
    .fetch_optional(&mut **conn)
    .await?))
}

/// The robot said goodbye: offline, unless it was already.
pub async fn went_offline(tx: &mut Tx, robot_id: &str) -> DbResult<Changed> {
    Ok(on_tx!(tx, conn => sqlx::query_as(
        "UPDATE robots SET presence = 'offline' WHERE id = $1 AND presence <> 'offline' RETURNING tenant_id, name",
    )
    .bind(robot_id)
    .fetch_optional(&mut **conn)
    .await?))
}

/// Robots not seen since `before` (Unix ms) that were online or busy: offline now.
/// `(robot id, tenant id, name)` of each.
pub async fn fell_silent(tx: &mut Tx, before: i64) -> DbResult<Vec<(String, String, String)>> {
    Ok(on_tx!(tx, conn => sqlx::query_as(
        "UPDATE robots SET presence = 'offline' WHERE presence <> 'offline' AND (last_seen IS NULL OR last_seen < $1) \
         RETURNING id, tenant_id, name",
    )
    .bind(before)
    .fetch_all(&mut **conn)
    .await?))
}
