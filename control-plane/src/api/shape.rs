//! Every error answer in the API's one shape, whoever made it. Handlers and alq's
//! extractors answer with [`ApiError`] already; this catches the rest once, for every
//! route: the router's 404 for a path it does not know and 405 for a method a route
//! does not take, and the plain-text rejections of axum's own extractors (a path
//! segment that is not UTF-8, ...). Their text becomes the message.
//!
//! A request that is not valid HTTP (a control character in a header value, a
//! malformed request line) never reaches the application: the HTTP layer answers a
//! bare 400 and closes the connection. Reading such a request leniently instead could
//! let a proxy and this server frame it differently (request smuggling).

use alq_shared::api::{ErrorBody, ErrorCode};
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The most of a plain-text error body kept as the message.
const MAX_TEXT: usize = 16 * 1024;

/// Rewrites an error answer that is not JSON into the error shape, keeping its status
/// and headers (`Allow` on a 405).
pub async fn error_shape(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let code = ErrorCode::for_status(status.as_u16());
    let message = match status.as_u16() {
        404 if text.is_empty() => {
            format!("no route {method} {path}: the API's routes are listed in /api/v1/openapi.json")
        }
        405 => {
            let allowed = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            format!("{path} does not take {method}; it takes {allowed}")
        }
        500..=599 => {
            tracing::error!(status = status.as_u16(), error = %text, "Request failed.");
            "internal error; see the server log".to_owned()
        }
        _ if text.is_empty() => status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_lowercase(),
        _ => text,
    };
    let shaped = Json(ErrorBody {
        code,
        message,
        details: None,
    })
    .into_response();
    // The old body's length and type no longer hold.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, shaped.into_body())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
