//! `GET /robot/packages/{sha256}`: a workflow package, for the robots of the tenant that
//! holds it. Robots cache packages by hash and run any job of their tenant, so the
//! tenant is the boundary: another tenant's package is a 404, as if it did not exist.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::RobotCaller;
use crate::AppState;
use crate::blobs::is_sha256;
use crate::db::workflows;
use crate::error::{ApiError, ApiResult};

/// The package with this SHA-256, as `application/gzip`.
#[utoipa::path(operation_id = "robot_package", get, path = "/api/v1/robot/packages/{sha256}", tag = "robot",
    params(("sha256" = String, Path, description = "The package's SHA-256 (from the lease answer)")),
    responses((status = 200, description = "The package (tar.gz)", content_type = "application/gzip", body = Vec<u8>),
              (status = 404, description = "No package with this hash in the robot's tenant", body = super::super::api::openapi::ErrorSchema),
              super::super::api::openapi::Errors))]
pub async fn package(
    State(state): State<AppState>,
    robot: RobotCaller,
    Path(sha256): Path<String>,
) -> ApiResult<Response> {
    if !is_sha256(&sha256)
        || !workflows::tenant_has_package(&state.db, &robot.tenant_id, &sha256).await?
    {
        return Err(ApiError::not_found("workflow package", &sha256));
    }
    let bytes = state
        .blobs
        .require(&sha256)
        .await
        .map_err(ApiError::internal)?;
    Ok((
        [(header::CONTENT_TYPE, alq_shared::package::CONTENT_TYPE)],
        bytes,
    )
        .into_response())
}
