//! Robots: registered with a registration token, matched to jobs by their labels.

use serde::Serialize;
use sqlx::Row;

use super::{BeginWrite as _, Db, new_id, now_ms};
use crate::on_db;

/// A registered robot.
#[derive(Debug, Clone, Serialize)]
pub struct RobotRecord {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The machine's host name.
    pub hostname: String,
    /// Its operating system.
    pub os: String,
    /// Its CPU architecture.
    pub arch: String,
    /// Its alq version.
    pub version: String,
    /// Its labels: a job runs on it only when it has all of the job's labels.
    pub labels: Vec<String>,
    /// The browsers it can drive.
    pub browsers: Vec<String>,
    /// A disabled robot leases nothing.
    pub disabled: bool,
    /// When it last called (Unix ms).
    pub last_seen: Option<i64>,
    /// When it first registered (Unix ms).
    pub created_at: i64,
}

/// What a robot says about itself when it registers.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its host name.
    pub hostname: &'a str,
    /// Its operating system.
    pub os: &'a str,
    /// Its CPU architecture.
    pub arch: &'a str,
    /// Its alq version.
    pub version: &'a str,
    /// Every label it has (already merged with the registration token's).
    pub labels: &'a [String],
    /// Its browsers.
    pub browsers: &'a [String],
}

fn from_row<R: Row>(row: &R) -> Result<RobotRecord, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let labels: String = row.try_get("labels")?;
    let browsers: String = row.try_get("browsers")?;
    Ok(RobotRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        hostname: row.try_get("hostname")?,
        os: row.try_get("os")?,
        arch: row.try_get("arch")?,
        version: row.try_get("version")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        browsers: serde_json::from_str(&browsers).unwrap_or_default(),
        disabled: row.try_get("disabled")?,
        last_seen: row.try_get("last_seen")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates the robot, or updates the robot of that name in the tenant and revokes its
/// old tokens (a reinstalled machine registers again under its name). Its labels are
/// replaced in the same transaction. Returns the robot's id.
pub async fn register(
    db: &Db,
    tenant_id: &str,
    robot: &Registration<'_>,
) -> Result<String, sqlx::Error> {
    let now = now_ms();
    let labels = serde_json::to_string(robot.labels).unwrap_or_else(|_| "[]".into());
    let browsers = serde_json::to_string(robot.browsers).unwrap_or_else(|_| "[]".into());
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let existing = sqlx::query("SELECT id FROM robots WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(robot.name)
            .fetch_optional(&mut *tx)
            .await?;
        let id: String = match existing {
            Some(row) => {
                let id: String = row.try_get("id")?;
                sqlx::query(
                    "UPDATE robots SET hostname = $1, os = $2, arch = $3, version = $4, labels = $5, browsers = $6, last_seen = $7 WHERE id = $8",
                )
                .bind(robot.hostname)
                .bind(robot.os)
                .bind(robot.arch)
                .bind(robot.version)
                .bind(&labels)
                .bind(&browsers)
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE robot_id = $2 AND kind = 'rbt' AND revoked_at IS NULL")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM robot_labels WHERE robot_id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO robots (id, tenant_id, name, hostname, os, arch, version, labels, browsers, last_seen, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                )
                .bind(&id)
                .bind(tenant_id)
                .bind(robot.name)
                .bind(robot.hostname)
                .bind(robot.os)
                .bind(robot.arch)
                .bind(robot.version)
                .bind(&labels)
                .bind(&browsers)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        for label in robot.labels {
            sqlx::query("INSERT INTO robot_labels (robot_id, label) VALUES ($1, $2)")
                .bind(&id)
                .bind(label)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    })
}

/// A robot by id.
pub async fn get(db: &Db, id: &str) -> Result<Option<RobotRecord>, sqlx::Error> {
    on_db!(db, pool => match sqlx::query(
        "SELECT id, tenant_id, name, hostname, os, arch, version, labels, browsers, disabled, last_seen, created_at FROM robots WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    {
        Some(row) => from_row(&row).map(Some),
        None => Ok(None),
    })
}

/// Notes that the robot called (lease, heartbeat), for its online status.
pub async fn touch(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    seen_at(db, id, now_ms()).await.map(|_| ())
}

/// Records that the robot was last seen at `at` (Unix ms), which also undoes an earlier
/// goodbye; false when it no longer exists.
pub async fn seen_at(db: &Db, id: &str, at: i64) -> Result<bool, sqlx::Error> {
    let done = on_db!(db, pool => sqlx::query("UPDATE robots SET last_seen = $1, stopped_at = NULL WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// Records that the robot said goodbye (it stopped cleanly): it is offline from now
/// until it calls again. False when it no longer exists.
pub async fn goodbye(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let done = on_db!(db, pool => sqlx::query("UPDATE robots SET last_seen = $1, stopped_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(done == 1)
}
