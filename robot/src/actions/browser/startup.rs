//! The browser's start-up budget: what is started (chromedriver, Chromium), what the
//! start is doing now, what chromedriver last wrote, and the message when the budget runs
//! out or the start fails. Starting is not a step's work: on a loaded machine it alone
//! can outlast a step's `timeout_ms`, so it has a limit of its own.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::locate::human;
use crate::actions::ActionError;
use crate::doctor::{self, Found};

/// Lines of chromedriver's stderr kept, and shown in a message.
const TAIL_KEPT: usize = 20;
const TAIL_SHOWN: usize = 5;
/// A longer line is cut: Chromium can log kilobytes on one line.
const LINE_CHARS: usize = 300;

/// Where the start is, for the message when it takes too long.
#[derive(Debug, Clone)]
pub(super) enum Phase {
    /// Finding chromedriver and preparing its folder.
    Preparing,
    /// chromedriver runs; alq asks its `/status` until it is ready.
    Chromedriver { url: String },
    /// A session is being opened: chromedriver starts Chromium (or the server does).
    Session { url: String },
}

/// Which Chromium the start uses.
#[derive(Debug, Clone)]
pub(super) enum Chrome {
    /// `ALQ_CHROME`: passed to chromedriver as the binary.
    Given(PathBuf),
    /// chromedriver picks it; what PATH holds, to name in messages.
    Default(Option<PathBuf>),
}

impl Chrome {
    /// `ALQ_CHROME` when set (an error when it names no program), else chromedriver's
    /// own choice.
    pub(super) fn find() -> Result<Chrome, ActionError> {
        match std::env::var_os(doctor::CHROME_VAR).filter(|v| !v.is_empty()) {
            Some(_) => match doctor::find_chrome() {
                Found::At(path) => Ok(Chrome::Given(path)),
                Found::BadVar { var, value } => Err(ActionError::app(format!(
                    "{var} is {}, which is not a program; point it at Chromium or Chrome, or \
                     unset it to let chromedriver choose",
                    value.display()
                ))),
                Found::Missing => Ok(Chrome::Default(None)),
            },
            None => Ok(Chrome::Default(match doctor::find_chrome() {
                Found::At(path) => Some(path),
                _ => None,
            })),
        }
    }

    /// The binary to pass to chromedriver, if alq chooses it.
    pub(super) fn binary(&self) -> Option<&Path> {
        match self {
            Chrome::Given(path) => Some(path),
            Chrome::Default(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Chrome::Given(path) => format!("Chromium {} (ALQ_CHROME)", path.display()),
            Chrome::Default(Some(path)) => format!(
                "the Chromium chromedriver finds ({} is on PATH; ALQ_CHROME chooses another)",
                path.display()
            ),
            Chrome::Default(None) => {
                "the Chromium chromedriver finds (none is on PATH; set ALQ_CHROME)".to_owned()
            }
        }
    }
}

/// One browser start: its budget, what it starts, where it is.
pub(super) struct Startup {
    pub(super) budget: Duration,
    /// The chromedriver alq starts; `None` with a WebDriver URL.
    pub(super) chromedriver: Option<PathBuf>,
    pub(super) chrome: Chrome,
    phase: RefCell<Phase>,
    /// The end of chromedriver's stderr.
    pub(super) tail: Tail,
}

impl Startup {
    pub(super) fn new(budget: Duration, chromedriver: Option<PathBuf>, chrome: Chrome) -> Self {
        Startup {
            budget,
            chromedriver,
            chrome,
            phase: RefCell::new(Phase::Preparing),
            tail: Tail::default(),
        }
    }

    pub(super) fn enter(&self, phase: Phase) {
        *self.phase.borrow_mut() = phase;
    }

    /// The budget ran out: what was being done, what was started, how to raise the budget,
    /// and what chromedriver said last.
    pub(super) fn timed_out(&self) -> ActionError {
        let doing = match &*self.phase.borrow() {
            Phase::Preparing => "alq was still preparing chromedriver's start".to_owned(),
            Phase::Chromedriver { url } => format!("chromedriver did not answer on {url} yet"),
            Phase::Session { url } if self.chromedriver.is_some() => {
                format!(
                    "Chromium had not finished starting (chromedriver on {url} was opening a session)"
                )
            }
            Phase::Session { url } => {
                format!("the WebDriver server at {url} had not opened a session yet")
            }
        };
        ActionError::app(format!(
            "starting the browser timed out after {} (the start-up budget): {doing}; {}; raise \
             the budget with `browser.startup_timeout_ms` in the workflow, or with \
             `--browser-startup-timeout` (ALQ_BROWSER_STARTUP_TIMEOUT) on `alq run` and `alq \
             robot run`{}",
            human(self.budget),
            self.started(),
            self.last_output()
        ))
    }

