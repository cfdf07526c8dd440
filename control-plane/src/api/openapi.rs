//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.
//! A new endpoint is documented by annotating its handler and naming it in `paths(...)`.

use axum::Json;
use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::{assets, audit, events, jobs, jobs_bulk, robots, tenants, tokens, workflows};
use crate::robot_api;

/// The error shape every endpoint answers with (`alq_shared::api::ErrorBody`).
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // Only its schema is used.
pub struct ErrorSchema {
    /// A stable code: invalid_request, unauthenticated, forbidden, not_found, conflict, ...
    code: String,
    /// What happened, for people.
    message: String,
    /// More about it (the field that is wrong, ...).
    details: Option<Value>,
}

/// The errors every authenticated endpoint may answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // Only its schema is used.
pub enum Errors {
    /// Bad input: malformed JSON, unknown fields, a value that does not fit.
    #[response(status = 400)]
    Invalid(ErrorSchema),
    /// No token, or an unknown, expired or revoked one.
    #[response(status = 401)]
    Unauthenticated(ErrorSchema),
    /// The token's role is too small.
    #[response(status = 403)]
    Forbidden(ErrorSchema),
    /// No such object in the caller's tenant.
    #[response(status = 404)]
    NotFound(ErrorSchema),
    /// The body is larger than the server accepts.
    #[response(status = 413)]
    TooLarge(ErrorSchema),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document of every endpoint under `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(title = "alq control plane", description = "Tenants, tokens, robots, workflows, assets, jobs, the audit log, the event stream, and the robot protocol. Every call takes `Authorization: Bearer <token>`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    paths(
        tenants::list, tenants::create, tokens::create_for_tenant,
        tokens::create, tokens::list, tokens::revoke,
        tokens::create_registration, tokens::list_registration, tokens::revoke_registration,
        robots::list, robots::get, robots::disable, robots::enable, robots::delete,
        workflows::push, workflows::list, workflows::get, workflows::versions, workflows::delete,
        assets::put, assets::list, assets::get, assets::delete,
        audit::list,
        events::stream,
        jobs::create, jobs_bulk::create_bulk, jobs::list, jobs::get, jobs::events, jobs::artifacts,
        jobs::artifact, jobs::cancel, jobs::retry,
        robot_api::register::register, robot_api::lease::lease, robot_api::goodbye::goodbye,
        robot_api::jobs::heartbeat,
        robot_api::jobs::events, robot_api::jobs::upload_artifact, robot_api::jobs::complete,
        robot_api::packages::package,
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json` (no token needed: it describes, it does not reveal).
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
