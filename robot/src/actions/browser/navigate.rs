//! `browser.open` and `browser.goto`: loading a page and telling the truth about it.
//!
//! chromedriver reports some failed navigations as errors (`net::ERR_NAME_NOT_RESOLVED`)
//! but "succeeds" on others, leaving Chromium's error page (`chrome-error://chromewebdata/`)
//! in the tab; a URL that answers with a download leaves the old page in place. Both are
//! detected here, so the step fails at once with the browser's error instead of a later
//! step failing with "no element matches". A navigation that runs out of time says which
//! part was slow: the server (navigating) or what the page loads (waiting for the page load).

use std::time::Duration;

use alq_shared::workflow::{FailureKind, UrlArgs};
use serde_json::{Value, json};
use thirtyfour::error::{WebDriverError, WebDriverErrorInner};

use super::Browser;
use super::download::files;
use super::locate::short;
use crate::actions::{Access, ActionCtx, ActionError, ActionResult};

/// Marks the document before a navigation: if the mark survives it, no new page opened.
const MARK: &str = "window.__alqStay = true;";

/// What the page says about itself after a navigation.
const PROBE: &str = r#"
const nav = performance.getEntriesByType('navigation')[0];
const code = document.querySelector('.error-code');
return {
  href: location.href,
  title: document.title,
  stayed: window.__alqStay === true,
  status: nav && nav.responseStatus ? nav.responseStatus : null,
  error: location.protocol === 'chrome-error:' && code ? code.textContent.trim() : null,
};
"#;

/// What a navigation that ran out of time had reached (chromedriver stops the load when
/// it gives up, so `readyState` says nothing by then).
const TIMED_OUT_PROBE: &str = r#"
return { stayed: window.__alqStay === true, href: location.href };
"#;

/// How long to look for the file of a download that a navigation started.
const DOWNLOAD_GRACE: Duration = Duration::from_secs(3);
/// How long asking a page that did not finish loading may take: the step's time is up.
const TIMED_OUT_PROBE_LIMIT: Duration = Duration::from_secs(1);

impl Browser {
    /// `browser.open` and `browser.goto`: loads the URL, waiting for the page to load up
    /// to the step's timeout. Output: `{url, title, status}` (`status` is null for pages
    /// without an HTTP status, e.g. `file://`).
    pub(super) async fn goto(&mut self, a: &UrlArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let url = a.url.as_str();
        // A local page is a file the browser reads: the same rules as for file actions.
        if let Some(path) = reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
        {
            ctx.path(
                &format!("opening {url}"),
                &path.to_string_lossy(),
                Access::Read,
            )?;
        }
        self.apply_timeout(ctx.timeout)
            .await
            .map_err(|e| ActionError::app(format!("cannot set timeouts: {}", short(&e))))?;
        let driver = self
            .driver()
            .map_err(|e| ActionError::app(format!("cannot open {url}: {}", short(&e))))?;
        // A page may refuse scripts (e.g. a dialog is open); then a download goes unnoticed.
        let marked = driver.execute(MARK, Vec::new()).await.is_ok();
        let downloads = files(&self.download_dir);
        if let Err(e) = driver.goto(url).await {
            let text = e.to_string();
            return Err(match net_error(&text) {
                Some(code) => navigation_failed(url, code),
                None if is_timeout(&e) => self.navigation_timed_out(url, marked, ctx.timeout).await,
                None => ActionError::app(format!("cannot open {url}: {}", short(&e))),
            });
        }
        let page = driver
            .execute(PROBE, Vec::new())
            .await
            .map_err(|e| ActionError::app(format!("cannot read the page {url}: {}", short(&e))))?;
        let page = page.json();
        let mut status = page["status"].as_u64().and_then(|s| u16::try_from(s).ok());
        if page["href"]
            .as_str()
            .is_some_and(|h| h.starts_with("chrome-error:"))
        {
            let shown = page["error"].as_str().unwrap_or_default();
            // An error status with an empty body shows Chromium's "HTTP ERROR 500" page:
            // that is an answer with a status, not a network failure.
            match shown
                .strip_prefix("HTTP ERROR ")
                .and_then(|s| s.parse().ok())
            {
                Some(code) => status = Some(code),
                None if shown.starts_with("ERR_") => {
                    return Err(navigation_failed(url, &format!("net::{shown}")));
                }
                None => {
                    return Err(ActionError::app(format!(
                        "cannot open {url}: the browser showed its error page"
                    )));
                }
            }
        } else if page["stayed"] == Value::Bool(true) && !url.contains('#') {
            return Err(self.no_page(url, &downloads).await);
        }
        if let (Some(expected), Some(code)) = (&a.expect_status, status)
            && !expected.allows(code).map_err(ActionError::business)?
        {
            return Err(ActionError::Failed {
                message: format!("{url} answered with HTTP status {code}, expected {expected}"),
                kind: status_kind(code),
            });
        }
        Ok(json!({
            "url": page["href"],
            "title": page["title"],
            "status": status,
        }))
    }

