//! Finding elements and waiting until they are actionable: the selector syntax, the
//! in-page probe (page.js) and the retry loop with its failure messages.

use std::time::Duration;

use serde_json::{Value, json};
use thirtyfour::error::WebDriverErrorInner;
use thirtyfour::prelude::*;
use tokio::time::Instant;

use super::Browser;
use crate::actions::{ActionCtx, ActionError};

/// The in-page helpers; see the comment at the top of the file.
const PAGE_JS: &str = include_str!("page.js");

/// How long to pause between two tries: short, so a ready element is used at once.
const POLL: Duration = Duration::from_millis(50);

/// A parsed selector: `xpath=`, `id=`, `text=`, or CSS.
#[derive(Debug, Clone)]
pub(super) struct Selector {
    /// As the workflow wrote it, for messages.
    pub(super) raw: String,
    kind: &'static str,
    value: String,
}

impl Selector {
    /// Reads a selector as written in a workflow.
    pub(super) fn parse(raw: &str) -> Selector {
        let (kind, value) = [
            ("xpath=", "xpath"),
            ("id=", "id"),
            ("text=", "text"),
            ("css=", "css"),
        ]
        .iter()
        .find_map(|(prefix, kind)| raw.strip_prefix(prefix).map(|rest| (*kind, rest)))
        .unwrap_or(("css", raw));
        Selector {
            raw: raw.to_owned(),
            kind,
            value: value.to_owned(),
        }
    }

    /// The selector as page.js reads it.
    pub(super) fn json(&self) -> Value {
        json!({ "kind": self.kind, "value": self.value })
    }
}

/// How ready an element must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// In the page (file inputs, attributes).
    Attached,
    /// In the page and visible.
    Visible,
    /// Visible, enabled, not moving, scrolled into view.
    Enabled,
    /// All of the above and not covered by another element at its centre (clicks, typing).
    Clickable,
}

/// Why an element was not ready yet, kept for the message after the timeout.
#[derive(Debug, Clone)]
pub(super) enum Unmet {
    /// Nothing matched.
    Missing,
    /// It was not visible.
    Hidden,
    /// It was disabled.
    Disabled,
    /// Its box changed between two animation frames.
    Moving,
    /// Another element (described) would get the click.
    Covered(String),
    /// Anything else, said in words.
    Other(String),
}

/// The deadline of one action, its cancellation and the last reason it was not done yet.
pub(super) struct Waiter<'a> {
    deadline: Instant,
    timeout: Duration,
    cancel: &'a tokio_util::sync::CancellationToken,
    /// The latest reason the action could not finish.
    pub(super) unmet: Unmet,
}

impl<'a> Waiter<'a> {
    /// Starts the clock of an action.
    pub(super) fn new(ctx: &'a ActionCtx<'_>) -> Waiter<'a> {
        Waiter {
            deadline: Instant::now() + ctx.timeout,
            timeout: ctx.timeout,
            cancel: ctx.cancel,
            unmet: Unmet::Missing,
        }
    }

    /// Waits before the next try; `false` when the time is up.
    pub(super) async fn pause(&self) -> Result<bool, ActionError> {
        let now = Instant::now();
        if now >= self.deadline {
            return Ok(false);
        }
        let until = (now + POLL).min(self.deadline);
        tokio::select! {
            _ = self.cancel.cancelled() => Err(ActionError::Cancelled),
            _ = tokio::time::sleep_until(until) => Ok(true),
        }
    }

    /// The timeout as people write it: `10s`, `1.5s`, `500ms`.
    pub(super) fn timeout_text(&self) -> String {
        human(self.timeout)
    }
}

/// A duration as people write it.
pub(super) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The first line of a message (chromedriver appends session details).
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}

/// A WebDriver error in one line, without the status, state and stack trace that
/// thirtyfour's `Display` adds.
pub(super) fn short(error: &WebDriverError) -> String {
    let text = error.to_string();
    let head = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches(':');
    match text.split("Additional info:").nth(1) {
        Some(rest) => match rest.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(detail) => format!("{head}: {detail}"),
            None => head.to_owned(),
        },
        None => head.to_owned(),
    }
}

/// Whether a WebDriver error only means "not yet": the page changed under us, the element
/// went stale, or something covered it. The next try finds the element again.
pub(super) fn transient(error: &WebDriverError) -> Option<Unmet> {
    Some(match &**error {
        WebDriverErrorInner::StaleElementReference(_) | WebDriverErrorInner::NoSuchElement(_) => {
            Unmet::Missing
        }
        WebDriverErrorInner::ElementClickIntercepted(info) => {
            let message = info.value.message.as_str();
            let cover = message
                .split("Other element would receive the click: ")
                .nth(1)
                .and_then(|rest| rest.split('\n').next())
                .unwrap_or("another element");
            Unmet::Covered(cover.trim().to_owned())
        }
        WebDriverErrorInner::ElementNotInteractable(_) => {
            Unmet::Other("it could not be interacted with".into())
        }
        WebDriverErrorInner::MoveTargetOutOfBounds(_) => {
            Unmet::Other("it was outside the window".into())
        }
        // A navigation destroyed the script's context; the new page gets the next try.
        WebDriverErrorInner::JavascriptError(info) => Unmet::Other(first_line(&info.value.message)),
        _ => return None,
    })
}

impl Browser {
    /// Runs a page.js helper synchronously and returns its JSON result.
    pub(super) async fn helper(&self, op: &str, input: Value) -> WebDriverResult<Value> {
        let ret = self
            .driver()?
            .execute(PAGE_JS, vec![json!(op), input])
            .await?;
        Ok(ret.json().clone())
    }

