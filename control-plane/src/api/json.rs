//! A JSON body extractor whose rejections use the API's error shape (axum's own answer
//! in plain text): malformed JSON and unknown fields are a 400 naming the problem, a
//! body over the limit a 413, a wrong content type a 415. Every body is a JSON object,
//! and no string in it (key or value) may hold a NUL character: PostgreSQL cannot store
//! one in a text column, so it would fail deep in a query as a 500.

use alq_shared::api::ErrorCode;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`: an object without NUL characters in its strings.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_object(req, state, Nul::Refused).await.map(Body)
    }
}

/// A robot's report (step events, a job's outputs): a JSON object like [`Body`], whose
/// free-form values may hold any text, NUL included, as a page or a command printed it.
/// They are kept as JSON text, where a NUL is written `\u0000`; a handler that stores a
/// field of it in a text column of its own must clean that field.
pub struct Report<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Report<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_object(req, state, Nul::Allowed).await.map(Report)
    }
}

/// Whether a body's strings may hold NUL characters.
#[derive(Clone, Copy, PartialEq)]
enum Nul {
    Refused,
    Allowed,
}

async fn read_object<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
    nul: Nul,
) -> Result<T, ApiError> {
    if !is_json(req.headers()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status().as_u16() == 413 {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the body is larger than the server accepts",
            )
        } else {
            ApiError::invalid(format!("cannot read the body: {}", rejection.body_text()))
        }
    })?;
    // serde reads a struct from a JSON array too, field by field in order, so
    // `["ci", "viewer"]` would make a token: only an object is a body.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::invalid(
            "the body must be a JSON object (`{...}`), not an array or a single value",
        ));
    }
    if nul == Nul::Refused && holds_nul(&bytes) {
        return Err(nul_in_body());
    }
    match axum::Json::<T>::from_bytes(&bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => Err(match &rejection {
            JsonRejection::JsonDataError(e) => {
                ApiError::invalid(format!("invalid body: {}", e.body_text()))
            }
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::invalid(format!("malformed JSON: {}", e.body_text()))
            }
            other => ApiError::invalid(other.body_text()),
        }),
    }
}

/// The error for a body whose text holds a NUL.
pub fn nul_in_body() -> ApiError {
    ApiError::invalid(
        "the body holds a NUL character (\\u0000) in a string: names, labels, ids and values cannot contain one",
    )
}

/// `application/json`, or any `application/...+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// Whether a JSON text has a NUL in one of its strings. A JSON string can only carry
/// one as the escape `\u0000` (a raw control character is malformed JSON, which the
/// parser refuses), so this finds that escape where it is one: after a backslash that
/// is not itself escaped. Outside strings a backslash is malformed JSON anyway.
pub fn holds_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1..i + 6) == Some(b"u0000") {
                return true;
            }
            // Skip the escaped character, so `\\u0000` (a backslash, then text) is text.
            i += 2;
        } else {
            i += 1;
        }
    }
    false
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

#[cfg(test)]
mod tests {
    use super::holds_nul;

    #[test]
    fn a_nul_is_found_only_where_it_is_an_escape() {
        assert!(holds_nul(br#"{"name": "a\u0000b"}"#));
        assert!(holds_nul(br#"{"a\u0000": 1}"#));
        assert!(holds_nul(br#"{"name": "\\\u0000"}"#));
        assert!(!holds_nul(br#"{"name": "a\\u0000b"}"#));
        assert!(!holds_nul(br#"{"name": "a\u0001b", "b": "\"u0000"}"#));
        assert!(!holds_nul(br#"{"name": "u0000"}"#));
        assert!(!holds_nul(br#"{"name": "\\"}"#));
    }
}
