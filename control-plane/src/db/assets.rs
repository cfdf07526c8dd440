//! Assets: named values workflows read as `{{ assets.NAME }}`. Credentials are stored
//! encrypted with the server key (the `secret` column) next to their username (the
//! `value` column), so listing them never needs the key.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::column::Text;
use super::{Db, DbError, DbResult, Tx, now_ms};
use crate::crypto::{CryptoError, SecretKey};
use crate::{on_db, on_tx};

/// What a credential's password is shown as.
pub const MASK: &str = "***";

pub use alq_shared::api::AssetKind;

/// A value checked against its type.
#[derive(Clone, PartialEq)]
pub enum AssetValue {
    /// Plain values, stored as JSON.
    Plain(AssetKind, Value),
    /// A username and a password.
    Credential {
        /// Shown.
        username: String,
        /// Encrypted, never shown.
        password: String,
    },
}

impl std::fmt::Debug for AssetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AssetValue::Plain(kind, value) => write!(f, "{}({value})", kind.as_str()),
            AssetValue::Credential { username, .. } => write!(f, "credential({username}, ***)"),
        }
    }
}

impl AssetValue {
    /// Checks `value` against `kind`; the error says what `value` should be.
    pub fn check(kind: AssetKind, value: Value) -> Result<AssetValue, String> {
        let fits = match kind {
            AssetKind::Text => value.is_string(),
            AssetKind::Number => value.is_number(),
            AssetKind::Boolean => value.is_boolean(),
            AssetKind::Json => true,
            AssetKind::Credential => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Credential {
                    username: String,
                    password: String,
                }
                let credential: Credential = serde_json::from_value(value).map_err(|e| {
                    format!("a credential is {{\"username\": \"...\", \"password\": \"...\"}}: {e}")
                })?;
                if credential.username.is_empty() || credential.password.is_empty() {
                    return Err("a credential needs a non-empty username and password".into());
                }
                return Ok(AssetValue::Credential {
                    username: credential.username,
                    password: credential.password,
                });
            }
        };
        if fits {
            Ok(AssetValue::Plain(kind, value))
        } else {
            Err(format!(
                "an asset of type {} needs {}, not {value}",
                kind.as_str(),
                match kind {
                    AssetKind::Text => "a string",
                    AssetKind::Number => "a number",
                    _ => "true or false",
                }
            ))
        }
    }

    fn kind(&self) -> AssetKind {
        match self {
            AssetValue::Plain(kind, _) => *kind,
            AssetValue::Credential { .. } => AssetKind::Credential,
        }
    }
}

/// An asset as the API shows it: credentials masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct AssetRecord {
    /// Its name, unique in the tenant.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    #[sqlx(try_from = "Text")]
    pub kind: AssetKind,
    /// The value; for a credential `{username, password: "***"}`.
    #[sqlx(try_from = "Text")]
    pub value: Value,
    /// When it was first set (Unix ms).
    pub created_at: i64,
    /// When it was last set (Unix ms).
    pub updated_at: i64,
}

/// A credential's stored secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The credential does not decrypt.
    #[error("credential asset `{name}`: {source}")]
    Crypto {
        /// The asset.
        name: String,
        /// Why.
        source: CryptoError,
    },
}

/// What a credential's ciphertext is bound to.
fn owner(tenant_id: &str, name: &str) -> String {
    format!("asset:{tenant_id}/{name}")
}

/// Hides a credential's password (its stored `value` has none, but be sure).
fn masked(mut asset: AssetRecord) -> AssetRecord {
    if asset.kind == AssetKind::Credential
        && let Value::Object(map) = &mut asset.value
    {
        map.insert("password".into(), Value::String(MASK.into()));
    }
    asset
}