    /// The failure of a navigation that ran out of time, naming the part that was slow:
    /// no page yet (navigating), or a page whose `load` event had not come (waiting for the
    /// page load: an image, a script or a frame it loads is slow).
    async fn navigation_timed_out(
        &self,
        url: &str,
        marked: bool,
        timeout: Duration,
    ) -> ActionError {
        let after = super::locate::human(timeout);
        let probe = async {
            let driver = self.driver().ok()?;
            let page = driver.execute(TIMED_OUT_PROBE, Vec::new()).await.ok()?;
            Some(page.json().clone())
        };
        let page = tokio::time::timeout(TIMED_OUT_PROBE_LIMIT, probe)
            .await
            .ok()
            .flatten()
            // The new page came when the marked old one is gone and the browser shows no
            // page of its own (a start page can replace itself, losing the mark).
            .filter(|page| {
                let href = page["href"].as_str().unwrap_or_default();
                marked
                    && page["stayed"] != Value::Bool(true)
                    && !href.starts_with("chrome")
                    && !href.starts_with("about:")
            });
        let message = match page {
            Some(page) => format!(
                "opening {url} timed out after {after} waiting for the page load: the page \
                 arrived ({}) but its `load` event had not fired, so something it loads (an \
                 image, a script, a frame) is slow or never ends; raise the step's \
                 `timeout_ms` if the page is only slow",
                page["href"].as_str().unwrap_or(url),
            ),
            None => format!(
                "opening {url} timed out after {after} navigating: the server had not sent \
                 the page; raise the step's `timeout_ms` if the site is only slow"
            ),
        };
        ActionError::app(message)
    }

