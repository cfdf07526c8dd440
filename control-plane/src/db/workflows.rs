//! Workflows and their versions, kept by content hash.

use serde::Serialize;
use serde_json::Value;

use super::column::Text;
use super::{Db, DbResult, Tx, new_id, now_ms};
use crate::{on_db, on_tx};

/// A workflow with its latest version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
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
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
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
    #[sqlx(try_from = "Text")]
    pub inputs: Value,
    /// The package, unless the version was pushed as a plain workflow file.
    #[sqlx(flatten, try_from = "PackageColumns")]
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

/// The package columns of a version row, all NULL for a plain workflow file.
#[derive(sqlx::FromRow)]
struct PackageColumns {
    package_sha256: Option<String>,
    entry: Option<String>,
    package_size: Option<i64>,
    package_files: Option<i64>,
    #[sqlx(try_from = "Text")]
    package_assets: Option<Vec<String>>,
}

impl From<PackageColumns> for Option<PackageInfo> {
    fn from(columns: PackageColumns) -> Self {
        Some(PackageInfo {
            sha256: columns.package_sha256?,
            entry: columns.entry?,
            size: columns.package_size.unwrap_or(0),
            files: columns.package_files.unwrap_or(0),
            assets: columns.package_assets.unwrap_or_default(),
        })
    }
}

/// The columns of a [`VersionRecord`], as a literal for `concat!`.
macro_rules! version_columns {
    () => {
        "id, workflow_id, number, hash, source, inputs, entry, package_sha256, package_size, package_files, package_assets, created_at"
    };
}

/// Stores a validated workflow (and its package) under its name; the same hash is the
/// same version. The new version, numbered after the others, becomes the latest. In the
/// caller's transaction.
pub async fn push(tx: &mut Tx, tenant_id: &str, new: &NewVersion<'_>) -> DbResult<Pushed> {
    let now = now_ms();
    let NewVersion {
        name,
        source,
        hash,
        package,
        ..
    } = *new;
    let inputs = new.inputs.to_string();
    let (workflow, version, created) = on_tx!(tx, conn => {
        let existing: Option<String> = sqlx::query_scalar("SELECT id FROM workflows WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&mut **conn)
            .await?;
        let workflow_id: String = match existing {
            Some(id) => {
                // Locks the workflow's row (PostgreSQL) so two pushes number apart.
                sqlx::query("UPDATE workflows SET updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut **conn)
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
                    .execute(&mut **conn)
                    .await?;
                id
            }
        };
        let version: Option<String> = sqlx::query_scalar("SELECT id FROM workflow_versions WHERE workflow_id = $1 AND hash = $2")
            .bind(&workflow_id)
            .bind(hash)
            .fetch_optional(&mut **conn)
            .await?;
        let (version_id, created) = match version {
            Some(id) => (id, false),
            None => {
                let id = new_id();
                let number: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM workflow_versions WHERE workflow_id = $1",
                )
                .bind(&workflow_id)
                .fetch_one(&mut **conn)
                .await?;
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
                .execute(&mut **conn)
                .await?;
                (id, true)
            }
        };
        sqlx::query("UPDATE workflows SET latest_version_id = $1, updated_at = $2 WHERE id = $3")
            .bind(&version_id)
            .bind(now)
            .bind(&workflow_id)
            .execute(&mut **conn)
            .await?;
        let workflow: WorkflowRecord = sqlx::query_as(
            "SELECT id, name, latest_version_id, created_at, updated_at FROM workflows WHERE id = $1",
        )
        .bind(&workflow_id)
        .fetch_one(&mut **conn)
        .await?;
        let version: VersionRecord = sqlx::query_as(concat!("SELECT ", version_columns!(), " FROM workflow_versions WHERE id = $1"))
            .bind(&version_id)
            .fetch_one(&mut **conn)
            .await?;
        (workflow, version, created)
    });
    Ok(Pushed {
        workflow,
        version,
        created,
    })
}

/// A workflow of the tenant by id or by name.
pub async fn get(db: &Db, tenant_id: &str, id_or_name: &str) -> DbResult<Option<WorkflowRecord>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT id, name, latest_version_id, created_at, updated_at FROM workflows \
         WHERE tenant_id = $1 AND (id = $2 OR name = $2)",
    )
    .bind(tenant_id)
    .bind(id_or_name)
    .fetch_optional(pool)
    .await?))
}

/// Every workflow of the tenant, by name.
pub async fn list(db: &Db, tenant_id: &str) -> DbResult<Vec<WorkflowRecord>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT id, name, latest_version_id, created_at, updated_at FROM workflows WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?))
}

/// A version of the tenant by id.
pub async fn version(db: &Db, tenant_id: &str, id: &str) -> DbResult<Option<VersionRecord>> {
    let sql = concat!(
        "SELECT ",
        version_columns!(),
        " FROM workflow_versions WHERE tenant_id = $1 AND id = $2"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// The versions of a workflow, newest first.
pub async fn versions(db: &Db, tenant_id: &str, workflow_id: &str) -> DbResult<Vec<VersionRecord>> {
    let sql = concat!(
        "SELECT ",
        version_columns!(),
        " FROM workflow_versions WHERE tenant_id = $1 AND workflow_id = $2 ORDER BY number DESC"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql)
        .bind(tenant_id)
        .bind(workflow_id)
        .fetch_all(pool)
        .await?))
}

/// Deletes a workflow and its versions in the caller's transaction; false when there is
/// none. Jobs keep their copy of the version they ran.
pub async fn delete(tx: &mut Tx, tenant_id: &str, id: &str) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query("DELETE FROM workflows WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id)
        .bind(id)
        .execute(&mut **conn)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// How many jobs of a workflow are pending or running.
pub async fn active_jobs(db: &Db, tenant_id: &str, workflow_id: &str) -> DbResult<i64> {
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = $1 AND workflow_id = $2 AND state IN ('pending', 'running')",
    )
    .bind(tenant_id)
    .bind(workflow_id)
    .fetch_one(pool)
    .await?))
}

/// Whether a version of the tenant's workflows has the package `sha256`: what a robot of
/// the tenant may download.
pub async fn tenant_has_package(db: &Db, tenant_id: &str, sha256: &str) -> DbResult<bool> {
    let found: Option<i32> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT 1 AS found FROM workflow_versions WHERE tenant_id = $1 AND package_sha256 = $2 LIMIT 1",
    )
    .bind(tenant_id)
    .bind(sha256)
    .fetch_optional(pool)
    .await?);
    Ok(found.is_some())
}
