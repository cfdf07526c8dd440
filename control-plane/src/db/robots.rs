//! Robots: registered with a registration token, matched to jobs by their labels, seen
//! when they call, and managed by admins (disabled, enabled, deleted). One record for
//! the `robots` table serves the robot protocol and the people's API alike.

use serde::Serialize;

use super::column::Text;
use super::{Db, DbResult, Tx, new_id, now_ms};
use crate::{on_db, on_tx};

/// A registered robot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RobotRecord {
    /// Its id.
    pub id: String,
    /// Its tenant (not shown: every answer is of the caller's tenant).
    #[serde(skip)]
    pub tenant_id: String,
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
    #[sqlx(try_from = "Text")]
    pub labels: Vec<String>,
    /// The browsers it can drive.
    #[sqlx(try_from = "Text")]
    pub browsers: Vec<String>,
    /// Whether it is refused work.
    pub disabled: bool,
    /// When it last called the control plane (Unix ms), if ever.
    #[sqlx(rename = "last_seen")]
    pub last_seen_at: Option<i64>,
    /// When it said goodbye on a clean stop (Unix ms); null once it calls again.
    pub stopped_at: Option<i64>,
    /// When it registered (Unix ms).
    pub created_at: i64,
    /// What its last robot event said: `online`, `busy` or `offline` (the API shows
    /// `status`, worked out from the times, instead).
    #[serde(skip)]
    pub presence: String,
}

/// The columns of a [`RobotRecord`], as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, tenant_id, name, hostname, os, arch, version, labels, browsers, disabled, last_seen, stopped_at, created_at, presence"
    };
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

/// Creates the robot, or updates the robot of that name in the tenant and revokes its
/// old tokens (a reinstalled machine registers again under its name), in the caller's
/// transaction. Its labels are replaced too. Returns the robot's id.
pub async fn register(tx: &mut Tx, tenant_id: &str, robot: &Registration<'_>) -> DbResult<String> {
    let now = now_ms();
    let labels = serde_json::to_string(robot.labels).unwrap_or_else(|_| "[]".into());
    let browsers = serde_json::to_string(robot.browsers).unwrap_or_else(|_| "[]".into());
    on_tx!(tx, conn => {
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM robots WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(robot.name)
                .fetch_optional(&mut **conn)
                .await?;
        let id: String = match existing {
            Some(id) => {
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
                .execute(&mut **conn)
                .await?;
                sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE robot_id = $2 AND kind = 'rbt' AND revoked_at IS NULL")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut **conn)
                    .await?;
                sqlx::query("DELETE FROM robot_labels WHERE robot_id = $1")
                    .bind(&id)
                    .execute(&mut **conn)
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
                .execute(&mut **conn)
                .await?;
                id
            }
        };
        for label in robot.labels {
            sqlx::query("INSERT INTO robot_labels (robot_id, label) VALUES ($1, $2)")
                .bind(&id)
                .bind(label)
                .execute(&mut **conn)
                .await?;
        }
        Ok(id)
    })
}

/// A robot by id, of any tenant (for the robot token's owner).
pub async fn get_any(db: &Db, id: &str) -> DbResult<Option<RobotRecord>> {
    let sql = concat!("SELECT ", columns!(), " FROM robots WHERE id = $1");
    Ok(on_db!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
}

/// One robot of a tenant.
pub async fn get(db: &Db, tenant_id: &str, id: &str) -> DbResult<Option<RobotRecord>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM robots WHERE tenant_id = $1 AND id = $2"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// The robots of a tenant by name.
pub async fn list(db: &Db, tenant_id: &str) -> DbResult<Vec<RobotRecord>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM robots WHERE tenant_id = $1 ORDER BY name, id"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql).bind(tenant_id).fetch_all(pool).await?))
}

/// The running jobs of a tenant's robots: `(robot id, job id)`, oldest job first.
pub async fn running_jobs(db: &Db, tenant_id: &str) -> DbResult<Vec<(String, i64)>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT robot_id, id FROM jobs WHERE tenant_id = $1 AND state = 'running' AND robot_id IS NOT NULL ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?))
}

/// Notes that the robot called (lease, heartbeat), for its online status.
pub async fn touch(db: &Db, id: &str) -> DbResult<()> {
    seen_at(db, id, now_ms()).await.map(|_| ())
}

/// Records that the robot was last seen at `at` (Unix ms), which also undoes an earlier
/// goodbye; false when it no longer exists.
pub async fn seen_at(db: &Db, id: &str, at: i64) -> DbResult<bool> {
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
pub async fn goodbye(db: &Db, id: &str) -> DbResult<bool> {
    let done = on_db!(db, pool => sqlx::query("UPDATE robots SET last_seen = $1, stopped_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// Disables or enables a robot in the caller's transaction; false when the tenant has
/// no such robot.
pub async fn set_disabled(
    tx: &mut Tx,
    tenant_id: &str,
    id: &str,
    disabled: bool,
) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE robots SET disabled = $1 WHERE tenant_id = $2 AND id = $3",
    )
    .bind(disabled)
    .bind(tenant_id)
    .bind(id)
    .execute(&mut **conn)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Deletes a robot and revokes its robot tokens in the caller's transaction; false when
/// the tenant has no such robot. Its running job, if any, is retried when the lease
/// expires.
pub async fn delete(tx: &mut Tx, tenant_id: &str, id: &str) -> DbResult<bool> {
    let deleted = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE tenant_id = $2 AND robot_id = $3 AND kind = 'rbt' AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(tenant_id)
        .bind(id)
        .execute(&mut **conn)
        .await?;
        sqlx::query("DELETE FROM robots WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    Ok(deleted == 1)
}
