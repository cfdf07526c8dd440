//! Workflows and their versions, kept by content hash.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::{BeginWrite as _, Db, new_id, now_ms};
use crate::on_db;

/// A workflow with its latest version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkflowRecord {
    /// Its id.
    pub id: String,
    /// Its name (unique in the tenant; the workflow file's `name`).
    pub name: String,
    /// The id of the version new jobs use by default.
    pub latest_version_id: Option<String>,
    /// When it was first pushed (Unix ms).
    pub created_at: i64,
    /// When a version was last pushed (Unix ms).
    pub updated_at: i64,
}

/// One version of a workflow.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRecord {
    /// Its id.
    pub id: String,
    /// Its workflow.
    pub workflow_id: String,
    /// SHA-256 of the source.
    pub hash: String,
    /// The workflow file as pushed.
    pub source: String,
    /// The declared inputs (`{name: {type, default, required, secret}}`).
    pub inputs: Value,
    /// When it was pushed (Unix ms).
    pub created_at: i64,
}

/// Result of a push: the workflow, the version, and whether the version is new.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    /// The workflow.
    pub workflow: WorkflowRecord,
    /// The version the source has.
    pub version: VersionRecord,
    /// False when this exact source was pushed before.
    pub created: bool,
}

fn workflow_from_row<R: Row>(row: &R) -> Result<WorkflowRecord, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(WorkflowRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        latest_version_id: row.try_get("latest_version_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn version_from_row<R: Row>(row: &R) -> Result<VersionRecord, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let inputs: String = row.try_get("inputs")?;
    Ok(VersionRecord {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        hash: row.try_get("hash")?,
        source: row.try_get("source")?,
        inputs: serde_json::from_str(&inputs).unwrap_or(Value::Null),
        created_at: row.try_get("created_at")?,
    })
}

/// Stores a validated workflow source under its name; an identical source is the same
/// version. The new version becomes the latest.
pub async fn push(
    db: &Db,
    tenant_id: &str,
    name: &str,
    source: &str,
    hash: &str,
    inputs: &Value,
) -> Result<Pushed, sqlx::Error> {
    let now = now_ms();
    let inputs = inputs.to_string();
    let ids = on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let existing = sqlx::query("SELECT id FROM workflows WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let workflow_id: String = match existing {
            Some(row) => row.try_get("id")?,
            None => {
                let id = new_id();
                sqlx::query("INSERT INTO workflows (id, tenant_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                    .bind(&id)
                    .bind(tenant_id)
                    .bind(name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                id
            }
        };
        let version = sqlx::query("SELECT id FROM workflow_versions WHERE workflow_id = $1 AND hash = $2")
            .bind(&workflow_id)
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
        let (version_id, created) = match version {
            Some(row) => (row.try_get::<String, _>("id")?, false),
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO workflow_versions (id, tenant_id, workflow_id, hash, source, inputs, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(tenant_id)
                .bind(&workflow_id)
                .bind(hash)
                .bind(source)
                .bind(&inputs)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                (id, true)
            }
        };
        sqlx::query("UPDATE workflows SET latest_version_id = $1, updated_at = $2 WHERE id = $3")
            .bind(&version_id)
            .bind(now)
            .bind(&workflow_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((workflow_id, version_id, created))
    })?;
    let (workflow_id, version_id, created) = ids;
    let workflow = get(db, tenant_id, &workflow_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let version = version(db, tenant_id, &version_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Pushed {
        workflow,
        version,
        created,
    })
}

/// A workflow of the tenant by id or by name.
pub async fn get(
    db: &Db,
    tenant_id: &str,
    id_or_name: &str,
) -> Result<Option<WorkflowRecord>, sqlx::Error> {
    on_db!(db, pool => match sqlx::query(
        "SELECT id, name, latest_version_id, created_at, updated_at FROM workflows \
         WHERE tenant_id = $1 AND (id = $2 OR name = $2)",
    )
    .bind(tenant_id)
    .bind(id_or_name)
    .fetch_optional(pool)
    .await?
    {
        Some(row) => workflow_from_row(&row).map(Some),
        None => Ok(None),
    })
}

/// Every workflow of the tenant, by name.
pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<WorkflowRecord>, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT id, name, latest_version_id, created_at, updated_at FROM workflows WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(workflow_from_row)
    .collect())
}

/// A version of the tenant by id.
pub async fn version(
    db: &Db,
    tenant_id: &str,
    id: &str,
) -> Result<Option<VersionRecord>, sqlx::Error> {
    on_db!(db, pool => match sqlx::query(
        "SELECT id, workflow_id, hash, source, inputs, created_at FROM workflow_versions WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(pool)
    .await?
    {
        Some(row) => version_from_row(&row).map(Some),
        None => Ok(None),
    })
}

/// The versions of a workflow, newest first.
pub async fn versions(
    db: &Db,
    tenant_id: &str,
    workflow_id: &str,
) -> Result<Vec<VersionRecord>, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT id, workflow_id, hash, source, inputs, created_at FROM workflow_versions \
         WHERE tenant_id = $1 AND workflow_id = $2 ORDER BY created_at DESC, id",
    )
    .bind(tenant_id)
    .bind(workflow_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(version_from_row)
    .collect())
}

/// Deletes a workflow and its versions; false when there is none. Jobs keep their copy
/// of the version they ran.
pub async fn delete(db: &Db, tenant_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let done = on_db!(db, pool => sqlx::query("DELETE FROM workflows WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// How many jobs of a workflow are pending or running.
pub async fn active_jobs(db: &Db, tenant_id: &str, workflow_id: &str) -> Result<i64, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = $1 AND workflow_id = $2 AND state IN ('pending', 'running')",
    )
    .bind(tenant_id)
    .bind(workflow_id)
    .fetch_one(pool)
    .await?
    .try_get("n"))
}
