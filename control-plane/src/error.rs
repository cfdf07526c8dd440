//! The one error type of the API and its single mapping to HTTP responses.

use alq_shared::api::{ErrorBody, ErrorCode};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::db::DbError;

/// An error answered to an API caller.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What happened.
    pub message: String,
    /// More about it.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 404 for an object of this kind.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no {what} `{id}` in this tenant"),
        )
    }

    /// 400 with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidRequest, message)
    }

    /// A failure of the server itself: logged once here, answered with a generic body.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "Request failed.");
        ApiError::new(ErrorCode::Internal, "internal error; see the server log")
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Conflict { constraint } => ApiError::new(
                ErrorCode::Conflict,
                "the object conflicts with an existing one",
            )
            .with_details(serde_json::json!({ "constraint": constraint })),
            DbError::Unavailable(_) => {
                tracing::error!(error = %error, "Database unreachable.");
                ApiError::new(ErrorCode::Unavailable, "the database is not reachable")
            }
            // The extractors refuse NULs before any query; this keeps one that slips
            // past them a 400, not a 500.
            DbError::Unstorable => ApiError::invalid(
                "a text value holds a character the database cannot store (a NUL, \\u0000)",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            details: self.details,
        };
        (status, Json(body)).into_response()
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
