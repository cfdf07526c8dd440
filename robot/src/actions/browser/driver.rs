//! Starting chromedriver and a Chromium session: finding the driver, a free loopback
//! port, the capabilities alq always wants, and stopping everything again. How long all
//! of it may take is the start-up budget's business (`startup`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;
use thirtyfour::prelude::*;
use thirtyfour::{AlertBehaviour, ChromeCapabilities};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::startup::{Phase, Startup};
use super::{BrowserOptions, owner};
use crate::actions::ActionError;
use crate::doctor::{self, Found};

/// The HTTP timeout of every WebDriver command of a session: only a backstop for a
/// command that hangs (actions stop at their own timeouts), and at least the start-up
/// budget, which the session's first command (creating it) runs under.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A chromedriver process alq started, with the folder that holds Chromium's profile and
/// temporary files. Dropping it kills chromedriver and removes the folder.
pub(super) struct Chromedriver {
    /// Killed on drop, so a panic or an abandoned future leaves no driver behind.
    child: Child,
    /// Its pid from the start, kept because `child.id()` is gone once it is reaped:
    /// the entry in [`RUNNING`] is removed by this pid whatever happened.
    pid: Option<u32>,
    /// The WebDriver URL, e.g. `http://127.0.0.1:9515`.
    pub(super) url: String,
    /// Profile and `TMPDIR` of Chromium; removed on drop.
    pub(super) home: tempfile::TempDir,
    /// The task that reads chromedriver's stderr (into the start's tail).
    stderr: Option<tokio::task::JoinHandle<()>>,
}

