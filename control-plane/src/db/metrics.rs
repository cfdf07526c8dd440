//! The numbers `/metrics` counts from the database when it is scraped.

use super::{Db, DbResult};
use crate::on_db;

/// How many jobs are in each state, across tenants, in one `GROUP BY`.
pub async fn jobs_by_state(db: &Db) -> DbResult<Vec<(String, i64)>> {
    Ok(
        on_db!(db, pool => sqlx::query_as("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        .fetch_all(pool)
        .await?),
    )
}

/// How many enabled robots called since `seen_since` (Unix ms) and have not said
/// goodbye since, across tenants.
pub async fn robots_online(db: &Db, seen_since: i64) -> DbResult<i64> {
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM robots WHERE disabled = FALSE AND last_seen >= $1 AND stopped_at IS NULL",
    )
    .bind(seen_since)
    .fetch_one(pool)
    .await?))
}
