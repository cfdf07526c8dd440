//! Reading a large upload (a workflow package) up to a limit. Over the limit, the rest
//! of the body is read and thrown away (up to [`DRAIN_MAX`]) before the 413 is sent: a
//! server that answers and closes while the client is still sending makes the
//! client's kernel reset the connection, and the client then reports "cannot reach the
//! server" instead of the 413 that says what the limit is.

use alq_shared::api::ErrorCode;
use futures::StreamExt;

use crate::error::{ApiError, ApiResult};

/// The most bytes past the limit read and discarded so the client gets the 413; a
/// larger body is cut off (its client may see a reset connection).
pub const DRAIN_MAX: usize = 64 * 1024 * 1024;

/// The body, or a 413 naming `what` and the `setting` that limits it to `limit` bytes.
pub async fn read_limited(
    body: axum::body::Body,
    limit: usize,
    what: &str,
    setting: &str,
) -> ApiResult<axum::body::Bytes> {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::invalid(format!("cannot read the request body: {e}")))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        } else if seen > limit.saturating_add(DRAIN_MAX) {
            break;
        }
    }
    if seen > limit {
        return Err(too_large(what, setting, limit));
    }
    Ok(kept.into())
}

/// 413 for an upload over `setting`, saying the limit in bytes and for people, with
/// the numbers in `details` for clients.
pub fn too_large(what: &str, setting: &str, limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "the {what} is larger than this server accepts ({setting} = {limit} bytes, {}): leave files out with .alqignore, or ask the operator to raise {setting}",
            human_bytes(limit as u64)
        ),
    )
    .with_details(serde_json::json!({ "setting": setting, "limit_bytes": limit }))
}

/// `9.8 KiB`, `50.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packages_body_errors_are_413_only_over_the_limit() {
        let over = read_limited(
            axum::body::Body::from(vec![0u8; 11]),
            10,
            "package",
            "max_package_bytes",
        )
        .await
        .unwrap_err();
        assert_eq!(over.code.status(), 413);
        assert!(
            over.message.contains("max_package_bytes = 10"),
            "{}",
            over.message
        );
        let broken = axum::body::Body::from_stream(futures::stream::iter([
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{")),
            Err(std::io::Error::other("connection reset")),
        ]));
        let error = read_limited(broken, 10, "package", "max_package_bytes")
            .await
            .unwrap_err();
        assert_eq!(error.code.status(), 400, "{}", error.message);
    }

    #[tokio::test]
    async fn the_rest_of_a_body_over_the_limit_is_read() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = taken.clone();
        let chunks = futures::stream::iter(0..100).map(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(vec![1u8; 1000])
        });
        let error = read_limited(
            axum::body::Body::from_stream(chunks),
            10,
            "package",
            "max_package_bytes",
        )
        .await
        .unwrap_err();
        assert_eq!(error.code.status(), 413);
        assert_eq!(taken.load(Ordering::SeqCst), 100, "the whole body was read");
        assert_eq!(error.details.unwrap()["limit_bytes"], 10);
        assert_eq!(human_bytes(10_000), "9.8 KiB");
    }
}
