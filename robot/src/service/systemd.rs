//! The systemd unit of the robot, and installing, starting and removing it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The unit's file name.
pub const UNIT_NAME: &str = "alq-robot.service";

/// Where the unit goes: system-wide, or for one user (`--user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/etc/systemd/system`, started at boot.
    System,
    /// `~/.config/systemd/user`, started with the user's session (or at boot with lingering).
    User,
}

/// The unit file for `alq` at `exec`.
pub fn unit(exec: &Path, scope: Scope) -> String {
    let wanted_by = match scope {
        Scope::System => "multi-user.target",
        Scope::User => "default.target",
    };
    format!(
        "[Unit]\n\
         Description=alq robot: runs RPA jobs leased from the alq control plane\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exec} robot run\n\
         Restart=on-failure\n\
         RestartSec=5s\n\
         # 1: the server refused the robot's token (deleted, or registered again);\n\
         # 2: not registered, or a bad flag. Restarting cannot fix either.\n\
         RestartPreventExitStatus=1 2\n\
         # The robot finishes or stops its running jobs and flushes its spool on SIGTERM.\n\
         KillSignal=SIGTERM\n\
         TimeoutStopSec=120\n\
         Environment=RUST_LOG=info\n\
         NoNewPrivileges=yes\n\
         \n\
         [Install]\n\
         WantedBy={wanted_by}\n",
        exec = exec.display(),
    )
}

/// The folder the unit is written to.
pub fn unit_dir(scope: Scope) -> Option<PathBuf> {
    match scope {
        Scope::System => Some(PathBuf::from("/etc/systemd/system")),
        Scope::User => {
            directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("systemd/user"))
        }
    }
}

/// Why a service command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No home folder for a user unit.
    #[error("cannot find the user's configuration folder for a --user unit")]
    NoUnitDir,
    /// Writing or removing the unit file failed.
    #[error("cannot write {path}: {source} (a system-wide unit needs root; try --user)")]
    Io {
        /// The unit file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `systemctl` failed or is missing.
    #[error("`{command}` failed: {detail}")]
    Systemctl {
        /// The command line.
        command: String,
        /// Its error output.
        detail: String,
    },
}

fn systemctl(scope: Scope, args: &[&str]) -> Result<(), ServiceError> {
    let mut command = Command::new("systemctl");
    if scope == Scope::User {
        command.arg("--user");
    }
    command.args(args);
    let line = format!(
        "systemctl {}{}",
        if scope == Scope::User { "--user " } else { "" },
        args.join(" ")
    );
    let output = command.output().map_err(|e| ServiceError::Systemctl {
        command: line.clone(),
        detail: e.to_string(),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ServiceError::Systemctl {
            command: line,
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Writes the unit for `exec`, reloads systemd, enables and starts it. Returns the unit path.
pub fn install(exec: &Path, scope: Scope) -> Result<PathBuf, ServiceError> {
    let dir = unit_dir(scope).ok_or(ServiceError::NoUnitDir)?;
    let path = dir.join(UNIT_NAME);
    std::fs::create_dir_all(&dir).map_err(|source| ServiceError::Io {
        path: dir.clone(),
        source,
    })?;
    std::fs::write(&path, unit(exec, scope)).map_err(|source| ServiceError::Io {
        path: path.clone(),
        source,
    })?;
    systemctl(scope, &["daemon-reload"])?;
    systemctl(scope, &["enable", "--now", UNIT_NAME])?;
    Ok(path)
}

/// Stops, disables and removes the unit.
pub fn uninstall(scope: Scope) -> Result<(), ServiceError> {
    let path = unit_dir(scope)
        .ok_or(ServiceError::NoUnitDir)?
        .join(UNIT_NAME);
    // Stopping a unit that is not running is fine; removing it is what matters.
    let _ = systemctl(scope, &["disable", "--now", UNIT_NAME]);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(ServiceError::Io { path, source }),
    }
    systemctl(scope, &["daemon-reload"])
}

/// Starts the installed unit.
pub fn start(scope: Scope) -> Result<(), ServiceError> {
    systemctl(scope, &["start", UNIT_NAME])
}

/// Stops the installed unit.
pub fn stop(scope: Scope) -> Result<(), ServiceError> {
    systemctl(scope, &["stop", UNIT_NAME])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_unit_is_the_one_install_writes() {
        let packaged = include_str!("../../../packaging/systemd/alq-robot.service");
        assert_eq!(unit(Path::new("/usr/bin/alq"), Scope::System), packaged);
    }

    #[test]
    fn a_user_unit_starts_with_the_session() {
        let text = unit(Path::new("/home/a/bin/alq"), Scope::User);
        assert!(text.contains("ExecStart=/home/a/bin/alq robot run\n"));
        assert!(text.contains("WantedBy=default.target\n"));
    }

    #[test]
    fn systemd_accepts_the_unit() {
        // Outside CI a machine without systemd skips; under CI (where scripts/test.sh
        // installs it) its absence is a failure, so the check is never silently lost.
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let works = Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success());
        if !works {
            assert!(
                !ci,
                "systemd-analyze is not installed: scripts/test.sh must install it under CI"
            );
            eprintln!("skipped: systemd-analyze is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let exec = dir.path().join("alq");
        std::fs::write(&exec, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&exec, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = dir.path().join(UNIT_NAME);
        std::fs::write(&path, unit(&exec, Scope::System)).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // verify also reports problems of unrelated units on the machine: only ours count.
        let ours: Vec<&str> = stderr.lines().filter(|l| l.contains(UNIT_NAME)).collect();
        assert!(
            out.status.success() && ours.is_empty(),
            "systemd-analyze verify: {stderr}"
        );
    }
}
