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
/// The helpers and the actionability check, sent only for a `probe` that needs it (the
/// check is most of the text, and every call sends its script).
const PROBE_JS: &str = concat!(include_str!("actionable.js"), include_str!("page.js"));

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

/// How ready an element must be: what the action does decides what a person would wait
/// for (docs/workflows.md, "Selectors and waiting", lists it per action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// In the page (file inputs, attributes).
    Attached,
    /// In the page and visible.
    Visible,
    /// Visible, enabled, stable and in view, then focused (`browser.press` on an element).
    Focus,
    /// Visible, stable, in view and receiving the pointer at its action point (hover).
    Pointer,
    /// All of `Pointer` and enabled; the press is checked where it lands (clicks).
    Click,
    /// All of `Pointer` and enabled; WebDriver picks the option (`browser.select`).
    Pick,
    /// All of `Pointer`, enabled and editable, then focused (typing).
    Type,
}

impl Need {
    /// Whether the element must be stable, in view and (mostly) hit-testable: the part
    /// of the check in actionable.js.
    fn acts(self) -> bool {
        !matches!(self, Need::Attached | Need::Visible)
    }

    /// The script of its probe.
    fn script(self) -> &'static str {
        if self.acts() { PROBE_JS } else { PAGE_JS }
    }

    /// The flags page.js reads.
    fn json(self, selector: &Selector) -> Value {
        use Need::*;
        json!({
            "selector": selector.json(),
            "visible": self != Attached,
            "enabled": matches!(self, Focus | Click | Pick | Type),
            "editable": self == Type,
            "act": self.acts(),
            "hit": matches!(self, Pointer | Click | Pick | Type),
            "guard": matches!(self, Pointer | Click),
            "focus": matches!(self, Focus | Type),
        })
    }
}

/// An element ready for its action, and where to act on it.
pub(super) struct Target {
    /// The element.
    pub(super) el: WebElement,
    /// The action point in the top page's viewport, in whole pixels, when it could be
    /// computed (not inside a cross-origin frame); the pointer goes there.
    pub(super) point: Option<(i64, i64)>,
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
    /// It was read-only (typing).
    ReadOnly,
    /// Its box changed between two animation frames.
    Moving,
    /// Another element (described) would get the pointer at the action point.
    Covered(String),
    /// No scrolling brought any of it into the visible part of the box (described) that
    /// clips it; `None` when the window itself cut it off.
    Clipped(Option<String>),
    /// It did not take the keyboard focus.
    Unfocusable,
    /// Anything else, said in words.
    Other(String),
}

impl Unmet {
    /// What was not met, as the end of a sentence about the element.
    fn reason(&self) -> String {
        match self {
            Unmet::Missing => "no element matches it".into(),
            Unmet::Hidden => "it is not visible".into(),
            Unmet::Disabled => "it is disabled".into(),
            Unmet::ReadOnly => "it is read-only".into(),
            Unmet::Moving => "it kept moving (its box changed between two animation frames)".into(),
            Unmet::Covered(by) => format!("it is covered by {by} at its action point"),
            Unmet::Clipped(Some(by)) => {
                format!("it is outside the visible part of its scroll container {by}")
            }
            Unmet::Clipped(None) => "it is outside the visible part of the window".into(),
            Unmet::Unfocusable => "it does not take the keyboard focus".into(),
            Unmet::Other(why) => why.clone(),
        }
    }
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
            Unmet::Other("WebDriver could not interact with it".into())
        }
        WebDriverErrorInner::MoveTargetOutOfBounds(_) => Unmet::Clipped(None),
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

    /// What the guarded click hit instead of its element, if it was stopped. An error
    /// here (the click navigated, or opened a dialog) means nothing was stopped: a stopped
    /// press runs no page handler that could do either.
    pub(super) async fn guard_result(&self) -> Option<String> {
        // With an alert open (a handler ran: the click was not stopped) chromedriver
        // answers the script at once with "unexpected alert open" and leaves the alert
        // for `browser.dialog` (the session's `unhandledPromptBehavior` is `ignore`).
        let read = self.helper("guardResult", Value::Null);
        let out = tokio::time::timeout(super::QUICK, read).await.ok()?.ok()?;
        out["blocked"].as_str().map(str::to_owned)
    }

    /// One look at the element: `Ok(target)` when it meets `need`, else why not. With
    /// `Click` and `Pointer` the page now watches where the next press lands (page.js
    /// `guard`); with `Focus` and `Type` the element has the keyboard focus.
    pub(super) async fn probe(
        &self,
        selector: &Selector,
        need: Need,
    ) -> WebDriverResult<Result<Target, Unmet>> {
        let driver = self.driver()?;
        let ret = driver
            .execute_async(need.script(), vec![json!("probe"), need.json(selector)])
            .await?;
        let out = ret.json();
        let detail = || out["detail"].as_str().unwrap_or_default().to_owned();
        Ok(match out["state"].as_str().unwrap_or_default() {
            "ok" => {
                let el = WebElement::from_json(out["el"].clone(), driver.handle().clone())?;
                let point = match (out["point"][0].as_i64(), out["point"][1].as_i64()) {
                    (Some(x), Some(y)) => Some((x, y)),
                    _ => None,
                };
                Ok(Target { el, point })
            }
            "none" => Err(Unmet::Missing),
            "hidden" => Err(Unmet::Hidden),
            "disabled" => Err(Unmet::Disabled),
            "readonly" => Err(Unmet::ReadOnly),
            "moving" => Err(Unmet::Moving),
            "covered" => Err(Unmet::Covered(detail())),
            "clipped" => Err(Unmet::Clipped(out["detail"].as_str().map(str::to_owned))),
            "unfocusable" => Err(Unmet::Unfocusable),
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
    ) -> Result<Target, ActionError> {
        loop {
            match self.probe(selector, need).await {
                Ok(Ok(target)) => return Ok(target),
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

    /// The message for an element that never became ready: the phase (waiting for the
    /// element), the selector, what was not met and the page.
    pub(super) async fn timed_out(&self, selector: &Selector, wait: &Waiter<'_>) -> ActionError {
        let page = self.page_name().await;
        ActionError::app(format!(
            "timed out after {} waiting for the element {:?}: {} on {page}",
            wait.timeout_text(),
            selector.raw,
            wait.unmet.reason()
        ))
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
