//! No text alq keeps may hold a NUL character: PostgreSQL cannot store one in a text
//! column, so a NUL that reached a query would fail there as a 500 (SQLite would keep
//! it, and the two backends would disagree). Refused at the edge instead, once for
//! every route: here for the URL (path segments and query values, percent-encoded as
//! `%00`), in [`super::json::Body`] for JSON bodies. Header values cannot carry one
//! (HTTP forbids it, and the server refuses such a request before routing).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// Answers 400 to a request whose path or query holds a NUL once percent-decoded.
pub async fn refuse_nul_in_url(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let place = if holds_nul(uri.path()) {
        Some("path")
    } else if uri.query().is_some_and(holds_nul) {
        Some("query string")
    } else {
        None
    };
    match place {
        Some(place) => ApiError::invalid(format!(
            "the URL's {place} holds a NUL character (%00): names, ids, labels and query values cannot contain one"
        ))
        .into_response(),
        None => next.run(request).await,
    }
}

/// Whether percent-decoding `text` gives a NUL byte.
fn holds_nul(text: &str) -> bool {
    percent_decode_str(text).any(|byte| byte == 0)
}

#[cfg(test)]
mod tests {
    use super::holds_nul;

    #[test]
    fn a_nul_is_found_once_decoded() {
        assert!(holds_nul("/robots/a%00b"));
        assert!(holds_nul("workflow=a%00"));
        assert!(!holds_nul("workflow=a%2500"));
        assert!(!holds_nul("/robots/a0b%20c"));
        assert!(!holds_nul("%0"));
    }
}
