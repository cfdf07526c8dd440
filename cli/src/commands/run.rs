//! `alq run FILE`: runs a workflow here, shows progress, writes the run folder.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use alq_robot::actions::{Access, PathPolicy, browser};
use alq_robot::engine::{self, EngineError, RunOptions};
use alq_shared::events::RunStatus;
use alq_shared::workflow::{LoadedWorkflow, ScreenshotPolicy, load_guarded};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::progress::Progress;
use super::{EXIT_CANCELLED, EXIT_FAILED, EXIT_TERMINATED, EXIT_USAGE};

/// Options of `alq run`.
#[derive(clap::Args)]
pub struct Args {
    /// The workflow file, or its folder (holding `workflow.json`).
    pub file: PathBuf,
    /// An input, as NAME=VALUE; converted to the input's declared type. Repeatable.
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// A JSON file with an object of inputs (`--input` values win).
    #[arg(long, value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,
    /// A JSON file with an object of assets, read as `{{ assets.NAME }}` (a credential is
    /// `{"username": ..., "password": ...}`; its password is masked). Robots get assets
    /// from the control plane instead.
    #[arg(long, value_name = "FILE")]
    pub assets_file: Option<PathBuf>,
    /// The run folder (default: runs/<UTC time>-<workflow name>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Show the browser window instead of running headless.
    #[arg(long)]
    pub headed: bool,
    /// When to take screenshots (default: the workflow's `defaults.screenshot`).
    #[arg(long, value_name = "WHEN", value_parser = ["each_step", "on_error", "never"])]
    pub screenshots: Option<String>,
    /// Use a running WebDriver server instead of starting chromedriver.
    #[arg(long, value_name = "URL")]
    pub webdriver_url: Option<String>,
    /// How long starting the browser may take, e.g. 90s, 2m, or milliseconds (90000);
    /// overrides the workflow's `browser.startup_timeout_ms` [default: 60s].
    #[arg(long, env = "ALQ_BROWSER_STARTUP_TIMEOUT", value_name = "DURATION",
          value_parser = startup_timeout, allow_negative_numbers = true)]
    pub browser_startup_timeout: Option<Duration>,
    /// Allow `shell.run` steps to run commands (which can read any file alq can).
    #[arg(long)]
    pub allow_shell: bool,
    /// Let file actions use only this folder (and the others given, the workflow's
    /// folder and the run folder). Repeatable. Default: anywhere but alq's own folders.
    #[arg(long = "allow-path", value_name = "DIR")]
    pub allow_paths: Vec<PathBuf>,
    /// Print every event as a JSON line on standard output instead of the progress display.
    #[arg(long)]
    pub json: bool,
}

/// Runs the workflow: 0 when it succeeds, 1 when it fails, 2 when it cannot start,
/// 130 when stopped by Ctrl-C, 143 when stopped by SIGTERM.
pub fn run(args: Args) -> u8 {
    let file = if args.file.is_dir() {
        args.file.join(alq_shared::package::DEFAULT_ENTRY)
    } else {
        args.file.clone()
    };
    let mut paths = PathPolicy::alq_folders();
    for dir in &args.allow_paths {
        paths.allow(dir);
    }
    // A `call` is refused, unread, where a file action would be.
    let guard = |p: &Path| {
        paths
            .check(&p.display().to_string(), p, Access::Read)
            .map(|_| ())
    };
    let loaded = match load_guarded(&file, &guard) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return EXIT_USAGE;
        }
    };
    let inputs = match collect_inputs(&loaded, &args) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_USAGE;
        }
    };
    let assets = match read_object(args.assets_file.as_deref(), "assets") {
        Ok(assets) => assets,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_USAGE;
        }
    };
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(&loaded.workflow.name));
    let cancel = CancellationToken::new();
    let progress = Progress::new(args.json);
    let mut options = RunOptions::new(run_dir);
    options.inputs = inputs;
    options.assets = assets;
    options.headless = args.headed.then_some(false);
    options.webdriver_url = args.webdriver_url.clone();
    options.browser_startup_timeout = args.browser_startup_timeout;
    options.screenshots = args.screenshots.as_deref().map(|s| match s {
        "on_error" => ScreenshotPolicy::OnError,
        "never" => ScreenshotPolicy::Never,
        _ => ScreenshotPolicy::EachStep,
    });
    options.allow_shell = args.allow_shell;
    options.paths = paths;
    options.cancel = cancel.clone();
    options.on_event = Some(progress.callback());

    let Some(runtime) = super::runtime(false) else {
        return EXIT_FAILED;
    };
    let stopped_by = Arc::new(OnceLock::new());
    let outcome = runtime.block_on(async {
        // Installed before the run starts, so no signal meets the default action (which
        // would end alq without its report and leave the browser to the next sweep).
        let signals = StopSignals::install();
        tokio::spawn(stop_on_signal(signals, cancel, stopped_by.clone()));
        browser::owner::sweep();
        engine::run(&loaded, options).await
    });
    progress.finish();
    match outcome {
        Ok(outcome) => {
            progress.summary(&loaded.workflow.name, &outcome);
            match outcome.status {
                RunStatus::Succeeded => 0,
                RunStatus::Failed => EXIT_FAILED,
                RunStatus::Cancelled => stopped_by.get().copied().unwrap_or(EXIT_CANCELLED),
            }
        }
        Err(error @ EngineError::Inputs(_)) => {
            eprintln!("error: {error}");
            EXIT_USAGE
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_USAGE
        }
    }
}

