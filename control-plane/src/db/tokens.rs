//! Tokens: personal access tokens, robot registration tokens and robot tokens. Only
//! hashes are stored; the secret is returned once, at creation.

use serde::Serialize;

use super::column::Text;
use super::{Db, DbResult, Tx, new_id, now_ms};
use crate::auth::{self, Role};
use crate::{on_db, on_tx};

/// The kinds of token, by the prefix they carry (and the name stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `alq_pat_`: a person or script using the API.
    #[strum(serialize = "pat")]
    Personal,
    /// `alq_reg_`: registers robots.
    #[strum(serialize = "reg")]
    Registration,
    /// `alq_rbt_`: one robot.
    #[strum(serialize = "rbt")]
    Robot,
}

impl TokenKind {
    /// The stored kind and prefix part.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// For messages.
    pub fn describe(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal access",
            TokenKind::Registration => "robot registration",
            TokenKind::Robot => "robot",
        }
    }
}

/// A stored token (without its secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TokenRecord {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its kind.
    #[sqlx(try_from = "Text")]
    pub kind: TokenKind,
    /// Its name.
    pub name: String,
    /// Its role (personal tokens).
    #[sqlx(try_from = "Text")]
    pub role: Option<Role>,
    /// Whether it may manage tenants.
    pub system: bool,
    /// The start of the secret, to tell tokens apart.
    pub prefix: String,
    /// Labels given to robots it registers (registration tokens).
    #[sqlx(try_from = "Text")]
    pub labels: Vec<String>,
    /// Whether it works only once (registration tokens).
    pub single_use: bool,
    /// When it was used, if single-use.
    pub used_at: Option<i64>,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// The robot it belongs to (robot tokens).
    pub robot_id: Option<String>,
    /// When it was made.
    pub created_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// A token just made: the record and the secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    /// The stored part.
    #[serde(flatten)]
    pub record: TokenRecord,
    /// The secret.
    #[serde(rename = "token")]
    pub secret: String,
}

/// What a new personal token is.
pub struct NewPersonal {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Whether it may manage tenants.
    pub system: bool,
}

/// A robot registration token to create.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    /// Its name.
    pub name: String,
    /// The labels robots registered with it get.
    pub labels: Vec<String>,
    /// Whether it registers one robot only.
    pub single_use: bool,
    /// When it stops working (Unix ms).
    pub expires_at: Option<i64>,
    /// When it is made (Unix ms): the reading of the clock `expires_at` was computed
    /// from, so that their difference is exactly the lifetime asked for.
    pub created_at: i64,
}

/// The columns `from_row` reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, tenant_id, kind, name, role, system, prefix, labels, single_use, used_at, expires_at, robot_id, created_at, revoked_at"
    };
}

/// Stores a new token and returns it with its secret.
#[allow(clippy::too_many_arguments)]
async fn insert(
    tx: &mut Tx,
    tenant_id: &str,
    kind: TokenKind,
    name: &str,
    role: Option<Role>,
    system: bool,
    labels: &[String],
    single_use: bool,
    expires_at: Option<i64>,
    robot_id: Option<&str>,
    created_by: Option<&str>,
    now: i64,
) -> DbResult<NewToken> {
    let secret = auth::generate(kind);
    let record = TokenRecord {
        id: new_id(),
        tenant_id: tenant_id.to_owned(),
        kind,
        name: name.to_owned(),
        role,
        system,
        prefix: secret.chars().take(12).collect(),
        labels: labels.to_vec(),
        single_use,
        used_at: None,
        expires_at,
        robot_id: robot_id.map(str::to_owned),
        created_at: now,
        revoked_at: None,
    };
    let labels_json = serde_json::to_string(labels).unwrap_or_else(|_| "[]".into());
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO tokens (id, tenant_id, kind, name, role, system, prefix, hash, labels, single_use, expires_at, robot_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&record.id)
    .bind(&record.tenant_id)
    .bind(kind.as_str())
    .bind(&record.name)
    .bind(role.map(Role::as_str))
    .bind(system)
    .bind(&record.prefix)
    .bind(auth::hash(&secret))
    .bind(&labels_json)
    .bind(single_use)
    .bind(expires_at)
    .bind(robot_id)
    .bind(created_by)
    .bind(record.created_at)
    .execute(&mut **conn)
    .await?
        .rows_affected());
    Ok(NewToken { record, secret })
}

/// Creates a personal access token.
pub async fn create_personal(
    tx: &mut Tx,
    tenant_id: &str,
    new: NewPersonal,
    created_by: Option<&str>,
) -> DbResult<NewToken> {
    insert(
        tx,
        tenant_id,
        TokenKind::Personal,
        &new.name,
        Some(new.role),
        new.system,
        &[],
        false,
        None,
        None,
        created_by,
        now_ms(),
    )
    .await
}

/// Creates a robot registration token.
pub async fn create_registration(
    tx: &mut Tx,
    tenant_id: &str,
    new: &NewRegistration,
    created_by: Option<&str>,
) -> DbResult<NewToken> {
    insert(
        tx,
        tenant_id,
        TokenKind::Registration,
        &new.name,
        None,
        false,
        &new.labels,
        new.single_use,
        new.expires_at,
        None,
        created_by,
        new.created_at,
    )
    .await
}

/// Creates the token of a robot.
pub async fn create_robot(
    tx: &mut Tx,
    tenant_id: &str,
    robot_id: &str,
    name: &str,
) -> DbResult<NewToken> {
    insert(
        tx,
        tenant_id,
        TokenKind::Robot,
        name,
        None,
        false,
        &[],
        false,
        None,
        Some(robot_id),
        None,
        now_ms(),
    )
    .await
}

/// The token with this hash.
pub async fn find_by_hash(db: &Db, hash: &str) -> DbResult<Option<TokenRecord>> {
    let sql = concat!("SELECT ", columns!(), " FROM tokens WHERE hash = $1");
    Ok(on_db!(db, pool => sqlx::query_as(sql).bind(hash).fetch_optional(pool).await?))
}

/// The tokens of a tenant of one kind, newest first.
pub async fn list(db: &Db, tenant_id: &str, kind: TokenKind) -> DbResult<Vec<TokenRecord>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM tokens WHERE tenant_id = $1 AND kind = $2 ORDER BY created_at DESC, id"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sql)
        .bind(tenant_id)
        .bind(kind.as_str())
        .fetch_all(pool)
        .await?))
}

/// Revokes a token of the tenant of one kind (revoking twice is fine: the first time
/// stays); false when the tenant has no such token of that kind.
pub async fn revoke_kind(
    tx: &mut Tx,
    tenant_id: &str,
    id: &str,
    kind: TokenKind,
) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND tenant_id = $3 AND kind = $4",
    )
    .bind(now_ms())
    .bind(id)
    .bind(tenant_id)
    .bind(kind.as_str())
    .execute(&mut **conn)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Marks a single-use registration token used; false when it was used already (so two
/// robots racing with one token cannot both register).
pub async fn use_once(tx: &mut Tx, id: &str) -> DbResult<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE tokens SET used_at = $1 WHERE id = $2 AND single_use = TRUE AND used_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&mut **conn)
    .await?
    .rows_affected());
    Ok(done == 1)
}