    /// The start failed for `why` (not for time).
    pub(super) fn failed(&self, why: impl std::fmt::Display) -> ActionError {
        ActionError::app(format!(
            "starting the browser failed: {why}; {}{}",
            self.started(),
            self.last_output()
        ))
    }

    /// What this start runs, for messages.
    fn started(&self) -> String {
        match (&self.chromedriver, &*self.phase.borrow()) {
            (Some(program), _) => format!(
                "started chromedriver {} with {}",
                program.display(),
                self.chrome.describe()
            ),
            (None, Phase::Session { url } | Phase::Chromedriver { url }) => {
                format!("used the WebDriver server at {url}")
            }
            (None, Phase::Preparing) => "used a WebDriver server".to_owned(),
        }
    }

    fn last_output(&self) -> String {
        let lines = self.tail.last(TAIL_SHOWN);
        if lines.is_empty() {
            return String::new();
        }
        let quoted: Vec<String> = lines.iter().map(|l| format!("\"{l}\"")).collect();
        format!("; chromedriver's stderr ended with: {}", quoted.join(" / "))
    }
}

/// The last lines a process wrote to a stream, read as they come.
#[derive(Debug, Clone, Default)]
pub(super) struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    /// Reads `stream` to its end in a task, keeping its last lines. Reading also keeps
    /// the pipe drained, so a chatty Chromium never blocks on a full pipe.
    pub(super) fn follow(
        &self,
        stream: impl AsyncRead + Unpin + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let lines = self.0.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                match reader.read_until(b'\n', &mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buffer);
                        let line = line.trim();
                        if line.is_empty() {
                            continue;
                        }
                        let line: String = if line.chars().count() > LINE_CHARS {
                            line.chars().take(LINE_CHARS).chain(['…']).collect()
                        } else {
                            line.to_owned()
                        };
                        let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
                        if lines.len() == TAIL_KEPT {
                            lines.pop_front();
                        }
                        lines.push_back(line);
                    }
                }
            }
        })
    }

    /// The last `n` lines, oldest first.
    pub(super) fn last(&self, n: usize) -> Vec<String> {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tail_keeps_the_last_lines_cut_to_a_length() {
        let tail = Tail::default();
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str(&"x".repeat(1000));
        let (reader, mut writer) = tokio::io::duplex(64 * 1024);
        tail.follow(reader);
        tokio::io::AsyncWriteExt::write_all(&mut writer, text.as_bytes())
            .await
            .expect("write");
        drop(writer);
        // The task ends at the end of the stream.
        while tail.last(1).first().is_none_or(|l| !l.starts_with('x')) {
            tokio::task::yield_now().await;
        }
        let last = tail.last(3);
        assert_eq!(last[0], "line 28");
        assert_eq!(last[1], "line 29");
        assert_eq!(
            last[2].chars().count(),
            LINE_CHARS + 1,
            "cut, with an ellipsis"
        );
        assert_eq!(tail.last(100).len(), TAIL_KEPT);
    }

    #[test]
    fn the_timeout_message_names_the_phase_what_was_started_and_the_way_out() {
        let startup = Startup::new(
            Duration::from_millis(1500),
            Some(PathBuf::from("/opt/slow-chromedriver")),
            Chrome::Given(PathBuf::from("/opt/chromium")),
        );
        startup.enter(Phase::Chromedriver {
            url: "http://127.0.0.1:9515".into(),
        });
        let message = startup.timed_out().to_string();
        for piece in [
            "starting the browser timed out after 1.5s",
            "chromedriver did not answer on http://127.0.0.1:9515",
            "chromedriver /opt/slow-chromedriver",
            "Chromium /opt/chromium (ALQ_CHROME)",
            "`browser.startup_timeout_ms`",
            "`--browser-startup-timeout`",
        ] {
            assert!(message.contains(piece), "{piece:?} in {message}");
        }
        assert!(!message.contains("stderr"), "{message}");

        let remote = Startup::new(Duration::from_secs(60), None, Chrome::Default(None));
        remote.enter(Phase::Session {
            url: "http://grid:4444".into(),
        });
        let message = remote.timed_out().to_string();
        assert!(
            message.contains("the WebDriver server at http://grid:4444 had not opened a session"),
            "{message}"
        );
        assert!(!message.contains("chromedriver /"), "{message}");
    }
}
