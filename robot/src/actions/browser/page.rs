//! Actions on the page rather than one element: waiting for states, text or
//! URLs, screenshots, scripts, frames, tabs and dialogs.

use std::path::{Path, PathBuf};

use alq_shared::workflow::{
    DialogArgs, ElementState, FrameArgs, ScreenshotArgs, ScriptArgs, TabArgs, WaitForArgs,
};
use serde_json::{Value, json};
use thirtyfour::error::WebDriverErrorInner;
use thirtyfour::prelude::*;

use super::Browser;
use super::locate::{Need, Selector, Waiter, short};
use crate::actions::{Access, ActionCtx, ActionError, ActionResult};

/// A WebDriver error as an application failure, with what was being done.
fn failed(what: &str, error: &WebDriverError) -> ActionError {
    ActionError::app(format!("{what}: {}", short(error)))
}

impl Browser {
    /// `{url, title}` of the current page.
    async fn location(&self) -> ActionResult {
        let driver = self.driver().map_err(|e| failed("no page", &e))?;
        let url = driver
            .current_url()
            .await
            .map_err(|e| failed("cannot read the URL", &e))?;
        let title = driver
            .title()
            .await
            .map_err(|e| failed("cannot read the title", &e))?;
        Ok(json!({ "url": url.as_str(), "title": title }))
    }

    /// `browser.wait_for`: an element state, a text anywhere in the page, or a URL.
    /// Output: the URL for `url`, else null.
    pub(super) async fn wait_for(&self, a: &WaitForArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let mut wait = Waiter::new(ctx);
        match (&a.selector, &a.text, &a.url) {
            (Some(selector), None, None) => {
                self.wait_state(&Selector::parse(selector.as_str()), a.state, &mut wait)
                    .await
            }
            (None, Some(text), None) => loop {
                match self.helper("hasText", json!(text.as_str())).await {
                    Ok(Value::Bool(true)) => return Ok(Value::Null),
                    Ok(_) => {}
                    Err(e) if matches!(&*e, WebDriverErrorInner::JavascriptError(_)) => {}
                    Err(e) => {
                        return Err(failed(&format!("waiting for text {:?}", text.as_str()), &e));
                    }
                }
                if !wait.pause().await? {
                    let (t, page) = (wait.timeout_text(), self.page_name().await);
                    return Err(ActionError::app(format!(
                        "text {:?} did not appear after {t} on {page}",
                        text.as_str()
                    )));
                }
            },
            (None, None, Some(part)) => loop {
                let url = self.current_url().await.unwrap_or_default();
                if url.contains(part.as_str()) {
                    return Ok(json!(url));
                }
                if !wait.pause().await? {
                    return Err(ActionError::app(format!(
                        "the page URL did not contain {:?} after {}; it is {url}",
                        part.as_str(),
                        wait.timeout_text()
                    )));
                }
            },
            _ => Err(ActionError::app(
                "give exactly one of `selector`, `text`, `url`",
            )),
        }
    }