/// The stop signals of `alq run`: SIGINT (Ctrl-C) and SIGTERM.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Installs the handlers now (call within the runtime).
    fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The next signal, as the exit code it stands for.
    async fn next(&mut self) -> u8 {
        #[cfg(unix)]
        {
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.interrupt) => EXIT_CANCELLED,
                () = recv(&mut self.terminate) => EXIT_TERMINATED,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => EXIT_CANCELLED,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// The first Ctrl-C or SIGTERM stops the run at the next step boundary (the browser is
/// closed and the report written; the exit code is 130 or 143); a second one ends the
/// process at once, killing the browser first.
async fn stop_on_signal(
    mut signals: StopSignals,
    cancel: CancellationToken,
    stopped_by: Arc<OnceLock<u8>>,
) {
    let code = signals.next().await;
    let _ = stopped_by.set(code);
    let again = if code == EXIT_CANCELLED {
        "Ctrl-C"
    } else {
        "signal"
    };
    eprintln!("\nStopping at the next step boundary ({again} again to quit at once)...");
    cancel.cancel();
    signals.next().await;
    browser::kill_all();
    std::process::exit(i32::from(code));
}

/// A browser start-up budget from a flag or variable: milliseconds (`90000`) or a number
/// with a unit (`90s`, `2m`), more than 0 and at most ten minutes.
pub(crate) fn startup_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<u64>() {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) if text.starts_with('-') => {
            return Err("must be more than 0 (e.g. 90s, 2m or 90000 ms)".to_owned());
        }
        Err(_) => humantime::parse_duration(text).map_err(|e| {
            format!(
                "not a duration ({e}): give milliseconds (90000) or a number and a unit (90s, 2m)"
            )
        })?,
    };
    let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    alq_shared::workflow::check_startup_timeout_ms(ms).map(|()| duration)
}

fn collect_inputs(loaded: &LoadedWorkflow, args: &Args) -> Result<Map<String, Value>, String> {
    let mut inputs = read_object(args.inputs_file.as_deref(), "inputs")?;
    for pair in &args.inputs {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(format!("--input `{pair}` must look like NAME=VALUE"));
        };
        let value = match loaded.workflow.inputs.get(name) {
            Some(spec) => spec
                .kind
                .parse_text(text)
                .map_err(|e| format!("input `{name}`: {e}"))?,
            // Unknown names are reported with the others by the engine's input check.
            None => Value::String(text.to_owned()),
        };
        inputs.insert(name.to_owned(), value);
    }
    Ok(inputs)
}

/// The JSON object in `file` (empty without a file); `what` names it in messages.
fn read_object(file: Option<&Path>, what: &str) -> Result<Map<String, Value>, String> {
    let Some(file) = file else {
        return Ok(Map::new());
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the {what} file {}: {e}", file.display()))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!(
            "the {what} file {} must hold a JSON object",
            file.display()
        )),
        Err(e) => Err(format!(
            "the {what} file {} is not valid JSON: {e}",
            file.display()
        )),
    }
}

/// `runs/<UTC time>-<name>`, with a number added if that folder already exists.
fn default_run_dir(name: &str) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = Path::new("runs").join(format!("{stamp}-{slug}"));
    let mut candidate = base.clone();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_budgets_are_milliseconds_or_durations_within_the_limits() {
        assert_eq!(startup_timeout("90000"), Ok(Duration::from_secs(90)));
        assert_eq!(startup_timeout("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(startup_timeout(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(startup_timeout("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(startup_timeout("10m"), Ok(Duration::from_secs(600)));
        for bad in ["0", "0s", "-1", "-2s", "", "soon", "10m 1ms", "1e3"] {
            assert!(startup_timeout(bad).is_err(), "{bad:?} is refused");
        }
    }
}
