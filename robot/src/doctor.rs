//! Checks that this machine can run workflows: chromedriver and Chromium present, their
//! versions matching, the run folder writable. `alq doctor` prints them; the engine uses
//! the same lookup ([`find_chromedriver`], [`find_chrome`]) to start the browser.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variable that names the chromedriver to use, instead of the one on PATH.
pub const CHROMEDRIVER_VAR: &str = "ALQ_CHROMEDRIVER";
/// The variable that names the Chrome or Chromium binary to use.
pub const CHROME_VAR: &str = "ALQ_CHROME";
/// Names a Chromium-family browser goes by on PATH, most likely first.
pub const CHROME_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
/// The one command that installs a matching pair on Debian and Ubuntu.
const INSTALL_BOTH: &str = "sudo apt-get install chromium chromium-driver";
/// How long a `--version` may take: a wedged binary must not hang `alq doctor`.
const VERSION_TIMEOUT: Duration = Duration::from_secs(15);

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It is fine.
    Pass,
    /// It is a problem; the check's `fix` says what to do.
    Fail,
    /// It could not be checked because an earlier check failed.
    Skipped,
}

/// One line of `alq doctor`.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked, e.g. "chromedriver".
    pub name: &'static str,
    /// How it went.
    pub outcome: Outcome,
    /// What was found, or what is wrong.
    pub detail: String,
    /// How to fix it, for failures.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            outcome: Outcome::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            outcome: Outcome::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn skipped(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            outcome: Outcome::Skipped,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Where a program was looked for and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// An executable file.
    At(PathBuf),
    /// The environment variable names something that is not an executable file.
    BadVar {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: PathBuf,
    },
    /// Neither the variable nor PATH gave one.
    Missing,
}

/// Finds chromedriver: `ALQ_CHROMEDRIVER`, else `chromedriver` on PATH.
pub fn find_chromedriver() -> Found {
    locate(
        CHROMEDRIVER_VAR,
        std::env::var_os(CHROMEDRIVER_VAR),
        std::env::var_os("PATH"),
        &["chromedriver"],
    )
}

/// Finds Chrome or Chromium: `ALQ_CHROME`, else the first of [`CHROME_NAMES`] on PATH.
pub fn find_chrome() -> Found {
    locate(
        CHROME_VAR,
        std::env::var_os(CHROME_VAR),
        std::env::var_os("PATH"),
        CHROME_NAMES,
    )
}