    /// Waits for an element to become visible, attached, hidden or detached.
    async fn wait_state(
        &self,
        selector: &Selector,
        state: ElementState,
        wait: &mut Waiter<'_>,
    ) -> ActionResult {
        let need = match state {
            ElementState::Visible => Need::Visible,
            ElementState::Attached => Need::Attached,
            ElementState::Hidden | ElementState::Detached => {
                let need = if state == ElementState::Hidden {
                    Need::Visible
                } else {
                    Need::Attached
                };
                loop {
                    match self.probe(selector, need).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => return Ok(Value::Null),
                        Err(e) if super::locate::transient(&e).is_some() => {}
                        Err(e) => return Err(self.fail_with(selector, &e).await),
                    }
                    if !wait.pause().await? {
                        let (t, page) = (wait.timeout_text(), self.page_name().await);
                        let (want, still) = if state == ElementState::Hidden {
                            ("hidden", "visible")
                        } else {
                            ("detached", "in the page")
                        };
                        return Err(ActionError::app(format!(
                            "timed out after {t} waiting for the element {:?} to be {want}: \
                             it is still {still} on {page}",
                            selector.raw
                        )));
                    }
                }
            }
        };
        self.wait_element(selector, need, wait).await?;
        Ok(Value::Null)
    }

    /// `browser.screenshot`: saves a PNG. Output: its absolute path.
    pub(super) async fn screenshot(
        &mut self,
        a: &ScreenshotArgs,
        ctx: &ActionCtx<'_>,
    ) -> ActionResult {
        let png = match self.driver() {
            Ok(driver) => driver.screenshot_as_png().await,
            Err(e) => Err(e),
        };
        let png = png.map_err(|e| failed("cannot take a screenshot (is a dialog open?)", &e))?;
        let path = match &a.path {
            Some(path) => ctx.path("browser.screenshot", path.as_str(), Access::Write)?,
            None => loop {
                self.screenshots += 1;
                let path = ctx
                    .run_dir
                    .join(format!("screenshot-{}.png", self.screenshots));
                if !path.exists() {
                    break path;
                }
            },
        };
        let path = write_file(&path, &png)?;
        Ok(json!(path.display().to_string()))
    }

    /// `browser.script`: runs JavaScript with `args`. Output: what it returns, as JSON.
    pub(super) async fn script(&mut self, a: &ScriptArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        self.apply_timeout(ctx.timeout)
            .await
            .map_err(|e| failed("cannot set timeouts", &e))?;
        let driver = self.driver().map_err(|e| failed("no page", &e))?;
        match driver.execute(a.script.as_str(), a.args.clone()).await {
            Ok(ret) => Ok(ret.json().clone()),
            Err(e) => Err(failed(
                &format!("the script failed on {}", self.page_name().await),
                &e,
            )),
        }
    }

    /// `browser.frame`: enters an iframe (later actions work inside it), or goes back to
    /// the top page with `null`.
    pub(super) async fn frame(&self, a: &FrameArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let driver = self.driver().map_err(|e| failed("no page", &e))?;
        match &a.selector {
            None => driver
                .enter_default_frame()
                .await
                .map_err(|e| failed("cannot leave the frame", &e))?,
            Some(selector) => {
                let selector = Selector::parse(selector.as_str());
                let mut wait = Waiter::new(ctx);
                self.act(&selector, Need::Visible, &mut wait, async |target| {
                    target.el.clone().enter_frame().await
                })
                .await?;
            }
        }
        Ok(Value::Null)
    }

    /// `browser.tab`: switches to a tab or popup by index, URL or title, waiting for it to
    /// open. Output: `{url, title}`.
    pub(super) async fn tab(&mut self, a: &TabArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let wanted = match (a.index, &a.url, &a.title) {
            (Some(i), None, None) => format!("number {i}"),
            (None, Some(u), None) => format!("with a URL containing {:?}", u.as_str()),
            (None, None, Some(t)) => format!("with a title containing {:?}", t.as_str()),
            _ => {
                return Err(ActionError::app(
                    "give exactly one of `index`, `url`, `title`",
                ));
            }
        };
        let driver = self.driver().map_err(|e| failed("no page", &e))?.clone();
        let original = driver.window().await.ok();
        let wait = Waiter::new(ctx);
        let mut seen = Vec::new();
        loop {
            let open = driver
                .windows()
                .await
                .map_err(|e| failed("cannot list the tabs", &e))?;
            self.tabs.retain(|t| open.contains(t));
            for handle in open {
                if !self.tabs.contains(&handle) {
                    self.tabs.push(handle);
                }
            }
            seen.clear();
            if let Some(i) = a.index {
                if let Some(handle) = self.tabs.get(i as usize) {
                    driver
                        .switch_to_window(handle.clone())
                        .await
                        .map_err(|e| failed("cannot switch tabs", &e))?;
                    return self.location().await;
                }
            } else {
                for handle in self.tabs.clone() {
                    if driver.switch_to_window(handle).await.is_err() {
                        continue;
                    }
                    let url = driver
                        .current_url()
                        .await
                        .map(|u| u.to_string())
                        .unwrap_or_default();
                    let title = driver.title().await.unwrap_or_default();
                    let hit = match (&a.url, &a.title) {
                        (Some(u), _) => url.contains(u.as_str()),
                        (_, Some(t)) => title.contains(t.as_str()),
                        _ => false,
                    };
                    if hit {
                        return Ok(json!({ "url": url, "title": title }));
                    }
                    seen.push(format!("{title:?} at {url}"));
                }
            }
            if !wait.pause().await? {
                if let Some(original) = original {
                    let _ = driver.switch_to_window(original).await;
                }
                let open = if seen.is_empty() {
                    format!("{} open", self.tabs.len())
                } else {
                    seen.join(", ")
                };
                return Err(ActionError::app(format!(
                    "no tab {wanted} opened within {}; tabs: {open}",
                    wait.timeout_text()
                )));
            }
        }
    }

    /// `browser.dialog`: waits for an alert, confirm or prompt, types `text` into a
    /// prompt, then accepts or dismisses it. Output: the dialog's message.
    pub(super) async fn dialog(&self, a: &DialogArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let driver = self.driver().map_err(|e| failed("no page", &e))?;
        let wait = Waiter::new(ctx);
        let message = loop {
            match driver.get_alert_text().await {
                Ok(message) => break message,
                Err(e) if matches!(&*e, WebDriverErrorInner::NoSuchAlert(_)) => {}
                Err(e) => return Err(failed("cannot read the dialog", &e)),
            }
            if !wait.pause().await? {
                let page = self.page_name().await;
                return Err(ActionError::app(format!(
                    "no dialog opened within {} on {page}",
                    wait.timeout_text()
                )));
            }
        };
        if let Some(text) = &a.text {
            driver
                .send_alert_text(text.as_str())
                .await
                .map_err(|e| failed("cannot type into the dialog", &e))?;
        }
        let answered = if a.accept {
            driver.accept_alert().await
        } else {
            driver.dismiss_alert().await
        };
        answered.map_err(|e| failed("cannot answer the dialog", &e))?;
        Ok(json!(message))
    }
}

pub(super) fn absolute(path: &Path) -> Result<PathBuf, ActionError> {
    std::path::absolute(path)
        .map_err(|e| ActionError::app(format!("bad path {}: {e}", path.display())))
}

/// Writes a file, creating its folder. Returns its absolute path.
fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf, ActionError> {
    let path = absolute(path)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ActionError::app(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(&path, bytes)
        .map_err(|e| ActionError::app(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}
