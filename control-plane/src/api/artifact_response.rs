//! How an artifact's bytes go back to a person. A robot says what type its artifact
//! is, and a workflow can make a robot upload anything, `text/html` with a script
//! included: served as sent, that page would run with the API's origin in the
//! viewer's browser. So only raster images are shown inline (with their own type);
//! everything else is a download (`attachment`, `application/octet-stream`). Every
//! answer forbids type sniffing and carries a policy that allows nothing to run.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The types a browser may show inline: raster images, which run nothing. SVG is not
/// among them: it can hold scripts.
const INLINE: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// No script, style, frame or request of any kind; a sandboxed, unique origin.
pub const POLICY: &str = "default-src 'none'; sandbox";

/// What `filename*` may keep as it is (RFC 8187 `attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The answer for an artifact stored with `content_type` and `name` (or, without a
/// name, its hash).
pub fn artifact_response(content_type: &str, name: &str, sha256: &str, bytes: Vec<u8>) -> Response {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (served_type, disposition) = match INLINE.iter().find(|t| **t == essence) {
        Some(image) => (*image, "inline"),
        None => ("application/octet-stream", "attachment"),
    };
    let name = file_name(name, sha256);
    let disposition = content_disposition(disposition, &name);
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(served_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    response
}

/// The name to offer: the artifact's, its last path segment only, or its hash.
fn file_name(name: &str, sha256: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base: String = base.chars().filter(|c| !c.is_control()).collect();
    if base.is_empty() || base == "." || base == ".." {
        format!("{}.bin", sha256.get(..12).unwrap_or(sha256))
    } else {
        base
    }
}

/// `attachment; filename="plain ASCII"; filename*=UTF-8''percent-encoded`.
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut value = format!("{kind}; filename=\"{ascii}\"");
    if ascii != name {
        value.push_str(&format!(
            "; filename*=UTF-8''{}",
            utf8_percent_encode(name, ATTR_CHAR)
        ));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str, name: &str) -> (String, String) {
        let response = artifact_response(content_type, name, &"ab".repeat(32), Vec::new());
        let get = |h| {
            response
                .headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(get(header::CONTENT_SECURITY_POLICY), POLICY);
        (get(header::CONTENT_TYPE), get(header::CONTENT_DISPOSITION))
    }

    #[test]
    fn only_raster_images_are_inline() {
        assert_eq!(
            headers("image/PNG; q=1", "step-001.png"),
            (
                "image/png".to_owned(),
                "inline; filename=\"step-001.png\"".to_owned()
            )
        );
        for kind in [
            "text/html",
            "image/svg+xml",
            "application/pdf",
            "",
            "nonsense",
        ] {
            let (served, disposition) = headers(kind, "x");
            assert_eq!(served, "application/octet-stream", "{kind}");
            assert!(disposition.starts_with("attachment;"), "{kind}");
        }
    }

    #[test]
    fn names_are_offered_safely() {
        assert_eq!(
            headers("text/plain", "../../etc/\"pass\"wd").1,
            "attachment; filename=\"_pass_wd\"; filename*=UTF-8''%22pass%22wd"
        );
        assert_eq!(
            headers("text/plain", "résumé.txt").1,
            "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
        );
        assert_eq!(
            headers("text/plain", "").1,
            "attachment; filename=\"abababababab.bin\""
        );
    }
}