/// Looks a program up: the variable's value when set (a path, or a bare name searched on
/// PATH), else each of `names` on PATH. Pure of the process environment, for tests.
pub fn locate(
    var: &'static str,
    var_value: Option<OsString>,
    path: Option<OsString>,
    names: &[&str],
) -> Found {
    let search = |name: &OsStr| {
        let path = path.as_deref()?;
        std::env::split_paths(path).find_map(|dir| {
            let mut file = dir.join(name);
            if !std::env::consts::EXE_SUFFIX.is_empty() && file.extension().is_none() {
                file.set_extension(std::env::consts::EXE_SUFFIX.trim_start_matches('.'));
            }
            is_executable(&file).then_some(file)
        })
    };
    if let Some(value) = var_value.filter(|v| !v.is_empty()) {
        let given = PathBuf::from(&value);
        let found = if given.components().count() == 1 && !given.is_absolute() {
            search(&value)
        } else {
            is_executable(&given).then_some(given.clone())
        };
        return match found {
            Some(file) => Found::At(file),
            None => Found::BadVar { var, value: given },
        };
    }
    names
        .iter()
        .find_map(|name| search(OsStr::new(name)))
        .map_or(Found::Missing, Found::At)
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The first line `PROGRAM --version` prints, e.g. `ChromeDriver 156.0.8078.73 (...)`.
pub fn program_version(program: &Path) -> Result<String, String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > VERSION_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{} --version` did not answer", program.display()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {}: {e}", program.display())),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) if output.status.success() => Ok(line.to_owned()),
        _ => Err(format!(
            "`{} --version` printed no version",
            program.display()
        )),
    }
}

/// The major version in a `--version` line: the first number of the first word that
/// looks like `N.N...` (`Chromium 156.0.8078.73 built on Debian` -> 156).
pub fn major_version(line: &str) -> Option<u32> {
    line.split_whitespace().find_map(|word| {
        let (major, rest) = word.split_once('.')?;
        let minor = rest.split('.').next()?;
        if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        major.parse().ok()
    })
}

/// Creates the run folder if needed, then writes and deletes a probe file in it.
pub fn check_writable(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".alq-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    std::fs::remove_file(&probe).map_err(|e| format!("cannot delete {}: {e}", probe.display()))
}

/// Runs every check `alq run` depends on, with `run_dir` as the run folder.
pub fn run_checks(run_dir: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let driver = program_check(
        &mut checks,
        "chromedriver",
        find_chromedriver(),
        "sudo apt-get install chromium-driver (Debian, Ubuntu), or set ALQ_CHROMEDRIVER to its path",
    );
    let chrome = program_check(
        &mut checks,
        "Chromium",
        find_chrome(),
        "sudo apt-get install chromium (Debian, Ubuntu), or set ALQ_CHROME to the browser's path",
    );
    checks.push(match (driver, chrome) {
        (Some(d), Some(c)) if d == c => Check::pass("versions match", format!("both are {d}")),
        (Some(d), Some(c)) => Check::fail(
            "versions match",
            format!("chromedriver {d} cannot drive Chromium {c}"),
            format!("reinstall both from the same source, e.g. `{INSTALL_BOTH}`"),
        ),
        _ => Check::skipped("versions match", "not compared: a version above is unknown"),
    });
    checks.push(match check_writable(run_dir) {
        Ok(()) => Check::pass("run folder", format!("{} is writable", run_dir.display())),
        Err(e) => Check::fail(
            "run folder",
            e,
            "pass a folder you can write to with --out DIR, or fix its permissions",
        ),
    });
    checks
}

/// Adds the check of one program and returns its major version when known.
fn program_check(
    checks: &mut Vec<Check>,
    name: &'static str,
    found: Found,
    install: &str,
) -> Option<u32> {
    match found {
        Found::At(path) => match program_version(&path) {
            Ok(version) => {
                let major = major_version(&version);
                checks.push(Check::pass(name, format!("{} ({version})", path.display())));
                major
            }
            Err(e) => {
                checks.push(Check::fail(name, e, format!("reinstall it: {install}")));
                None
            }
        },
        Found::BadVar { var, value } => {
            checks.push(Check::fail(
                name,
                format!("{var}={} is not an executable file", value.display()),
                format!(
                    "unset {var} to use the {name} on PATH, or set it to the full path of {name}"
                ),
            ));
            None
        }
        Found::Missing => {
            checks.push(Check::fail(name, "not found on PATH", install));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_of_real_version_lines() {
        assert_eq!(
            major_version("ChromeDriver 156.0.8078.73 (abc-refs/branch-heads/1@{#1})"),
            Some(156)
        );
        assert_eq!(
            major_version("Chromium 156.0.8078.73 built on Debian GNU/Linux 12"),
            Some(156)
        );
        assert_eq!(major_version("Google Chrome 120.0.6099.109 "), Some(120));
        assert_eq!(major_version("no version here"), None);
    }

    #[cfg(unix)]
    /// An executable file named `name`: `locate` looks at names and permissions only.
    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join(name);
        std::fs::write(&file, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        file
    }

    #[cfg(unix)]
    #[test]
    fn locate_prefers_the_variable_then_path_in_name_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let chrome = executable(dir.path(), "google-chrome");
        let chromium = executable(dir.path(), "chromium");
        let path = Some(dir.path().as_os_str().to_owned());
        assert_eq!(
            locate("V", None, path.clone(), CHROME_NAMES),
            Found::At(chromium)
        );
        assert_eq!(
            locate("V", Some(chrome.clone().into()), path.clone(), CHROME_NAMES),
            Found::At(chrome.clone())
        );
        // A bare name in the variable is looked up on PATH.
        assert_eq!(
            locate("V", Some("google-chrome".into()), path.clone(), &[]),
            Found::At(chrome)
        );
        assert_eq!(
            locate("V", Some("/nope/chromedriver".into()), path, &["chromium"]),
            Found::BadVar {
                var: "V",
                value: "/nope/chromedriver".into()
            }
        );
        assert_eq!(locate("V", None, None, CHROME_NAMES), Found::Missing);
        // A file that is not executable does not count.
        std::fs::write(dir.path().join("chromedriver"), "").expect("write");
        let path = Some(dir.path().as_os_str().to_owned());
        assert_eq!(locate("V", None, path, &["chromedriver"]), Found::Missing);
    }

    #[test]
    fn version_is_the_first_line_printed() {
        // The real chromedriver that scripts/test.sh installs (required under CI).
        let driver = std::env::var_os("ALQ_CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()));
        match driver {
            Some(driver) => {
                let version = program_version(&driver).expect("chromedriver --version");
                assert!(version.starts_with("ChromeDriver "), "{version}");
                assert!(!version.contains('\n'), "{version}");
                assert!(major_version(&version).is_some(), "{version}");
            }
            None if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
                panic!("chromedriver must be installed under CI (scripts/test.sh)")
            }
            None => eprintln!("skipped the real chromedriver: it is not installed"),
        }
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(program_version(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn run_folder_is_created_and_left_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runs = dir.path().join("a/b/runs");
        check_writable(&runs).expect("writable");
        assert_eq!(std::fs::read_dir(&runs).expect("created").count(), 0);
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("write");
        let error = check_writable(&file.join("runs")).expect_err("under a file");
        assert!(error.contains("cannot create"), "{error}");
    }
}
