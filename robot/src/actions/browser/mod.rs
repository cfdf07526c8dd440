//! Browser actions through WebDriver (thirtyfour): starting chromedriver and Chromium,
//! finding elements, waiting until they are actionable, and every `browser.*` action.

use std::path::PathBuf;

use alq_shared::workflow::Action;
use tokio_util::sync::CancellationToken;

use super::{ActionCtx, ActionError, ActionResult};

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

/// A running browser session (and the chromedriver alq started for it, if any).
pub struct Browser {}

impl Browser {
    /// Starts chromedriver (unless a WebDriver URL is given) and a browser session.
    pub async fn start(
        _options: &BrowserOptions,
        _cancel: &CancellationToken,
    ) -> Result<Browser, ActionError> {
        Err(ActionError::app("the browser is not built yet"))
    }

    /// Runs one `browser.*` action; `browser.open` navigates the started browser.
    pub async fn run(&mut self, action: &Action, _ctx: &ActionCtx<'_>) -> ActionResult {
        Err(ActionError::app(format!(
            "`{}` is not built yet",
            action.name()
        )))
    }

    /// A PNG of the page, or `None` when none can be taken (e.g. a dialog is open).
    pub async fn screenshot_png(&self) -> Option<Vec<u8>> {
        None
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> Option<String> {
        None
    }

    /// Ends the session and stops chromedriver; never fails.
    pub async fn quit(self) {}
}
