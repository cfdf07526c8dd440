//! What a run leaves behind: alq's browser profile folders (`alq-chromium-*` in the temp
//! folder, each with an `alq-owner.json`) and the processes still using them. Written
//! against /proc directly, not with alq's own code, so they check it rather than repeat it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The profile folders whose owner file names `pid`.
pub fn profiles_of(pid: u32) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("alq-chromium-"))
        })
        .filter(|p| {
            std::fs::read(p.join("alq-owner.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|owner| owner["pid"] == pid)
        })
        .collect()
}

/// A live process: its pid and command line (arguments joined by spaces).
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    pub cmdline: String,
}

/// The live (not zombie) processes whose command line or environment names a path
/// inside `folder`: Chromium (`--user-data-dir`) and chromedriver (`TMPDIR`).
pub fn users_of(folder: &Path) -> Vec<Process> {
    let mut needle = folder.as_os_str().as_encoded_bytes().to_vec();
    needle.push(b'/');
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle.as_slice());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            if !(contains(&cmdline) || contains(&environ)) {
                return None;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let state = stat[stat.rfind(')')? + 1..].split_whitespace().next()?;
            if state == "Z" || state == "X" {
                return None;
            }
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            Some(Process { pid, cmdline })
        })
        .collect()
}

/// The chromedriver and Chromium processes using `folder`, by kind.
pub fn count_browsers(folder: &Path) -> (usize, usize) {
    let users = users_of(folder);
    let drivers = users
        .iter()
        .filter(|p| p.cmdline.contains("chromedriver"))
        .count();
    let chromiums = users
        .iter()
        .filter(|p| p.cmdline.contains("chrom") && !p.cmdline.contains("chromedriver"))
        .count();
    (drivers, chromiums)
}

/// Polls `done` until it holds; panics with `what` (and the last `detail`) after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> Result<(), String>) {
    let started = Instant::now();
    loop {
        match done() {
            Ok(()) => return,
            Err(detail) if started.elapsed() > limit => {
                panic!("{what} did not happen within {limit:?}: {detail}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits until no process uses any of `folders` (a bounded wait for the condition).
pub fn wait_no_browsers(folders: &[PathBuf], limit: Duration) {
    wait_until("every browser process ending", limit, || {
        let left: Vec<Process> = folders.iter().flat_map(|f| users_of(f)).collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("still running: {left:?}"))
        }
    });
}

/// Sends a signal (`-TERM`, `-KILL`, ...) to a process.
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}
