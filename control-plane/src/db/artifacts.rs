//! Artifacts of jobs (screenshots, files): the bytes live in the blob store by SHA-256;
//! this table says which job has which, under what name and content type.

use serde::Serialize;

use super::{Db, DbResult, now_ms};
use crate::on_db;

/// One artifact of a job.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Artifact {
    /// The SHA-256 of its bytes, in hex.
    pub sha256: String,
    /// The name the robot gave it.
    pub name: String,
    /// Its content type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// When it arrived (Unix ms).
    pub created_at: i64,
}

/// Records that a job has an artifact; storing it again changes nothing.
pub async fn record(db: &Db, tenant_id: &str, job_id: i64, artifact: &Artifact) -> DbResult<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO artifacts (job_id, sha256, tenant_id, name, content_type, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (job_id, sha256) DO NOTHING",
    )
    .bind(job_id)
    .bind(&artifact.sha256)
    .bind(tenant_id)
    .bind(&artifact.name)
    .bind(&artifact.content_type)
    .bind(artifact.size)
    .bind(now_ms())
    .execute(pool)
    .await?
        .rows_affected());
    Ok(())
}

/// The artifacts of a job of the tenant, oldest first.
pub async fn list(db: &Db, tenant_id: &str, job_id: i64) -> DbResult<Vec<Artifact>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT sha256, name, content_type, size, created_at FROM artifacts WHERE tenant_id = $1 AND job_id = $2 ORDER BY created_at, sha256",
    )
    .bind(tenant_id)
    .bind(job_id)
    .fetch_all(pool)
    .await?))
}

/// One artifact of a job of the tenant.
pub async fn get(
    db: &Db,
    tenant_id: &str,
    job_id: i64,
    sha256: &str,
) -> DbResult<Option<Artifact>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT sha256, name, content_type, size, created_at FROM artifacts WHERE tenant_id = $1 AND job_id = $2 AND sha256 = $3",
    )
    .bind(tenant_id)
    .bind(job_id)
    .bind(sha256)
    .fetch_optional(pool)
    .await?))
}
