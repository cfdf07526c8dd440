//! The numbers `/metrics` counts from the database when it is scraped.

use sqlx::Row;

use super::Db;
use crate::on_db;

/// How many jobs are in each state, across tenants, in one `GROUP BY`.
pub async fn jobs_by_state(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_db!(db, pool => sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("state")?, row.try_get("n")?)))
        .collect())
}

/// How many enabled robots called since `seen_since` (Unix ms) and have not said
/// goodbye since, across tenants.
pub async fn robots_online(db: &Db, seen_since: i64) -> Result<i64, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT COUNT(*) AS n FROM robots WHERE disabled = FALSE AND last_seen >= $1 AND stopped_at IS NULL",
    )
    .bind(seen_since)
    .fetch_one(pool)
    .await?
    .try_get("n"))
}
