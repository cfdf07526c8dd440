//! Who is calling: tokens (made, hashed, checked), the roles they carry, and the
//! [`Actor`] the domain layer records changes under.

mod actor;

pub use actor::Actor;
use alq_shared::api::ErrorCode;
pub use alq_shared::api::Role;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::db::tokens::{self, TokenKind};
use crate::{AppState, error::ApiError};

/// A new random token: a readable prefix that says its kind, then 32 random characters.
pub fn generate(kind: TokenKind) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let random: String = (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("alq_{}_{random}", kind.as_str())
}

/// The stored form of a token: its SHA-256, in hex.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A person's (or script's) authenticated request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's id (for the audit log).
    pub token_id: String,
    /// The token's name.
    pub name: String,
    /// The tenant every query is scoped to.
    pub tenant_id: String,
    /// What the token may do.
    pub role: Role,
    /// The bootstrap token of the default tenant: may manage tenants.
    pub system: bool,
}

impl Caller {
    /// Refuses the request (403) unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "this needs the {} role; the token has {}",
                    role.as_str(),
                    self.role.as_str()
                ),
            ))
        }
    }

    /// The caller as the domain layer records it.
    pub fn actor(&self) -> Actor {
        Actor::User {
            token_id: self.token_id.clone(),
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "missing Authorization: Bearer token",
            )
        })?;
    header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the Authorization header must be `Bearer <token>`",
            )
        })
}

/// Looks a token up; unknown, revoked and expired tokens are all a 401.
pub async fn lookup(
    state: &AppState,
    token: &str,
    kind: TokenKind,
) -> Result<tokens::TokenRecord, ApiError> {
    let record = tokens::find_by_hash(&state.db, &hash(token)).await?;
    let unauthenticated = |why: &str| ApiError::new(ErrorCode::Unauthenticated, why.to_owned());
    let record = record.ok_or_else(|| unauthenticated("unknown token"))?;
    if record.kind != kind {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("a {} token cannot be used here", record.kind.describe()),
        ));
    }
    if record.revoked_at.is_some() {
        return Err(unauthenticated("the token was revoked"));
    }
    if record
        .expires_at
        .is_some_and(|at| at <= crate::db::now_ms())
    {
        return Err(unauthenticated("the token has expired"));
    }
    Ok(record)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let record = lookup(state, token, TokenKind::Personal).await?;
        Ok(Caller {
            token_id: record.id,
            name: record.name,
            tenant_id: record.tenant_id,
            role: record.role.unwrap_or(Role::Viewer),
            system: record.system,
        })
    }
}
