//! Assets: named values workflows read as `{{ assets.NAME }}`. Credentials are stored
//! encrypted with the server key (the `secret` column) next to their username (the
//! `value` column), so listing them never needs the key.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row;

use super::{Db, now_ms};
use crate::crypto::{CryptoError, SecretKey};
use crate::on_db;

/// What a credential's password is shown as.
pub const MASK: &str = "***";

/// The type of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A string.
    Text,
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Any JSON value.
    Json,
    /// `{username, password}`, encrypted at rest and never shown in full again.
    Credential,
}

impl AssetKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Text => "text",
            AssetKind::Number => "number",
            AssetKind::Boolean => "boolean",
            AssetKind::Json => "json",
            AssetKind::Credential => "credential",
        }
    }

    fn parse(kind: &str) -> Option<AssetKind> {
        Some(match kind {
            "text" => AssetKind::Text,
            "number" => AssetKind::Number,
            "boolean" => AssetKind::Boolean,
            "json" => AssetKind::Json,
            "credential" => AssetKind::Credential,
            _ => return None,
        })
    }
}

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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssetRecord {
    /// Its name, unique in the tenant.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: AssetKind,
    /// The value; for a credential `{username, password: "***"}`.
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
    Database(#[from] sqlx::Error),
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

fn from_row<R: Row>(row: &R) -> Result<AssetRecord, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let kind: String = row.try_get("kind")?;
    let kind = AssetKind::parse(&kind).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "kind".into(),
        source: format!("unknown asset type `{kind}`").into(),
    })?;
    let value: Option<String> = row.try_get("value")?;
    let mut value = value
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or(Value::Null);
    if kind == AssetKind::Credential
        && let Value::Object(map) = &mut value
    {
        map.insert("password".into(), Value::String(MASK.into()));
    }
    Ok(AssetRecord {
        name: row.try_get("name")?,
        kind,
        value,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Sets an asset (creating or replacing it); returns it masked and whether it is new.
pub async fn put(
    db: &Db,
    key: &SecretKey,
    tenant_id: &str,
    name: &str,
    value: &AssetValue,
) -> Result<(AssetRecord, bool), sqlx::Error> {
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
    // Only tells 201 from 200; two racing first writes both say "created", harmlessly.
    let existed = get(db, tenant_id, name).await?.is_some();
    let now = now_ms();
    let row = on_db!(db, pool => {
        let row = sqlx::query(
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
        .fetch_one(pool)
        .await?;
        from_row(&row)?
    });
    Ok((row, !existed))
}

/// One asset, masked.
pub async fn get(db: &Db, tenant_id: &str, name: &str) -> Result<Option<AssetRecord>, sqlx::Error> {
    on_db!(db, pool => match sqlx::query(
        "SELECT name, kind, value, created_at, updated_at FROM assets WHERE tenant_id = $1 AND name = $2",
    )
    .bind(tenant_id)
    .bind(name)
    .fetch_optional(pool)
    .await?
    {
        Some(row) => from_row(&row).map(Some),
        None => Ok(None),
    })
}

/// Every asset of a tenant by name, masked.
pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<AssetRecord>, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "SELECT name, kind, value, created_at, updated_at FROM assets WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(from_row)
    .collect())
}

/// Deletes an asset; false when there was none.
pub async fn delete(db: &Db, tenant_id: &str, name: &str) -> Result<bool, sqlx::Error> {
    let deleted = on_db!(db, pool => sqlx::query("DELETE FROM assets WHERE tenant_id = $1 AND name = $2")
        .bind(tenant_id)
        .bind(name)
        .execute(pool)
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
    let rows: Vec<StoredRow> = on_db!(db, pool => sqlx::query(
        "SELECT name, kind, value, secret FROM assets WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("name")?, row.try_get("kind")?, row.try_get("value")?, row.try_get("secret")?)))
    .collect::<Result<_, sqlx::Error>>()?);
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
