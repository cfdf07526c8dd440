//! Tenants.

use serde::Serialize;

use super::{Db, DbResult, Tx, new_id, now_ms};
use crate::{on_db, on_tx};

/// A tenant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
}

/// How many tenants there are.
pub async fn count(db: &Db) -> DbResult<i64> {
    Ok(
        on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) AS n FROM tenants").fetch_one(pool).await?),
    )
}

/// Creates a tenant in the caller's transaction.
pub async fn create(tx: &mut Tx, name: &str) -> DbResult<Tenant> {
    let tenant = Tenant {
        id: new_id(),
        name: name.to_owned(),
        created_at: now_ms(),
    };
    on_tx!(tx, conn => sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(tenant.created_at)
        .execute(&mut **conn)
        .await?
        .rows_affected());
    Ok(tenant)
}

/// Every tenant, oldest first.
pub async fn list(db: &Db) -> DbResult<Vec<Tenant>> {
    Ok(
        on_db!(db, pool => sqlx::query_as("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
        .fetch_all(pool)
        .await?),
    )
}

/// Whether a tenant with this id exists.
pub async fn exists(db: &Db, id: &str) -> DbResult<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) AS n FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}