/// Every chromedriver this process runs (pid and folder), for [`kill_all`].
static RUNNING: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<(u32, PathBuf)>> {
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills every browser this process started and removes their folders, at once: for a
/// process about to exit without unwinding (a second Ctrl-C).
pub fn kill_all() {
    for (pid, home) in running().drain(..) {
        kill_tree(pid);
        let _ = std::fs::remove_dir_all(home);
    }
}

impl Chromedriver {
    /// Finds chromedriver and starts it on a free loopback port, then waits until it is ready.
    ///
    /// On Linux the kernel kills chromedriver when the thread that calls this ends
    /// (`--pdeathsig` is per thread): call it from a thread that lives as long as the
    /// browser (the engine's), never from a blocking-pool thread that may end first.
    pub(super) async fn spawn(
        program: &Path,
        startup: &Startup,
        cancel: &CancellationToken,
    ) -> Result<Chromedriver, ActionError> {
        owner::sweep();
        let home = tempfile::Builder::new()
            .prefix(owner::PROFILE_PREFIX)
            .tempdir()
            .map_err(|e| ActionError::app(format!("cannot create a temporary folder: {e}")))?;
        owner::claim(home.path()).map_err(|e| {
            ActionError::app(format!("cannot write into {}: {e}", home.path().display()))
        })?;
        let tmp = home.path().join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| ActionError::app(format!("cannot create {}: {e}", tmp.display())))?;
        let port = free_port()?;
        let mut command = match setpriv() {
            Some(setpriv) => {
                let mut command = Command::new(setpriv);
                command.args(["--pdeathsig", "KILL", "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        // Its own process group, which Chromium inherits: killing the group on drop stops
        // every browser process even when chromedriver cannot end the session.
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .arg(format!("--port={port}"))
            // Chromium's scratch folders (`org.chromium.Chromium.*`) land in our temporary
            // folder instead of /tmp, so removing that folder leaves nothing behind.
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Kept for messages: why chromedriver or Chromium did not come up.
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| startup.failed(format!("cannot run chromedriver: {e}")))?;
        let stderr = child.stderr.take().map(|s| startup.tail.follow(s));
        let pid = child.id();
        if let Some(pid) = pid {
            running().push((pid, home.path().to_path_buf()));
        }
        let mut driver = Chromedriver {
            child,
            pid,
            url: format!("http://127.0.0.1:{port}"),
            home,
            stderr,
        };
        startup.enter(Phase::Chromedriver {
            url: driver.url.clone(),
        });
        driver.wait_ready(startup, cancel).await?;
        Ok(driver)
    }

    /// Polls `/status` until chromedriver says it is ready or exits; the start-up budget
    /// around the whole start bounds it.
    async fn wait_ready(
        &mut self,
        startup: &Startup,
        cancel: &CancellationToken,
    ) -> Result<(), ActionError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ActionError::app(format!("cannot build an HTTP client: {e}")))?;
        let status_url = format!("{}/status", self.url);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Its last words may still be on their way through the pipe: the reader
                // ends at the pipe's end (unless something it started still holds it).
                if let Some(reader) = self.stderr.as_mut() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
                }
                return Err(startup.failed(format!("chromedriver exited at start ({status})")));
            }
            if let Ok(response) = client.get(&status_url).send().await
                && let Ok(body) = response.json::<serde_json::Value>().await
                && body["value"]["ready"].as_bool() == Some(true)
            {
                return Ok(());
            }
            tokio::select! {
                _ = cancel.cancelled() => return Err(ActionError::Cancelled),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }

    /// Stops chromedriver and waits for it to exit.
    pub(super) async fn stop(mut self) {
        self.kill_tree();
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }

    /// Kills chromedriver and every process it started (Chromium and its helpers), at
    /// once and without waiting: the path for drops, where no session can be ended.
    pub(super) fn kill_tree(&mut self) {
        if let Some(stderr) = self.stderr.take() {
            stderr.abort();
        }
        let Some(pid) = self.pid.take() else { return };
        running().retain(|(p, _)| *p != pid);
        // Reaped already (it exited at start): its pid may belong to another program
        // now, so no signal; the browser it started quits with its pipe.
        if self.child.id().is_some() {
            kill_tree(pid);
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        self.kill_tree();
    }
}

/// Kills a process group led by `pid` (Windows: the process tree).
fn kill_tree(pid: u32) {
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(windows)]
    let _ = std::process::Command::new("taskkill")
        .args(["/T", "/F", "/PID", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `setpriv` (util-linux) if it can set a parent-death signal here; found once.
fn setpriv() -> Option<&'static Path> {
    static SETPRIV: OnceLock<Option<PathBuf>> = OnceLock::new();
    SETPRIV
        .get_or_init(|| {
            if !cfg!(target_os = "linux") {
                return None;
            }
            let found = std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("setpriv"))
                    .find(|p| p.is_file())
            });
            // An old setpriv without `--pdeathsig` would keep chromedriver from starting.
            let works = found.filter(|path| {
                std::process::Command::new(path)
                    .args(["--pdeathsig", "KILL", "--", "true"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            });
            if works.is_none() {
                tracing::debug!(
                    "No setpriv with --pdeathsig (util-linux): chromedriver is started without a \
                     parent-death signal; the next start of alq cleans up after a killed one."
                );
            }
            works
        })
        .as_deref()
}

/// chromedriver from `ALQ_CHROMEDRIVER` or PATH (the lookup `alq doctor` checks), or an
/// error that says how to get it.
pub(super) fn find_chromedriver() -> Result<PathBuf, ActionError> {
    match doctor::find_chromedriver() {
        Found::At(path) => Ok(path),
        Found::BadVar { var, value } => Err(ActionError::app(format!(
            "{var} is {}, which is not a program; point it at chromedriver",
            value.display()
        ))),
        Found::Missing => Err(ActionError::app(
            "chromedriver was not found on PATH: install it (Debian/Ubuntu: `apt-get install \
             chromium chromium-driver`), or set ALQ_CHROMEDRIVER to its path, or pass \
             --webdriver-url to use a running WebDriver server",
        )),
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, ActionError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| ActionError::app(format!("cannot find a free loopback port: {e}")))
}

/// The capabilities of every session: headless as asked, quiet, with downloads going to
/// `download_dir` without a prompt, and dialogs left open for `browser.dialog`.
fn capabilities(
    options: &BrowserOptions,
    profile: Option<&Path>,
    download_dir: &Path,
    binary: Option<&Path>,
) -> Result<ChromeCapabilities, ActionError> {
    // `profile` is set exactly when alq started chromedriver itself.
    let own_driver = profile.is_some();
    let mut caps = DesiredCapabilities::chrome();
    let mut args: Vec<String> = Vec::new();
    if options.headless {
        // `set_headless()` adds the old `--headless`, which behaves unlike a real browser.
        args.push("--headless=new".into());
    }
    args.extend(
        [
            // Chromium refuses to start as root without it (containers, CI).
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
        ]
        .map(String::from),
    );
    args.push(format!(
        "--window-size={},{}",
        options.window[0], options.window[1]
    ));
    if let Some(profile) = profile {
        args.push(format!("--user-data-dir={}", profile.display()));
    }
    if own_driver {
        // chromedriver talks to Chromium over a pipe instead of a port: when chromedriver
        // dies (even by SIGKILL), the pipe closes and Chromium quits.
        args.push("--remote-debugging-pipe".into());
    }
    args.extend(options.args.iter().cloned());
    let prefs = json!({
        "download.default_directory": download_dir.display().to_string(),
        "download.prompt_for_download": false,
        "download.directory_upgrade": true,
        "safebrowsing.enabled": false,
    });
    let result = (|| -> WebDriverResult<()> {
        if let Some(binary) = binary {
            caps.set_binary(&binary.display().to_string())?;
        }
        for arg in &args {
            caps.add_arg(arg)?;
        }
        caps.add_experimental_option("prefs", prefs)?;
        // Without this, chromedriver answers an alert itself on the next command and
        // `browser.dialog` would never see it.
        caps.set_unexpected_alert_behaviour(AlertBehaviour::Ignore)?;
        caps.set("unhandledPromptBehavior", "ignore")?;
        Ok(())
    })();
    result.map_err(|e| ActionError::app(format!("cannot build browser capabilities: {e}")))?;
    Ok(caps)
}

/// Opens a session on `url` (chromedriver or another WebDriver server).
pub(super) async fn new_session(
    url: &str,
    options: &BrowserOptions,
    profile: Option<&Path>,
    download_dir: &Path,
    startup: &Startup,
    cancel: &CancellationToken,
) -> Result<WebDriver, ActionError> {
    let own_driver = startup.chromedriver.is_some();
    let binary = own_driver.then(|| startup.chrome.binary()).flatten();
    let caps = capabilities(options, profile, download_dir, binary)?;
    startup.enter(Phase::Session {
        url: url.to_owned(),
    });
    let connect =
        WebDriver::builder(url, caps).request_timeout(startup.budget.max(COMMAND_TIMEOUT));
    let driver = tokio::select! {
        _ = cancel.cancelled() => return Err(ActionError::Cancelled),
        driver = connect.connect() => driver,
    };
    driver.map_err(|e| {
        startup.failed(if own_driver {
            format!(
                "chromedriver could not open a session: {e}; is Chromium installed and does \
                 its version match chromedriver's? (`alq doctor` checks)"
            )
        } else {
            format!("cannot open a session through {url}: {e}")
        })
    })
}
