//! Tenants.

use serde::Serialize;
use sqlx::Row;

use super::{Db, new_id, now_ms};
use crate::on_db;

/// A tenant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
}

/// How many tenants there are.
pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, pool => sqlx::query("SELECT COUNT(*) AS n FROM tenants").fetch_one(pool).await?.try_get("n"))
}

/// Creates a tenant.
pub async fn create(db: &Db, name: &str) -> Result<Tenant, sqlx::Error> {
    let tenant = Tenant {
        id: new_id(),
        name: name.to_owned(),
        created_at: now_ms(),
    };
    on_db!(db, pool => sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(tenant.created_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(tenant)
}

/// Every tenant, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Tenant>, sqlx::Error> {
    let rows = on_db!(db, pool => {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| Ok(Tenant { id: r.try_get("id")?, name: r.try_get("name")?, created_at: r.try_get("created_at")? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()?
    });
    Ok(rows)
}

/// Whether a tenant with this id exists.
pub async fn exists(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = on_db!(db, pool => sqlx::query("SELECT COUNT(*) AS n FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?
        .try_get("n")?);
    Ok(n > 0)
}
