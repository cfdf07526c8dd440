//! Robots as people manage them: listed, disabled, enabled and deleted. Registration
//! and marking robots seen belong to the robot protocol (`db::robots`).

use serde::Serialize;
use sqlx::Row;

use super::{BeginWrite as _, Db, now_ms};
use crate::on_db;

/// A stored robot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RobotRecord {
    /// Its id.
    pub id: String,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The machine it runs on.
    pub hostname: String,
    /// Its operating system.
    pub os: String,
    /// Its CPU architecture.
    pub arch: String,
    /// The alq version it runs.
    pub version: String,
    /// What jobs it may take (a job's labels must all be among them).
    pub labels: Vec<String>,
    /// The browsers it can drive.
    pub browsers: Vec<String>,
    /// Whether it is refused work.
    pub disabled: bool,
    /// When it last called the control plane (Unix ms), if ever.
    pub last_seen_at: Option<i64>,
    /// When it said goodbye on a clean stop (Unix ms); null once it calls again.
    pub stopped_at: Option<i64>,
    /// When it registered (Unix ms).
    pub created_at: i64,
}

/// The columns `from_row` reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, name, hostname, os, arch, version, labels, browsers, disabled, last_seen, stopped_at, created_at"
    };
}

fn from_row<R: Row>(row: &R) -> Result<RobotRecord, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let labels: String = row.try_get("labels")?;
    let browsers: String = row.try_get("browsers")?;
    Ok(RobotRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        hostname: row.try_get("hostname")?,
        os: row.try_get("os")?,
        arch: row.try_get("arch")?,
        version: row.try_get("version")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        browsers: serde_json::from_str(&browsers).unwrap_or_default(),
        disabled: row.try_get("disabled")?,
        last_seen_at: row.try_get("last_seen")?,
        stopped_at: row.try_get("stopped_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The robots of a tenant by name.
pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<RobotRecord>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM robots WHERE tenant_id = $1 ORDER BY name, id"
    );
    on_db!(db, pool => sqlx::query(sql)
        .bind(tenant_id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(from_row)
        .collect())
}

/// One robot of a tenant.
pub async fn get(db: &Db, tenant_id: &str, id: &str) -> Result<Option<RobotRecord>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM robots WHERE tenant_id = $1 AND id = $2"
    );
    on_db!(db, pool => match sqlx::query(sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(pool)
        .await?
    {
        Some(row) => from_row(&row).map(Some),
        None => Ok(None),
    })
}

/// The running jobs of a tenant's robots: `(robot id, job id)`, oldest job first.
pub async fn running_jobs(db: &Db, tenant_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT robot_id, id FROM jobs WHERE tenant_id = $1 AND state = 'running' AND robot_id IS NOT NULL ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("robot_id")?, row.try_get("id")?)))
    .collect())
}

/// Disables or enables a robot; false when the tenant has no such robot.
pub async fn set_disabled(
    db: &Db,
    tenant_id: &str,
    id: &str,
    disabled: bool,
) -> Result<bool, sqlx::Error> {
    let done = on_db!(db, pool => sqlx::query(
        "UPDATE robots SET disabled = $1 WHERE tenant_id = $2 AND id = $3",
    )
    .bind(disabled)
    .bind(tenant_id)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Deletes a robot and revokes its robot tokens in one transaction; false when the
/// tenant has no such robot. Its running job, if any, is retried when the lease expires.
pub async fn delete(db: &Db, tenant_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let deleted = on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE tenant_id = $2 AND robot_id = $3 AND kind = 'rbt' AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM robots WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        deleted
    });
    Ok(deleted == 1)
}
