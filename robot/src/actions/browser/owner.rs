//! Browsers never outlive alq.
//!
//! Three layers, each catching what the one before misses:
//! 1. chromedriver runs under `setpriv --pdeathsig KILL` (Linux): the kernel kills it
//!    when the thread that started it ends, SIGKILL of alq included. Chromium talks to
//!    chromedriver over a pipe (`--remote-debugging-pipe`) and quits when it closes.
//! 2. Every profile folder (`alq-chromium-*` in the temp folder) holds an owner file
//!    with the pid and start time of the alq process that made it.
//! 3. [`sweep`] (run by `alq run`, `alq robot run` and each browser start) finds folders
//!    whose owner is gone, kills the processes still using them and removes them.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The name every profile folder starts with.
pub const PROFILE_PREFIX: &str = "alq-chromium-";
/// The owner file in each profile folder.
pub const OWNER_FILE: &str = "alq-owner.json";

/// Who made a profile folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The alq process.
    pub pid: u32,
    /// Its start time (clock ticks since boot, from `/proc/PID/stat`), so a reused pid
    /// does not pass for the owner; `None` where the system does not tell.
    pub start_time: Option<u64>,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start_time: start_time(pid),
        }
    }

    /// Whether the owner still runs (always true where that cannot be told).
    pub fn alive(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            start_time(self.pid).is_some_and(|now| self.start_time.is_none_or(|t| t == now))
        }
        #[cfg(not(target_os = "linux"))]
        {
            true
        }
    }
}

/// Writes the owner file of this process into a new profile folder.
pub fn claim(home: &Path) -> std::io::Result<()> {
    let text = serde_json::to_vec(&Owner::me()).map_err(std::io::Error::other)?;
    std::fs::write(home.join(OWNER_FILE), text)
}

/// The owner written in a profile folder, if it can be read.
pub fn owner_of(home: &Path) -> Option<Owner> {
    let text = std::fs::read(home.join(OWNER_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// A process's start time in clock ticks since boot (field 22 of `/proc/PID/stat`).
#[cfg(target_os = "linux")]
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Start times are known on Linux only.
#[cfg(not(target_os = "linux"))]
pub fn start_time(_pid: u32) -> Option<u64> {
    None
}

/// Removes the profile folders of alq processes that are gone, after killing the
/// processes (chromedriver, Chromium) still using them. Returns how many were removed.
#[cfg(target_os = "linux")]
pub fn sweep() -> usize {
    use std::os::unix::fs::MetadataExt;
    // A folder without an owner file is younger than this while alq is still writing it.
    const UNCLAIMED_GRACE: std::time::Duration = std::time::Duration::from_secs(60);
    let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let home = entry.path();
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PROFILE_PREFIX) {
            continue;
        }
        // Another user's folders are theirs to clean.
        let Ok(meta) = std::fs::symlink_metadata(&home) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != me {
            continue;
        }
        let orphan = match owner_of(&home) {
            Some(owner) => !owner.alive(),
            None => meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > UNCLAIMED_GRACE),
        };
        if !orphan {
            continue;
        }
        let killed = kill_users(&home);
        match remove_orphan(&home) {
            Ok(()) => {
                removed += 1;
                tracing::info!(folder = %home.display(), killed, "Removed a browser profile left by an alq that is gone.");
            }
            Err(e) => {
                tracing::warn!(folder = %home.display(), error = %e, "Cannot remove a browser profile left by an alq that is gone.");
            }
        }
    }
    removed
}

/// Removes an orphaned profile folder, the owner file last: another alq sweeping at the
/// same time then still sees a dead owner (not a new, unclaimed folder to leave alone)
/// and removes the rest with this one. What the other removed first is not an error.
#[cfg(target_os = "linux")]
fn remove_orphan(home: &Path) -> std::io::Result<()> {
    fn gone_is_ok(result: std::io::Result<()>) -> std::io::Result<()> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
    fn remove_tree(path: &Path) -> std::io::Result<()> {
        let meta = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        if !meta.is_dir() {
            return gone_is_ok(std::fs::remove_file(path));
        }
        let entries = match std::fs::read_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        for entry in entries {
            match entry {
                Ok(entry) => remove_tree(&entry.path())?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        gone_is_ok(std::fs::remove_dir(path))
    }
    let owner = home.join(OWNER_FILE);
    let entries = match std::fs::read_dir(home) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    for entry in entries.flatten() {
        if entry.path() != owner {
            remove_tree(&entry.path())?;
        }
    }
    gone_is_ok(std::fs::remove_file(&owner))?;
    gone_is_ok(std::fs::remove_dir(home))
}

/// Nothing to sweep where processes cannot be inspected.
#[cfg(not(target_os = "linux"))]
pub fn sweep() -> usize {
    0
}

/// The processes of this user that a browser of `home` is made of: chromedriver and
/// everything it started carry `TMPDIR=<home>/...` in their environment, and Chromium's
/// processes name `--user-data-dir=<home>/...` on their command line. Only those exact
/// entries count, so a `du` or `tail` of a file in the folder, or another user's
/// process, is never taken for one. Zombies are left out.
#[cfg(target_os = "linux")]
pub fn users_of(home: &Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let home = home.as_os_str().as_encoded_bytes();
    let inside = |value: &[u8]| {
        value.starts_with(home) && matches!(value.get(home.len()), None | Some(b'/'))
    };
    let marked = |entries: &[u8], key: &[u8]| {
        entries
            .split(|b| *b == 0)
            .any(|entry| entry.strip_prefix(key).is_some_and(inside))
    };
    let me = std::process::id();
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == uid))
        .filter(|pid| {
            let read =
                |what: &str| std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
            marked(&read("environ"), b"TMPDIR=") || marked(&read("cmdline"), b"--user-data-dir=")
        })
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        })
        .collect()
}

