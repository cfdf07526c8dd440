//! Personal access tokens and robot registration tokens: made by admins, shown once,
//! listed without their secret, revoked.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::json::Body;
use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, Role};
use crate::db::tokens::{self, NewPersonal, TokenKind, TokenRecord};
use crate::db::{audit, tenants};
use crate::error::{ApiError, ApiResult};
use crate::labels::check_labels;

/// The longest a registration token may live: ten years.
const MAX_EXPIRY_S: u64 = 10 * 365 * 24 * 3600;

/// Body of `POST /tokens` and `POST /tenants/{id}/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Who or what uses it, for people.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A personal access token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalToken {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The start of the secret, to tell tokens apart.
    pub prefix: String,
    /// Whether it also manages tenants (the bootstrap token).
    pub system: bool,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was revoked (Unix ms).
    pub revoked_at: Option<i64>,
}

/// A personal access token just made, with its secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPersonalToken {
    /// The token.
    #[serde(flatten)]
    pub record: PersonalToken,
    /// The secret: store it now, it is never shown again.
    pub token: String,
}

/// Body of `POST /robot-tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRegistration {
    /// A name for people.
    pub name: Option<String>,
    /// Labels given to the robots that register with it.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Seconds until it expires (or `expires_at`; neither: never).
    pub expires_in_s: Option<u64>,
    /// When it expires, RFC 3339.
    pub expires_at: Option<String>,
    /// Works for one registration only.
    #[serde(default)]
    pub single_use: bool,
}

/// A robot registration token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationToken {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The start of the secret.
    pub prefix: String,
    /// Labels given to the robots it registers.
    pub labels: Vec<String>,
    /// Works once.
    pub single_use: bool,
    /// When a single-use token was used (Unix ms).
    pub used_at: Option<i64>,
    /// When it stops working (Unix ms).
    pub expires_at: Option<i64>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was revoked (Unix ms).
    pub revoked_at: Option<i64>,
}

/// A registration token just made, with its secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRegistrationToken {
    /// The token.
    #[serde(flatten)]
    pub record: RegistrationToken,
    /// The secret: store it now, it is never shown again.
    pub token: String,
}

fn personal(record: TokenRecord) -> PersonalToken {
    PersonalToken {
        id: record.id,
        name: record.name,
        role: record.role.unwrap_or(Role::Viewer),
        prefix: record.prefix,
        system: record.system,
        created_at: record.created_at,
        revoked_at: record.revoked_at,
    }
}

fn registration(record: TokenRecord) -> RegistrationToken {
    RegistrationToken {
        id: record.id,
        name: record.name,
        prefix: record.prefix,
        labels: record.labels,
        single_use: record.single_use,
        used_at: record.used_at,
        expires_at: record.expires_at,
        created_at: record.created_at,
        revoked_at: record.revoked_at,
    }
}

/// A trimmed, non-empty name of at most 100 characters.
pub(crate) fn check_name(field: &str, name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            ApiError::invalid(format!("`{field}` must be 1 to 100 characters"))
                .with_details(json!({ "field": field })),
        );
    }
    Ok(name.to_owned())
}

async fn create_personal(
    state: &AppState,
    caller: &Caller,
    tenant_id: &str,
    body: CreateToken,
) -> ApiResult<(StatusCode, Json<CreatedPersonalToken>)> {
    let name = check_name("name", &body.name)?;
    let new = NewPersonal {
        name: name.clone(),
        role: body.role,
        system: false,
    };
    let mut tx = state.db.begin().await?;
    let created = tokens::create_personal(&mut tx, tenant_id, new, Some(&caller.token_id)).await?;
    audit::record(
        &mut tx,
        tenant_id,
        &caller.actor().name(),
        "token.create",
        &format!("token:{}", created.record.id),
        json!({ "name": name, "role": body.role }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedPersonalToken {
            record: personal(created.record),
            token: created.secret,
        }),
    ))
}

/// Makes a personal access token in the caller's tenant.
#[utoipa::path(operation_id = "tokens_create", post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, description = "The token, with its secret this once", body = CreatedPersonalToken), Errors))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedPersonalToken>)> {
    caller.require(Role::Admin)?;
    let tenant_id = caller.tenant_id.clone();
    create_personal(&state, &caller, &tenant_id, body).await
}

/// Makes a personal access token in another tenant (system admin only): how a new
/// tenant gets its first admin.
#[utoipa::path(operation_id = "tokens_create_for_tenant", post, path = "/api/v1/tenants/{id}/tokens", tag = "tenants", request_body = CreateToken,
    params(("id" = String, Path, description = "The tenant's id")),
    responses((status = 201, description = "The token, with its secret this once", body = CreatedPersonalToken), Errors))]
pub async fn create_for_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedPersonalToken>)> {
    super::tenants::require_system(&caller)?;
    if !tenants::exists(&state.db, &id).await? {
        return Err(ApiError::not_found("tenant", &id));
    }
    create_personal(&state, &caller, &id, body).await
}

