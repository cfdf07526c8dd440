//! Browser actions through WebDriver (thirtyfour): starting chromedriver and Chromium,
//! finding elements, waiting until they are actionable, and every `browser.*` action.
//!
//! `driver` starts chromedriver and the session, `startup` bounds that start by its own
//! budget and explains a start that failed, `locate` finds elements and waits for
//! them (with the in-page helpers of `page.js`), `elements` holds the actions on one
//! element, `navigate` opening pages, `page` the other actions on the page, frames, tabs and dialogs, `download`
//! downloads, `keys` parses key names, `owner` makes sure no browser outlives alq.

mod download;
mod driver;
mod elements;
mod keys;
mod locate;
mod navigate;
pub mod owner;
mod page;
mod startup;

use std::path::PathBuf;
use std::time::Duration;

use alq_shared::workflow::Action;
use serde_json::Value;
use thirtyfour::prelude::*;
use tokio_util::sync::CancellationToken;

use super::{ActionCtx, ActionError, ActionResult};
use driver::Chromedriver;
pub use driver::kill_all;

/// Extra time a whole action gets beyond its timeout before it is abandoned: the waits
/// inside stop at the timeout, this only catches a WebDriver command that hangs.
const ACTION_GRACE: Duration = Duration::from_secs(5);
/// How long a screenshot or URL query for the engine may take.
const QUICK: Duration = Duration::from_secs(5);
/// The start-up budget of [`Browser::start`].
pub const DEFAULT_STARTUP_TIMEOUT: Duration =
    Duration::from_millis(alq_shared::workflow::DEFAULT_STARTUP_TIMEOUT_MS);

/// How to start the browser.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Run without a window.
    pub headless: bool,
    /// Use this WebDriver server instead of starting chromedriver.
    pub webdriver_url: Option<String>,
    /// Extra Chromium arguments.
    pub args: Vec<String>,
    /// Window size in pixels.
    pub window: [u32; 2],
    /// Where downloads land.
    pub download_dir: PathBuf,
}

/// What a browser action is doing while it runs, to name in a timeout message: a step
/// that timed out says whether it was navigating or waiting for its element.
pub fn phase(action: &Action) -> &'static str {
    match action {
        Action::BrowserOpen(_) | Action::BrowserGoto(_) => "navigating",
        Action::BrowserWaitFor(a) if a.selector.is_none() && a.text.is_none() => {
            "waiting for the URL"
        }
        Action::BrowserWaitFor(a) if a.selector.is_none() => "waiting for the text",
        Action::BrowserScript(_) => "running the script",
        Action::BrowserTab(_) => "waiting for the tab",
        Action::BrowserDialog(_) => "waiting for the dialog",
        Action::BrowserDownload(_) => "waiting for the download",
        Action::BrowserScreenshot(_) => "taking the screenshot",
        Action::BrowserClose(_) => "closing the browser",
        _ => "waiting for the element",
    }
}

/// A running browser session (and the chromedriver alq started for it, if any).
pub struct Browser {
    /// `None` only after `quit` or during `drop`.
    driver: Option<WebDriver>,
    /// The chromedriver alq started; `None` with `webdriver_url`.
    chromedriver: Option<Chromedriver>,
    /// Window handles in the order they opened, for `browser.tab` by index.
    tabs: Vec<WindowHandle>,
    /// Where downloads land (absolute).
    download_dir: PathBuf,
    /// Number of `browser.screenshot` files saved so far, for default names.
    screenshots: u32,
    /// The script and page-load timeout last sent to the session.
    session_timeout: Option<Duration>,
}

impl Browser {
    /// Starts chromedriver (unless a WebDriver URL is given) and a browser session,
    /// within the default start-up budget.
    pub async fn start(
        options: &BrowserOptions,
        cancel: &CancellationToken,
    ) -> Result<Browser, ActionError> {
        Self::start_within(options, DEFAULT_STARTUP_TIMEOUT, cancel).await
    }

