//! The audit log: who changed what, when.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::{Db, now_ms};
use crate::on_db;

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Its number, growing.
    pub id: i64,
    /// Who: `token:<id>` or `robot:<id>`.
    pub actor: String,
    /// What, e.g. `job.create`.
    pub action: String,
    /// To what, e.g. `job:42`.
    pub target: String,
    /// More about it.
    pub details: Value,
    /// When (Unix ms).
    pub at: i64,
}

/// Records a change.
pub async fn record(
    db: &Db,
    tenant_id: &str,
    actor: &str,
    action: &str,
    target: &str,
    details: Value,
) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, target, details, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(details.to_string())
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|_| ()))
}

/// The newest entries of a tenant, before `before` (an entry id) when given.
pub async fn list(
    db: &Db,
    tenant_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT id, actor, action, target, details, at FROM audit_log \
         WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        let details: String = row.try_get("details")?;
        Ok(AuditEntry {
            id: row.try_get("id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            details: serde_json::from_str(&details).unwrap_or(Value::Null),
            at: row.try_get("at")?,
        })
    })
    .collect())
}
