//! The audit log: who changed what, when. An entry is written in the transaction of the
//! change it records, so there is never a change without its entry or the reverse.

use serde::Serialize;
use serde_json::Value;

use super::column::Text;
use super::{Db, DbResult, Tx, now_ms};
use crate::{on_db, on_tx};

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    /// Its number, growing.
    pub id: i64,
    /// Who: `token:<id>`, `robot:<id>`, `trigger:<id>` or `system`.
    pub actor: String,
    /// What, e.g. `job.create`.
    pub action: String,
    /// To what, e.g. `job:42`.
    pub target: String,
    /// More about it.
    #[sqlx(try_from = "Text")]
    pub details: Value,
    /// When (Unix ms).
    pub at: i64,
}

/// Records a change in the transaction that makes it.
pub async fn record(
    tx: &mut Tx,
    tenant_id: &str,
    actor: &str,
    action: &str,
    target: &str,
    details: Value,
) -> DbResult<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, target, details, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(details.to_string())
    .bind(now_ms())
    .execute(&mut **conn)
    .await?
        .rows_affected());
    Ok(())
}

/// The newest entries of a tenant, before `before` (an entry id) when given.
pub async fn list(
    db: &Db,
    tenant_id: &str,
    before: Option<i64>,
    limit: i64,
) -> DbResult<Vec<AuditEntry>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT id, actor, action, target, details, at FROM audit_log \
         WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?))
}