    /// Watches where the next click's pointer events land (page.js `guard`); false when
    /// the guard could not be set, and the click goes unguarded as before.
    pub(super) async fn guard(&self, element: &WebElement) -> bool {
        let Ok(el) = element.to_json() else {
            return false;
        };
        self.helper("guard", el).await.is_ok()
    }

    /// What the guarded click hit instead of its element, if it was stopped. An error
    /// here (the click navigated, or opened a dialog) means nothing was stopped: a stopped
    /// press runs no page handler that could do either.
    pub(super) async fn guard_result(&self) -> Option<String> {
        // A script cannot run while an alert is open (it would wait for the alert), and
        // an alert means a handler ran: the click was not stopped.
        if self.driver().ok()?.get_alert_text().await.is_ok() {
            return None;
        }
        let read = self.helper("guardResult", Value::Null);
        let out = tokio::time::timeout(super::QUICK, read).await.ok()?.ok()?;
        out["blocked"].as_str().map(str::to_owned)
    }

    /// One look at the element: `Ok(el)` when it meets `need`, else why not.
    pub(super) async fn probe(
        &self,
        selector: &Selector,
        need: Need,
    ) -> WebDriverResult<Result<WebElement, Unmet>> {
        let input = json!({
            "selector": selector.json(),
            "visible": need != Need::Attached,
            "enabled": matches!(need, Need::Enabled | Need::Clickable),
            "stable": matches!(need, Need::Enabled | Need::Clickable),
            "hit": need == Need::Clickable,
        });
        let driver = self.driver()?;
        let ret = driver
            .execute_async(PAGE_JS, vec![json!("probe"), input])
            .await?;
        let out = ret.json();
        let detail = || out["detail"].as_str().unwrap_or_default().to_owned();
        Ok(match out["state"].as_str().unwrap_or_default() {
            "ok" => Ok(WebElement::from_json(
                out["el"].clone(),
                driver.handle().clone(),
            )?),
            "none" => Err(Unmet::Missing),
            "hidden" => Err(Unmet::Hidden),
            "disabled" => Err(Unmet::Disabled),
            "moving" => Err(Unmet::Moving),
            "covered" => Err(Unmet::Covered(detail())),
            "invalid" => {
                return Err(WebDriverError::InvalidSelector(
                    thirtyfour::error::WebDriverErrorInfo::new(detail()),
                ));
            }
            other => Err(Unmet::Other(format!("unexpected probe answer {other:?}"))),
        })
    }

    /// Finds the element again and again until it meets `need`, the time is up, or the
    /// run is cancelled. Errors name the selector, what was not met, and the page.
    pub(super) async fn wait_element(
        &self,
        selector: &Selector,
        need: Need,
        wait: &mut Waiter<'_>,
    ) -> Result<WebElement, ActionError> {
        loop {
            match self.probe(selector, need).await {
                Ok(Ok(element)) => return Ok(element),
                Ok(Err(unmet)) => wait.unmet = unmet,
                Err(error) => match transient(&error) {
                    Some(unmet) => wait.unmet = unmet,
                    None => return Err(self.fail_with(selector, &error).await),
                },
            }
            if !wait.pause().await? {
                return Err(self.timed_out(selector, wait).await);
            }
        }
    }

    /// The message for an element that never became ready.
    pub(super) async fn timed_out(&self, selector: &Selector, wait: &Waiter<'_>) -> ActionError {
        let page = self.page_name().await;
        let t = wait.timeout_text();
        let sel = &selector.raw;
        ActionError::app(match &wait.unmet {
            Unmet::Missing => format!("no element matches {sel:?} after {t} on {page}"),
            Unmet::Hidden => format!("element {sel:?} was not visible after {t} on {page}"),
            Unmet::Disabled => format!("element {sel:?} was disabled for {t} on {page}"),
            Unmet::Moving => format!("element {sel:?} kept moving for {t} on {page}"),
            Unmet::Covered(by) => format!("element {sel:?} was covered by {by} for {t} on {page}"),
            Unmet::Other(why) => {
                format!("element {sel:?} was not usable after {t} ({why}) on {page}")
            }
        })
    }

    /// The message for a WebDriver error that waiting cannot fix.
    pub(super) async fn fail_with(
        &self,
        selector: &Selector,
        error: &WebDriverError,
    ) -> ActionError {
        let page = self.page_name().await;
        let sel = &selector.raw;
        match &**error {
            WebDriverErrorInner::InvalidSelector(info) => ActionError::app(format!(
                "the selector {sel:?} is not valid ({}) on {page}",
                first_line(&info.value.message)
            )),
            WebDriverErrorInner::UnexpectedAlertOpen(_) => ActionError::app(format!(
                "a dialog is open on {page}; answer it with browser.dialog before using {sel:?}"
            )),
            _ => ActionError::app(format!("element {sel:?} on {page}: {}", short(error))),
        }
    }

    /// The current URL for messages, or a phrase when it cannot be read (dialog open).
    pub(super) async fn page_name(&self) -> String {
        self.current_url()
            .await
            .unwrap_or_else(|| "the current page".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_css_unless_prefixed() {
        let css = Selector::parse("div > a[href='x=1']");
        assert_eq!(
            css.json(),
            json!({"kind": "css", "value": "div > a[href='x=1']"})
        );
        assert_eq!(Selector::parse("xpath=//a").json()["kind"], "xpath");
        assert_eq!(
            Selector::parse("id=a.b").json(),
            json!({"kind": "id", "value": "a.b"})
        );
        let text = Selector::parse("text=Sign in");
        assert_eq!(text.json(), json!({"kind": "text", "value": "Sign in"}));
        assert_eq!(text.raw, "text=Sign in");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }
}
