//! A JSON body extractor whose rejections use the API's error shape (axum's own answer
//! in plain text): malformed JSON and unknown fields are a 400 naming the problem, a
//! body over the limit a 413, a wrong content type a 415.

use alq_shared::api::ErrorCode;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(match &rejection {
                JsonRejection::JsonDataError(e) => {
                    ApiError::invalid(format!("invalid body: {}", e.body_text()))
                }
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::invalid(format!("malformed JSON: {}", e.body_text()))
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "send the body as Content-Type: application/json",
                ),
                JsonRejection::BytesRejection(_) if rejection.status().as_u16() == 413 => {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        "the body is larger than the server accepts",
                    )
                }
                other => ApiError::invalid(other.body_text()),
            }),
        }
    }
}

/// A raw request body (a workflow file) whose rejections use the API's error shape:
/// over the limit is a 413.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status().as_u16() == 413 {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        "the body is larger than the server accepts",
                    )
                } else {
                    ApiError::invalid(format!("cannot read the body: {}", rejection.body_text()))
                }
            })
    }
}