/// The tenant's personal access tokens, newest first, without secrets.
#[utoipa::path(operation_id = "tokens_list", get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "The tokens", body = Vec<PersonalToken>), Errors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PersonalToken>>> {
    caller.require(Role::Admin)?;
    let records = tokens::list(&state.db, &caller.tenant_id, TokenKind::Personal).await?;
    Ok(Json(records.into_iter().map(personal).collect()))
}

async fn revoke_of_kind(
    state: &AppState,
    caller: &Caller,
    id: &str,
    kind: TokenKind,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    if !tokens::revoke_kind(&mut tx, &caller.tenant_id, id, kind).await? {
        return Err(ApiError::not_found(
            &format!("{} token", kind.describe()),
            id,
        ));
    }
    let action = match kind {
        TokenKind::Registration => "robot_token.revoke",
        _ => "token.revoke",
    };
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        action,
        &format!("token:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a personal access token: it gets 401 from then on.
#[utoipa::path(operation_id = "tokens_revoke", delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), Errors))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    revoke_of_kind(&state, &caller, &id, TokenKind::Personal).await
}

/// When a registration token expires, from `expires_in_s` or `expires_at`.
fn expiry(body: &CreateRegistration, now: i64) -> ApiResult<Option<i64>> {
    let field = |message: String, field: &str| {
        ApiError::invalid(message).with_details(json!({ "field": field }))
    };
    match (body.expires_in_s, body.expires_at.as_deref()) {
        (Some(_), Some(_)) => Err(field(
            "give `expires_in_s` or `expires_at`, not both".into(),
            "expires_at",
        )),
        (Some(seconds), None) => {
            if seconds == 0 || seconds > MAX_EXPIRY_S {
                return Err(field(
                    format!("`expires_in_s` must be between 1 and {MAX_EXPIRY_S}"),
                    "expires_in_s",
                ));
            }
            // Bounded above, so the product fits in an i64.
            Ok(Some(now + (seconds as i64) * 1000))
        }
        (None, Some(at)) => {
            let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|e| {
                field(
                    format!(
                        "`expires_at` must be an RFC 3339 time such as 2026-12-31T23:59:00Z: {e}"
                    ),
                    "expires_at",
                )
            })?;
            let at = at.timestamp_millis();
            if at <= now {
                return Err(field("`expires_at` is in the past".into(), "expires_at"));
            }
            Ok(Some(at))
        }
        (None, None) => Ok(None),
    }
}

/// Makes a robot registration token.
#[utoipa::path(operation_id = "tokens_create_registration", post, path = "/api/v1/robot-tokens", tag = "robots", request_body = CreateRegistration,
    responses((status = 201, description = "The token, with its secret this once", body = CreatedRegistrationToken), Errors))]
pub async fn create_registration(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateRegistration>,
) -> ApiResult<(StatusCode, Json<CreatedRegistrationToken>)> {
    caller.require(Role::Admin)?;
    let name = match &body.name {
        Some(name) => check_name("name", name)?,
        None => "robot registration".to_owned(),
    };
    let labels = check_labels(&body.labels)?;
    // One reading of the clock for the whole change: the expiry is counted from the
    // same instant the token is recorded as created.
    let now = crate::db::now_ms();
    let expires_at = expiry(&body, now)?;
    let new = tokens::NewRegistration {
        name,
        labels,
        single_use: body.single_use,
        expires_at,
        created_at: now,
    };
    let mut tx = state.db.begin().await?;
    let created =
        tokens::create_registration(&mut tx, &caller.tenant_id, &new, Some(&caller.token_id))
            .await?;
    audit::record(
        &mut tx,
        &caller.tenant_id,
        &caller.actor().name(),
        "robot_token.create",
        &format!("token:{}", created.record.id),
        json!({ "name": new.name, "labels": new.labels, "single_use": new.single_use, "expires_at": new.expires_at }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedRegistrationToken {
            record: registration(created.record),
            token: created.secret,
        }),
    ))
}

/// The tenant's robot registration tokens, newest first, without secrets.
#[utoipa::path(operation_id = "tokens_list_registration", get, path = "/api/v1/robot-tokens", tag = "robots",
    responses((status = 200, description = "The tokens", body = Vec<RegistrationToken>), Errors))]
pub async fn list_registration(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<RegistrationToken>>> {
    caller.require(Role::Admin)?;
    let records = tokens::list(&state.db, &caller.tenant_id, TokenKind::Registration).await?;
    Ok(Json(records.into_iter().map(registration).collect()))
}

/// Revokes a registration token; robots that joined with it stay.
#[utoipa::path(operation_id = "tokens_revoke_registration", delete, path = "/api/v1/robot-tokens/{id}", tag = "robots",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), Errors))]
pub async fn revoke_registration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    revoke_of_kind(&state, &caller, &id, TokenKind::Registration).await
}