    /// Starts chromedriver (unless a WebDriver URL is given) and a browser session; all
    /// of it must be done within `budget`, or it fails with a message that says what was
    /// being started, how far it got, and what chromedriver said last.
    pub async fn start_within(
        options: &BrowserOptions,
        budget: Duration,
        cancel: &CancellationToken,
    ) -> Result<Browser, ActionError> {
        let chromedriver = match &options.webdriver_url {
            Some(_) => None,
            // Absolute, so a message names it whatever the current folder.
            None => {
                Some(driver::find_chromedriver().map(|p| std::path::absolute(&p).unwrap_or(p))?)
            }
        };
        let startup = startup::Startup::new(budget, chromedriver, startup::Chrome::find()?);
        // On timeout the start is dropped half-way: the chromedriver it holds is killed.
        match tokio::time::timeout(budget, Self::start_with(options, &startup, cancel)).await {
            Ok(started) => started,
            Err(_) => Err(startup.timed_out()),
        }
    }

    async fn start_with(
        options: &BrowserOptions,
        startup: &startup::Startup,
        cancel: &CancellationToken,
    ) -> Result<Browser, ActionError> {
        // thirtyfour's HTTP client uses rustls; a second install is refused, harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let download_dir = std::path::absolute(&options.download_dir)
            .and_then(|dir| std::fs::create_dir_all(&dir).map(|()| dir))
            .map_err(|e| {
                ActionError::app(format!(
                    "cannot create the download folder {}: {e}",
                    options.download_dir.display()
                ))
            })?;
        let (url, chromedriver) = match (&options.webdriver_url, &startup.chromedriver) {
            (Some(url), _) => (url.clone(), None),
            (None, Some(program)) => {
                let chromedriver = Chromedriver::spawn(program, startup, cancel).await?;
                (chromedriver.url.clone(), Some(chromedriver))
            }
            (None, None) => return Err(ActionError::app("no chromedriver to start")),
        };
        let profile = chromedriver.as_ref().map(|c| c.home.path().join("profile"));
        let driver = driver::new_session(
            &url,
            options,
            profile.as_deref(),
            &download_dir,
            startup,
            cancel,
        )
        .await;
        let mut browser = Browser {
            driver: None,
            chromedriver,
            tabs: Vec::new(),
            download_dir,
            screenshots: 0,
            session_timeout: None,
        };
        // On error `browser` drops here and stops the chromedriver it holds.
        browser.driver = Some(driver?);
        if let Some(driver) = &browser.driver {
            browser.tabs = driver.window().await.into_iter().collect();
        }
        Ok(browser)
    }

    /// The session; an error only after `quit`.
    fn driver(&self) -> WebDriverResult<&WebDriver> {
        self.driver
            .as_ref()
            .ok_or_else(|| WebDriverError::FatalError("the browser was closed".into()))
    }

    /// Runs one `browser.*` action; `browser.open` navigates the started browser.
    pub async fn run(&mut self, action: &Action, ctx: &ActionCtx<'_>) -> ActionResult {
        let name = action.name();
        let limit = ctx.timeout + ACTION_GRACE;
        let result = tokio::select! {
            result = self.dispatch(action, ctx) => result,
            _ = ctx.cancel.cancelled() => return Err(ActionError::Cancelled),
            _ = tokio::time::sleep(limit) => None,
        };
        match result {
            Some(result) => result,
            None => Err(ActionError::app(format!(
                "`{name}` did not finish within {} ({}) on {}; the browser stopped answering",
                locate::human(limit),
                phase(action),
                self.page_name().await
            ))),
        }
    }

