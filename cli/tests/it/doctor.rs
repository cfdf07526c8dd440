//! `alq doctor`: exit codes and the fix hints a user reads.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Runs `alq doctor --out OUT` with the given environment changes (`None` removes).
fn doctor(out: &Path, env: &[(&str, Option<&str>)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_alq"));
    command.arg("doctor").arg("--out").arg(out);
    for (key, value) in env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command.output().expect("run alq doctor")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn missing_chromedriver_fails_with_an_install_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).expect("mkdir");
    let output = doctor(
        &dir.path().join("runs"),
        &[
            ("PATH", empty_path.to_str()),
            ("ALQ_CHROMEDRIVER", None),
            ("ALQ_CHROME", None),
        ],
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ chromedriver: not found on PATH"), "{text}");
    assert!(text.contains("apt-get install chromium-driver"), "{text}");
    assert!(text.contains("✗ Chromium: not found on PATH"), "{text}");
    // The run folder is still fine and said so.
    assert!(text.contains("✓ run folder"), "{text}");
}

#[test]
fn chromedriver_variable_pointing_nowhere_fails_and_names_the_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-chromedriver");
    let output = doctor(
        &dir.path().join("runs"),
        &[("ALQ_CHROMEDRIVER", missing.to_str())],
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("ALQ_CHROMEDRIVER={}", missing.display())),
        "{text}"
    );
    assert!(text.contains("unset ALQ_CHROMEDRIVER"), "{text}");
}

#[test]
fn unwritable_run_folder_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let output = doctor(&file.join("runs"), &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ run folder: cannot create"), "{text}");
    assert!(text.contains("--out DIR"), "{text}");
}

#[cfg(unix)]
#[test]
fn mismatched_versions_fail_with_the_reinstall_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let driver = version_stub(
        dir.path(),
        "chromedriver",
        "ChromeDriver 120.0.6099.109 (abc)",
    );
    let chrome = version_stub(
        dir.path(),
        "chromium",
        "Chromium 121.0.6167.85 built on Debian",
    );
    let output = doctor(
        &dir.path().join("runs"),
        &[
            ("ALQ_CHROMEDRIVER", driver.to_str()),
            ("ALQ_CHROME", chrome.to_str()),
        ],
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✓ chromedriver:") && text.contains("ChromeDriver 120.0"),
        "{text}"
    );
    assert!(
        text.contains("✗ versions match: chromedriver 120 cannot drive Chromium 121"),
        "{text}"
    );
    assert!(
        text.contains("apt-get install chromium chromium-driver"),
        "{text}"
    );
}

#[test]
fn real_chromium_and_chromedriver_pass() {
    let (Some(_), Some(_)) = (on_path("chromedriver"), on_path("chromium")) else {
        assert!(
            !ci(),
            "chromium and chromedriver must be installed in CI (scripts/test.sh)"
        );
        eprintln!("skipped: chromium or chromedriver is not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let output = doctor(&dir.path().join("runs"), &[("ALQ_CHROME", None)]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("✓ versions match: both are"), "{text}");
    assert!(text.contains("alq run has everything it needs."), "{text}");
    assert!(
        dir.path().join("runs").is_dir(),
        "the run folder is created"
    );
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A program that prints `version`: Debian ships chromium and chromium-driver of one
/// version, so a mismatched pair (what this hint is for) cannot be installed for real.
/// `real_chromium_and_chromedriver_pass` runs the real pair.
#[cfg(unix)]
fn version_stub(dir: &Path, name: &str, version: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join(name);
    std::fs::write(&file, format!("#!/bin/sh\necho '{version}'\n")).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    file
}
