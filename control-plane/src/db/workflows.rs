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
    /// Its number among the workflow's versions, from 1.
    pub number: i64,
    /// SHA-256 of the package, or of the source for a version pushed as a plain file.
    pub hash: String,
    /// The workflow file as pushed.
    pub source: String,
    /// The declared inputs (`{name: {type, default, required, secret}}`).
    pub inputs: Value,
    /// The package, unless the version was pushed as a plain workflow file.
    pub package: Option<PackageInfo>,
    /// When it was pushed (Unix ms).
    pub created_at: i64,
}

/// A version's package, kept in the blob store by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    /// The archive's SHA-256.
    pub sha256: String,
    /// The archive's size in bytes.
    pub size: i64,
    /// How many files it holds.
    pub files: i64,
    /// The workflow file's path inside it.
    pub entry: String,
    /// The assets its workflow files name (`assets.NAME`), called ones included.
    pub assets: Vec<String>,
}

/// What a push stores.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// The workflow's name.
    pub name: &'a str,
    /// The workflow file.
    pub source: &'a str,
    /// The version's hash: the package's, or the source's.
    pub hash: &'a str,
    /// The declared inputs.
    pub inputs: &'a Value,
    /// The package, if it came as one.
    pub package: Option<&'a PackageInfo>,
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
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let inputs: String = row.try_get("inputs")?;
    let sha256: Option<String> = row.try_get("package_sha256")?;
    let entry: Option<String> = row.try_get("entry")?;
    let package = match (sha256, entry) {
        (Some(sha256), Some(entry)) => Some(PackageInfo {
            sha256,
            entry,
            size: row.try_get::<Option<i64>, _>("package_size")?.unwrap_or(0),
            files: row.try_get::<Option<i64>, _>("package_files")?.unwrap_or(0),
            assets: row
                .try_get::<Option<String>, _>("package_assets")?
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(VersionRecord {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        number: row.try_get("number")?,
        hash: row.try_get("hash")?,
        source: row.try_get("source")?,
        inputs: serde_json::from_str(&inputs).unwrap_or(Value::Null),
        package,
        created_at: row.try_get("created_at")?,
    })
}

/// Stores a validated workflow (and its package) under its name; the same hash is the
/// same version. The new version, numbered after the others, becomes the latest.
pub async fn push(db: &Db, tenant_id: &str, new: &NewVersion<'_>) -> Result<Pushed, sqlx::Error> {
    let now = now_ms();
    let NewVersion {
        name,
        source,
        hash,
        package,
        ..
    } = *new;
    let inputs = new.inputs.to_string();
    let ids = on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let existing = sqlx::query("SELECT id FROM workflows WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let workflow_id: String = match existing {
            Some(row) => {
                let id: String = row.try_get("id")?;
                // Locks the workflow's row (PostgreSQL) so two pushes number apart.
                sqlx::query("UPDATE workflows SET updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
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
                let number: i64 = sqlx::query(
                    "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM workflow_versions WHERE workflow_id = $1",
                )
                .bind(&workflow_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("next")?;
                sqlx::query(
                    "INSERT INTO workflow_versions (id, tenant_id, workflow_id, number, hash, source, inputs, \
                     entry, package_sha256, package_size, package_files, package_assets, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&id)
                .bind(tenant_id)
                .bind(&workflow_id)
                .bind(number)
                .bind(hash)
                .bind(source)
                .bind(&inputs)
                .bind(package.map(|p| p.entry.clone()))
                .bind(package.map(|p| p.sha256.clone()))
                .bind(package.map(|p| p.size))
                .bind(package.map(|p| p.files))
                .bind(package.map(|p| serde_json::to_string(&p.assets).unwrap_or_default()))
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
        "SELECT id, workflow_id, number, hash, source, inputs, entry, package_sha256, package_size, package_files, \
         package_assets, created_at FROM workflow_versions WHERE tenant_id = $1 AND id = $2",
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
        "SELECT id, workflow_id, number, hash, source, inputs, entry, package_sha256, package_size, package_files, \
         package_assets, created_at FROM workflow_versions WHERE tenant_id = $1 AND workflow_id = $2 ORDER BY number DESC",
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

/// Whether a version of the tenant's workflows has the package `sha256`: what a robot of
/// the tenant may download.
pub async fn tenant_has_package(
    db: &Db,
    tenant_id: &str,
    sha256: &str,
) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => Ok(sqlx::query(
        "SELECT 1 AS found FROM workflow_versions WHERE tenant_id = $1 AND package_sha256 = $2 LIMIT 1",
    )
    .bind(tenant_id)
    .bind(sha256)
    .fetch_optional(pool)
    .await?
    .is_some()))
}