    /// Runs the action; `None` never happens here, it is the timeout arm of `run`.
    async fn dispatch(&mut self, action: &Action, ctx: &ActionCtx<'_>) -> Option<ActionResult> {
        Some(match action {
            Action::BrowserOpen(a) | Action::BrowserGoto(a) => self.goto(a, ctx).await,
            Action::BrowserClick(a) => self.click(a, ctx).await,
            Action::BrowserType(a) => self.type_text(a, ctx).await,
            Action::BrowserPress(a) => self.press(a, ctx).await,
            Action::BrowserSelect(a) => self.select(a, ctx).await,
            Action::BrowserCheck(a) => self.check(a, ctx).await,
            Action::BrowserHover(a) => self.hover(a.selector.as_str(), ctx).await,
            Action::BrowserUpload(a) => self.upload(a, ctx).await,
            Action::BrowserWaitFor(a) => self.wait_for(a, ctx).await,
            Action::BrowserExtract(a) => self.extract(a, ctx).await,
            Action::BrowserScreenshot(a) => self.screenshot(a, ctx).await,
            Action::BrowserScript(a) => self.script(a, ctx).await,
            Action::BrowserFrame(a) => self.frame(a, ctx).await,
            Action::BrowserTab(a) => self.tab(a, ctx).await,
            Action::BrowserDialog(a) => self.dialog(a, ctx).await,
            Action::BrowserDownload(a) => self.download(a, ctx).await,
            // The engine ends the session itself (it calls `quit`); nothing to do here.
            Action::BrowserClose(_) => Ok(Value::Null),
            other => Err(ActionError::app(format!(
                "`{}` is not a browser action",
                other.name()
            ))),
        })
    }

    /// Makes the session's script and page-load timeouts match this step's timeout, so a
    /// slow page or script fails the step instead of hanging for chromedriver's 300 s.
    async fn apply_timeout(&mut self, timeout: Duration) -> WebDriverResult<()> {
        if self.session_timeout != Some(timeout) {
            let config =
                TimeoutConfiguration::new(Some(timeout), Some(timeout), Some(Duration::ZERO));
            self.driver()?.update_timeouts(config).await?;
            self.session_timeout = Some(timeout);
        }
        Ok(())
    }

    /// A PNG of the page, or `None` when none can be taken (e.g. a dialog is open).
    pub async fn screenshot_png(&self) -> Option<Vec<u8>> {
        let driver = self.driver().ok()?;
        tokio::time::timeout(QUICK, driver.screenshot_as_png())
            .await
            .ok()?
            .ok()
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> Option<String> {
        let driver = self.driver().ok()?;
        let url = tokio::time::timeout(QUICK, driver.current_url())
            .await
            .ok()?
            .ok()?;
        Some(url.to_string())
    }

    /// Ends the session and stops chromedriver; never fails.
    pub async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            // Ending the session makes chromedriver stop Chromium and wait for it.
            let _ = tokio::time::timeout(Duration::from_secs(10), driver.quit()).await;
        }
        if let Some(chromedriver) = self.chromedriver.take() {
            chromedriver.stop().await;
        }
    }
}

impl Drop for Browser {
    /// The path for panics and abandoned runs. With our own chromedriver, killing its
    /// process group stops Chromium too, so the session is leaked rather than ended by
    /// thirtyfour's blocking teardown (which waits up to the request timeout). With a
    /// remote WebDriver server, thirtyfour's teardown is the only way to end the session.
    fn drop(&mut self) {
        let driver = self.driver.take();
        match self.chromedriver.take() {
            Some(chromedriver) => {
                if let Some(driver) = driver {
                    let _ = driver.leak();
                }
                drop(chromedriver);
            }
            None => drop(driver),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(step: serde_json::Value) -> Action {
        let workflow = serde_json::json!({ "name": "t", "steps": [step] });
        let mut parsed =
            alq_shared::workflow::parse("t.json", &workflow.to_string()).expect("valid step");
        parsed.steps.remove(0).action
    }

    #[test]
    fn a_timeout_names_what_the_action_was_doing() {
        for (step, expected) in [
            (
                serde_json::json!({"action": "browser.open", "url": "http://x"}),
                "navigating",
            ),
            (
                serde_json::json!({"action": "browser.goto", "url": "http://x"}),
                "navigating",
            ),
            (
                serde_json::json!({"action": "browser.click", "selector": "#a"}),
                "waiting for the element",
            ),
            (
                serde_json::json!({"action": "browser.wait_for", "url": "/done"}),
                "waiting for the URL",
            ),
            (
                serde_json::json!({"action": "browser.wait_for", "text": "Done"}),
                "waiting for the text",
            ),
            (
                serde_json::json!({"action": "browser.script", "script": "return 1"}),
                "running the script",
            ),
        ] {
            assert_eq!(phase(&action(step.clone())), expected, "{step}");
        }
    }
}