/// Sets an asset (creating or replacing it) in the caller's transaction; returns it
/// masked and whether it is new.
pub async fn put(
    tx: &mut Tx,
    key: &SecretKey,
    tenant_id: &str,
    name: &str,
    value: &AssetValue,
) -> DbResult<(AssetRecord, bool)> {
    let (shown, secret) = match value {
        AssetValue::Plain(_, value) => (value.to_string(), None),
        AssetValue::Credential { username, password } => {
            let plain = json!({ "username": username, "password": password }).to_string();
            (
                json!({ "username": username }).to_string(),
                Some(key.seal(&owner(tenant_id, name), plain.as_bytes())),
            )
        }
    };
    let now = now_ms();
    let (existed, row): (Option<i64>, AssetRecord) = on_tx!(tx, conn => {
        // Only tells 201 from 200; two racing first writes both say "created", harmlessly.
        let existed = sqlx::query_scalar("SELECT created_at FROM assets WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&mut **conn)
            .await?;
        let row = sqlx::query_as(
            "INSERT INTO assets (tenant_id, name, kind, value, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET kind = excluded.kind, value = excluded.value, \
             secret = excluded.secret, updated_at = excluded.updated_at \
             RETURNING name, kind, value, created_at, updated_at",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(value.kind().as_str())
        .bind(&shown)
        .bind(&secret)
        .bind(now)
        .fetch_one(&mut **conn)
        .await?;
        (existed, row)
    });
    Ok((masked(row), existed.is_none()))
}

/// One asset, masked.
pub async fn get(db: &Db, tenant_id: &str, name: &str) -> DbResult<Option<AssetRecord>> {
    let asset: Option<AssetRecord> = on_db!(db, pool => sqlx::query_as(
        "SELECT name, kind, value, created_at, updated_at FROM assets WHERE tenant_id = $1 AND name = $2",
    )
    .bind(tenant_id)
    .bind(name)
    .fetch_optional(pool)
    .await?);
    Ok(asset.map(masked))
}

/// Every asset of a tenant by name, masked.
pub async fn list(db: &Db, tenant_id: &str) -> DbResult<Vec<AssetRecord>> {
    let assets: Vec<AssetRecord> = on_db!(db, pool => sqlx::query_as(
        "SELECT name, kind, value, created_at, updated_at FROM assets WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?);
    Ok(assets.into_iter().map(masked).collect())
}

/// Deletes an asset in the caller's transaction; false when there was none.
pub async fn delete(tx: &mut Tx, tenant_id: &str, name: &str) -> DbResult<bool> {
    let deleted = on_tx!(tx, conn => sqlx::query("DELETE FROM assets WHERE tenant_id = $1 AND name = $2")
        .bind(tenant_id)
        .bind(name)
        .execute(&mut **conn)
        .await?
        .rows_affected());
    Ok(deleted == 1)
}

/// `(name, kind, value, secret)` as stored.
type StoredRow = (String, String, Option<String>, Option<Vec<u8>>);

/// Every asset of a tenant with credentials decrypted (`{username, password}`), for the
/// robot that runs one of its jobs. Never answer this to an API caller.
pub async fn resolve_for_job(
    db: &Db,
    key: &SecretKey,
    tenant_id: &str,
) -> Result<Map<String, Value>, AssetError> {
    let rows: Vec<StoredRow> = on_db!(db, pool => sqlx::query_as(
        "SELECT name, kind, value, secret FROM assets WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await
    .map_err(DbError::from)?);
    let mut values = Map::new();
    for (name, kind, value, secret) in rows {
        let value = if kind == AssetKind::Credential.as_str() {
            let sealed = secret.unwrap_or_default();
            let plain = key
                .open(&owner(tenant_id, &name), &sealed)
                .map_err(|source| AssetError::Crypto {
                    name: name.clone(),
                    source,
                })?;
            serde_json::from_slice(&plain).map_err(|_| AssetError::Crypto {
                name: name.clone(),
                source: CryptoError::Decrypt,
            })?
        } else {
            value
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or(Value::Null)
        };
        values.insert(name, value);
    }
    Ok(values)
}
