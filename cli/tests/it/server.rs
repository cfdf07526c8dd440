//! `alq server` as an operator starts it: flags, `ALQ_*` variables and a config file;
//! the admin token printed once; graceful stop on SIGTERM; clear errors.

// The helpers below are test code too.
// `start` hands its child to the test, and `stop` waits for it.
#![allow(clippy::unwrap_used, clippy::zombie_processes)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::Workspace;

/// Starts `alq server` and reads its stderr until it listens; returns the process, the
/// address and everything it printed so far.
fn start(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alq"))
        .arg("server")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(ws.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start alq server");
    let mut reader = BufReader::new(child.stderr.take().expect("stderr"));
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            let _ = child.wait();
            panic!("alq server ended before listening:\n{printed}");
        }
        printed.push_str(&line);
        if let Some(address) = line.trim().strip_prefix("alq server listening on ") {
            let address = address.to_owned();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, address, printed);
        }
    }
}

fn stop(mut child: Child) -> i32 {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("alq server did not stop on SIGTERM within 5 s");
}

fn get(url: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::get(url)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}

#[test]
fn the_config_file_variables_and_flags_combine_and_the_token_is_printed_once() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ws = Workspace::new();
    let data = ws.path().join("data");
    ws.write(
        "alq.toml",
        "listen = \"127.0.0.1:1\"\nlease_ttl_ms = 30000\n",
    );
    // The file says port 1; the variable (port 0) wins over it, and the data folder
    // comes from a flag.
    let (child, address, printed) = start(
        &ws,
        &["--config", "alq.toml", "--data-dir", data.to_str().unwrap()],
        &[("ALQ_LISTEN", "127.0.0.1:0")],
    );
    assert!(
        printed.contains("admin token, shown only this once"),
        "{printed}"
    );
    assert!(
        printed.contains("alq login --url http://127.0.0.1:"),
        "{printed}"
    );
    assert!(!address.ends_with(":1"), "{address}");
    assert_eq!(get(&format!("{address}/readyz")), 200);
    assert!(
        data.join("alq.db").is_file(),
        "SQLite lives in the data folder"
    );
    assert_eq!(stop(child), 0);
    // Started again on the same data, it keeps the tenant and prints no new token.
    let (child, _, printed) = start(
        &ws,
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!printed.contains("admin token"), "{printed}");
    assert_eq!(stop(child), 0);
}

#[test]
fn bad_settings_are_clear_errors() {
    let ws = Workspace::new();
    ws.write("alq.toml", "listen = \"127.0.0.1:0\"\nlisten_port = 9\n");
    let run = ws.alq(&["server", "--config", "alq.toml"]);
    run.expect_code(2)
        .stderr_has(&["alq.toml", "unknown field `listen_port`"]);
    ws.alq(&["server", "--config", "missing.toml"])
        .expect_code(2)
        .stderr_has(&["cannot read the config file"]);
    ws.alq(&["server", "--listen", "nonsense"]).expect_code(2);
    let data = ws.path().join("d");
    ws.alq(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--database-url",
        "mysql://x",
    ])
    .expect_code(1)
    .stderr_has(&["unsupported database URL", "sqlite://", "postgres://"]);
    ws.alq(&["server", "--tls-cert", "c.pem"]).expect_code(2);
    ws.write(
        "tls.toml",
        "listen = \"127.0.0.1:0\"\ntls_cert = \"c.pem\"\n",
    );
    ws.alq(&["server", "--config", "tls.toml"])
        .expect_code(2)
        .stderr_has(&["give both tls_cert and tls_key"]);
    ws.write(
        "ttl.toml",
        "lease_ttl_ms = 1000\nheartbeat_interval_ms = 5000\n",
    );
    ws.alq(&["server", "--config", "ttl.toml"])
        .expect_code(2)
        .stderr_has(&["must be more than 0 and less than lease_ttl_ms"]);
}

#[test]
fn secrets_come_from_files_and_never_show_in_logs_or_errors() {
    let ws = Workspace::new();
    let data = ws.path().join("data");
    let db = ws.path().join("from-the-file.db");
    ws.write(
        "database-url",
        &format!("sqlite://{}?mode=rwc\n", db.display()),
    );
    // The URL comes from a file named by a variable; a flag beats a variable.
    let (child, address, _) = start(
        &ws,
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[
            ("ALQ_DATABASE_URL_FILE", "database-url"),
            ("ALQ_LISTEN", "127.0.0.1:1"),
        ],
    );
    assert!(!address.ends_with(":1"), "{address}");
    assert!(db.is_file(), "the database is where the file said");
    assert!(!data.join("alq.db").exists());
    assert_eq!(stop(child), 0);

    // Passwords are replaced in the logged configuration and in errors.
    let run = ws.alq_with_env(
        &[
            "server",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--redis-url",
            "redis://:hunter2@127.0.0.1:1",
        ],
        &[("RUST_LOG", "alq=debug")],
    );
    run.expect_code(1).stderr_has(&[
        "Configuration.",
        "redis://:***@127.0.0.1:1",
        "cannot connect to Redis at redis://:***@127.0.0.1:1",
    ]);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    ws.write(
        "both.toml",
        "redis_url = \"redis://r\"\nredis_url_file = \"f\"\n",
    );
    ws.alq(&["server", "--config", "both.toml"])
        .expect_code(2)
        .stderr_has(&["redis_url and redis_url_file"]);
}