    /// The failure of a navigation that left the old page in place: a download (named, if
    /// its file shows up soon) or an answer without content.
    async fn no_page(
        &self,
        url: &str,
        before: &std::collections::HashSet<std::path::PathBuf>,
    ) -> ActionError {
        let started = std::time::Instant::now();
        let mut downloading = false;
        loop {
            let new: Vec<String> = files(&self.download_dir)
                .difference(before)
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            // Chromium writes `NAME.crdownload` (or `Unconfirmed N.crdownload`) first.
            downloading |= !new.is_empty();
            let done = new
                .iter()
                .find(|n| !n.ends_with(".crdownload") && !n.starts_with('.'));
            let waited = started.elapsed() > DOWNLOAD_GRACE;
            if done.is_some() || waited {
                let what = match done {
                    Some(name) => format!(
                        "it started a download ({name}, saved in {}) instead of opening a page",
                        self.download_dir.display()
                    ),
                    None if downloading => {
                        "it started a download instead of opening a page".to_owned()
                    }
                    None => {
                        "no page opened (the answer was a download or had no content)".to_owned()
                    }
                };
                return ActionError::business(format!(
                    "cannot open {url}: {what}; `browser.download` downloads files"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether WebDriver gave up waiting (the session's page-load timeout, or the HTTP request).
fn is_timeout(error: &WebDriverError) -> bool {
    matches!(
        error.as_inner(),
        WebDriverErrorInner::WebDriverTimeout(_) | WebDriverErrorInner::Timeout(_)
    )
}

/// The `net::ERR_...` code in a message of chromedriver, if any.
fn net_error(text: &str) -> Option<&str> {
    let start = text.find("net::ERR_")?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The failure of a navigation that ended in a network error, classified by [`net_kind`].
fn navigation_failed(url: &str, code: &str) -> ActionError {
    let hint = match code.trim_start_matches("net::") {
        "ERR_FILE_NOT_FOUND" => " (there is no such file)",
        "ERR_CONNECTION_REFUSED" => " (nothing listens at that address)",
        "ERR_NAME_NOT_RESOLVED" => " (the host name is unknown)",
        "ERR_UNSAFE_PORT" => " (Chromium refuses this port)",
        c if c.starts_with("ERR_CERT_") => " (the server's TLS certificate is not accepted)",
        _ => "",
    };
    ActionError::Failed {
        message: format!("cannot open {url}: {code}{hint}"),
        kind: net_kind(code),
    }
}

/// Whether a network error can go away by itself (application: worth retrying) or will
/// be the same on every try (business). The rule is written in docs/workflows.md.
pub(super) fn net_kind(code: &str) -> FailureKind {
    const SAME_EVERY_TIME: &[&str] = &[
        "ERR_FILE_NOT_FOUND",
        "ERR_ACCESS_DENIED",
        "ERR_INVALID_URL",
        "ERR_UNKNOWN_URL_SCHEME",
        "ERR_DISALLOWED_URL_SCHEME",
        "ERR_UNSAFE_PORT",
        "ERR_UNSAFE_REDIRECT",
        "ERR_TOO_MANY_REDIRECTS",
        "ERR_BLOCKED_BY_CLIENT",
        "ERR_BLOCKED_BY_ADMINISTRATOR",
        "ERR_BLOCKED_BY_RESPONSE",
    ];
    let code = code.trim_start_matches("net::");
    if SAME_EVERY_TIME.contains(&code) || code.starts_with("ERR_CERT_") {
        FailureKind::Business
    } else {
        FailureKind::Application
    }
}

/// An unexpected status: a server error, a timeout (408), "too early" (425) or "too many
/// requests" (429) may pass on a later try; any other status will not.
pub(super) fn status_kind(status: u16) -> FailureKind {
    if status >= 500 || matches!(status, 408 | 425 | 429) {
        FailureKind::Application
    } else {
        FailureKind::Business
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_net_error_is_found_in_chromedrivers_message() {
        assert_eq!(
            net_error("unknown error: net::ERR_NAME_NOT_RESOLVED\n  (Session info: ...)"),
            Some("net::ERR_NAME_NOT_RESOLVED")
        );
        assert_eq!(net_error("timeout: Timed out receiving message"), None);
    }

    #[test]
    fn failures_that_cannot_change_are_business() {
        assert_eq!(net_kind("net::ERR_FILE_NOT_FOUND"), FailureKind::Business);
        assert_eq!(
            net_kind("net::ERR_CERT_AUTHORITY_INVALID"),
            FailureKind::Business
        );
        assert_eq!(
            net_kind("net::ERR_CONNECTION_REFUSED"),
            FailureKind::Application
        );
        assert_eq!(
            net_kind("net::ERR_NAME_NOT_RESOLVED"),
            FailureKind::Application
        );
        assert_eq!(status_kind(404), FailureKind::Business);
        assert_eq!(status_kind(200), FailureKind::Business);
        assert_eq!(status_kind(503), FailureKind::Application);
        assert_eq!(status_kind(429), FailureKind::Application);
    }
}
