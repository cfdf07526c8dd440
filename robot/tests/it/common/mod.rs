//! Helpers shared by the integration tests.

#![allow(dead_code)]

/// Whether the tests run in CI, where a missing service is a failure, never a skip.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The address of a service that `scripts/test.sh` started, from its environment
/// variable. `None` (the test is skipped with a note) outside CI; a panic under CI.
pub fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if ci() => panic!("{var} is not set: scripts/test.sh must start this service under CI"),
        _ => {
            eprintln!("skipped: {var} is not set (run scripts/test.sh to start the service)");
            None
        }
    }
}

/// Whether a program can be found on PATH (or at `var` when that is set).
pub fn program(var: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Ok(path) = std::env::var(var) {
        return Some(path.into());
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if ci() => panic!("{name} is not installed: scripts/test.sh must install it under CI"),
        None => {
            eprintln!("skipped: {name} is not installed");
            None
        }
    }
}