/// Kills every process using `home`, until none is left (a few rounds at most, for
/// children started while the first were dying). Returns how many were killed.
#[cfg(target_os = "linux")]
fn kill_users(home: &Path) -> usize {
    let mut killed = 0;
    for _ in 0..5 {
        let users = users_of(home);
        if users.is_empty() {
            break;
        }
        for pid in users {
            if let Some(pid) = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
                && rustix::process::kill_process(pid, rustix::process::Signal::KILL).is_ok()
            {
                killed += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    killed
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Right after a spawn the kernel may still be setting up the new program, and its
    /// command line and environment read empty (or as the parent's): waits until the
    /// child shows its own, so a look at /proc sees what a browser would show.
    fn wait_exec(child: &std::process::Child, program: &str) {
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read(&cmdline).is_ok_and(|c| c.starts_with(program.as_bytes())) {
            assert!(
                std::time::Instant::now() < deadline,
                "{cmdline} never showed {program}"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn this_process_is_its_own_live_owner_and_a_changed_start_time_is_not() {
        let me = Owner::me();
        assert!(me.start_time.is_some());
        assert!(me.alive());
        let reused = Owner {
            start_time: me.start_time.map(|t| t + 1),
            ..me
        };
        assert!(!reused.alive(), "a reused pid is not the owner");
    }

    #[test]
    fn a_folder_of_a_dead_owner_is_swept_with_its_processes() {
        let home = tempfile::Builder::new()
            .prefix(PROFILE_PREFIX)
            .tempdir()
            .unwrap()
            .keep();
        // A finished child: its pid names no running process (or a later one).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = Owner {
            pid,
            start_time: Some(1),
        };
        // The user first, the dead owner last: tests in other processes sweep the same
        // temporary folder at any moment, and a folder with a dead owner but no user yet
        // would be swept before its user existed, which would then be left running.
        let tmp = home.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut user = std::process::Command::new("sleep")
            .arg("600")
            .env("TMPDIR", &tmp)
            .spawn()
            .unwrap();
        wait_exec(&user, "sleep");
        assert_eq!(users_of(&home), vec![user.id()]);
        std::fs::write(home.join(OWNER_FILE), serde_json::to_vec(&dead).unwrap()).unwrap();
        sweep();
        // This sweep or a parallel one (which may still be removing it) takes it away.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while home.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the folder is removed"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let status = user.wait().unwrap();
        assert!(!status.success(), "the process using it was killed");
    }

    /// Only a browser's own markers count: a program that merely names a file in the
    /// folder (an operator's `tail`, a backup) is not one of its processes.
    #[test]
    fn a_program_that_only_names_the_folder_is_not_a_user_of_it() {
        let home = tempfile::Builder::new()
            .prefix(PROFILE_PREFIX)
            .tempdir()
            .unwrap();
        let file = home.path().join("tmp").join("x");
        // A program that takes any argument and waits (for a line on its stdin) without
        // starting another: `sh -c 'read x' ARG` has ARG on its command line.
        let waiting = |arg: &str| {
            let mut command = std::process::Command::new("/bin/sh");
            command
                .args(["-c", "read x", arg])
                .stdin(std::process::Stdio::piped());
            command
        };
        let mut bystander = waiting(&file.display().to_string())
            .env("ALQ_SOMETHING", &file)
            .spawn()
            .unwrap();
        let mut near_miss = waiting("x")
            .env("TMPDIR", format!("{}-other/tmp", home.path().display()))
            .spawn()
            .unwrap();
        let mut browser = waiting(&format!(
            "--user-data-dir={}/profile",
            home.path().display()
        ))
        .spawn()
        .unwrap();
        for child in [&bystander, &near_miss, &browser] {
            wait_exec(child, "/bin/sh");
        }
        let users = users_of(home.path());
        for child in [&mut bystander, &mut near_miss, &mut browser] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert_eq!(users, vec![browser.id()]);
    }

    #[test]
    fn a_folder_of_a_live_owner_is_left_alone() {
        let home = tempfile::Builder::new()
            .prefix(PROFILE_PREFIX)
            .tempdir()
            .unwrap();
        claim(home.path()).unwrap();
        sweep();
        assert!(home.path().join(OWNER_FILE).is_file());
        assert_eq!(owner_of(home.path()), Some(Owner::me()));
    }
}
