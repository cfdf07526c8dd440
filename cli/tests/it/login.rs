//! `alq login` / `alq logout` and how every server command finds the server.

use crate::common::control_plane::{Server, User};

#[test]
fn login_with_a_good_token_is_stored_for_the_owner_only() {
    let server = Server::start();
    let user = User::new();
    user.alq(&[
        "login",
        "--url",
        &server.url,
        "--token",
        &server.admin_token,
    ])
    .expect_code(0)
    .stdout_has(&["Logged in to", &server.url]);
    let file = user.config_dir().join("cli.json");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("cli.json")).expect("JSON");
    assert_eq!(stored["url"], server.url.as_str());
    assert_eq!(stored["token"], server.admin_token.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "cli.json must be readable by its owner only"
        );
    }
    // Other commands use it without flags.
    user.alq(&["workflow", "list"]).expect_code(0);

    user.alq(&["logout"])
        .expect_code(0)
        .stdout_has(&["Logged out"]);
    assert!(!file.exists());
    user.alq(&["workflow", "list"])
        .expect_code(3)
        .stderr_has(&["not logged in", "alq login --url"]);
}

#[test]
fn login_reads_the_token_from_stdin() {
    let server = Server::start();
    let user = User::new();
    let token = format!("{}\n", server.admin_token);
    user.alq_with(
        &["login", "--url", &server.url, "--token-stdin"],
        &[],
        &token,
    )
    .expect_code(0);
    user.alq(&["workflow", "list"]).expect_code(0);
}

#[test]
fn login_with_a_wrong_token_is_refused_and_nothing_is_stored() {
    let server = Server::start();
    let user = User::new();
    user.alq(&["login", "--url", &server.url, "--token", "alq_pat_wrong"])
        .expect_code(1)
        .stderr_has(&["refused this token", "unknown token"]);
    assert!(!user.config_dir().join("cli.json").exists());
}

#[test]
fn login_to_an_unreachable_server_exits_3() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let user = User::new();
    user.alq(&["login", "--url", &url, "--token", "alq_pat_x"])
        .expect_code(3)
        .stderr_has(&["cannot reach the alq server", &url, "Connection refused"]);
    assert!(!user.config_dir().join("cli.json").exists());
}

#[test]
fn a_malformed_url_is_a_usage_error() {
    User::new()
        .alq(&["login", "--url", "127.0.0.1:8080", "--token", "alq_pat_x"])
        .expect_code(2)
        .stderr_has(&["not a valid server URL", "http://"]);
}

#[test]
fn commands_without_a_login_say_how_to_log_in() {
    let user = User::new();
    for command in [
        &["workflow", "list"][..],
        &["tenant", "list"][..],
        &["workflow", "get", "x"][..],
    ] {
        user.alq(command)
            .expect_code(3)
            .stderr_has(&["not logged in", "alq login --url URL --token TOKEN"]);
    }
}

#[test]
fn variables_and_flags_override_the_stored_login() {
    let server = Server::start();
    let user = User::new();
    user.alq_with(
        &["workflow", "list"],
        &[("ALQ_URL", &server.url), ("ALQ_TOKEN", &server.admin_token)],
        "",
    )
    .expect_code(0);
    user.alq(&[
        "workflow",
        "list",
        "--url",
        &server.url,
        "--token",
        &server.admin_token,
    ])
    .expect_code(0);

    // A stored login with a wrong token is overridden by the flag.
    let user = User::logged_in(&server);
    user.alq(&["workflow", "list", "--token", "alq_pat_wrong"])
        .expect_code(1)
        .stderr_has(&["(401)", "alq login"]);
}

#[test]
fn an_https_server_with_a_private_ca_needs_ca_cert() {
    let (server, cert) = Server::start_tls();
    let cert = cert.to_str().expect("UTF-8 path");
    let user = User::new();
    user.alq(&[
        "login",
        "--url",
        &server.url,
        "--token",
        &server.admin_token,
    ])
    .expect_code(3)
    .stderr_has(&["cannot reach the alq server", "certificate"]);
    user.alq(&[
        "login",
        "--url",
        &server.url,
        "--token",
        &server.admin_token,
        "--ca-cert",
        cert,
    ])
    .expect_code(0);
    // The stored login keeps the certificate.
    user.alq(&["workflow", "list"]).expect_code(0);

    user.alq(&["workflow", "list", "--ca-cert", "missing.pem"])
        .expect_code(2)
        .stderr_has(&["missing.pem"]);
}

#[test]
fn the_stored_token_is_never_sent_to_another_server() {
    let server = Server::start();
    let other = Server::start();
    let user = User::logged_in(&server);
    user.alq(&["job", "list", "--url", &other.url])
        .expect_code(2)
        .stderr_has(&["the stored login is for", "pass --token"]);
    // The other server never saw the call (it counts every API request it answers).
    assert!(
        !other.metrics().contains("/api/v1/jobs"),
        "{}",
        other.metrics()
    );
    user.alq(&[
        "job",
        "list",
        "--url",
        &other.url,
        "--token",
        &other.admin_token,
    ])
    .expect_code(0);
    assert!(other.metrics().contains("/api/v1/jobs"));
    // The same server with a trailing slash is still the same server.
    let same = format!("{}/", server.url);
    user.alq(&["workflow", "list", "--url", &same])
        .expect_code(0);
}
