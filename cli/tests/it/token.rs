//! `alq token ...` and `alq robot ...` against a real control plane; robots register and
//! heartbeat through the real robot API.

use std::time::Duration;

use serde_json::json;

use crate::common::control_plane::{HELLO, Server, User};
use crate::common::robot::Robot;

#[test]
fn personal_tokens_are_created_listed_used_and_revoked() {
    let server = Server::start();
    let admin = User::logged_in(&server);
    let created = admin.alq(&["token", "create", "ci", "--role", "operator"]);
    created.expect_code(0).stdout_has(&[
        "Created token ci",
        "role operator",
        "shown only this once",
    ]);
    let secret = created
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("alq_pat_"))
        .expect("the secret")
        .to_owned();

    let list = admin.alq(&["token", "list"]);
    list.expect_code(0);
    let ci = list.row("NAME", "ci");
    assert_eq!(ci["ROLE"], "operator");
    assert!(secret.starts_with(&ci["PREFIX"]), "{ci:?}");
    assert!(ci["CREATED"].starts_with(&chrono::Local::now().format("%Y-%m-%d").to_string()));
    assert_eq!(ci["REVOKED"], "-");
    assert!(!list.stdout.contains(&secret));

    // The new token works, for what its role allows.
    let ci_user = User::new();
    let env = [
        ("ALQ_URL", server.url.as_str()),
        ("ALQ_TOKEN", secret.as_str()),
    ];
    ci_user.alq_with(&["job", "list"], &env, "").expect_code(0);
    ci_user
        .alq_with(&["token", "list"], &env, "")
        .expect_code(1)
        .stderr_has(&["(403)", "larger role"]);

    let id = ci["ID"].clone();
    admin
        .alq(&["token", "revoke", &id])
        .expect_code(0)
        .stdout_has(&[&format!("Revoked token {id}.")]);
    ci_user
        .alq_with(&["job", "list"], &env, "")
        .expect_code(1)
        .stderr_has(&["(401)", "the token was revoked", "alq login"]);
    let list = admin.alq(&["token", "list"]);
    assert_ne!(list.row("ID", &id)["REVOKED"], "-");
    let listed = admin.json(&["token", "list"]);
    let revoked = listed
        .as_array()
        .and_then(|all| all.iter().find(|t| t["id"] == id.as_str()))
        .expect("the token is listed");
    assert!(revoked["revoked_at"].is_i64());
    admin
        .alq(&["token", "revoke", "no-such-token"])
        .expect_code(1)
        .stderr_has(&["(404)", "no personal access token `no-such-token`"]);

    admin
        .alq(&["token", "create", "x", "--role", "root"])
        .expect_code(2)
        .stderr_has(&["invalid value 'root'"]);
}

#[test]
fn a_single_use_registration_token_works_once() {
    let server = Server::start();
    let admin = User::logged_in(&server);
    let created = admin.alq(&[
        "robot",
        "token",
        "create",
        "--name",
        "lab",
        "--labels",
        "a,b",
        "--expires",
        "1h",
        "--single-use",
    ]);
    created.expect_code(0).stdout_has(&[
        "Created registration token",
        &server.url,
        "shown only this once",
    ]);
    let secret = created
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("alq_"))
        .expect("the secret")
        .to_owned();

    let list = admin.alq(&["robot", "token", "list"]);
    list.expect_code(0);
    let lab = list.row("NAME", "lab");
    assert_eq!(lab["LABELS"], "a,b");
    assert_eq!(lab["SINGLE USE"], "true");
    assert_eq!(lab["USED"], "-");
    assert_ne!(lab["EXPIRES"], "-");
    let listed = admin.json(&["robot", "token", "list"]);
    let token = &listed[0];
    assert_eq!(
        token["expires_at"].as_i64().unwrap() - token["created_at"].as_i64().unwrap(),
        3_600_000
    );

    let robot = Robot::register(&server.url, &secret, "lab-1").expect("the first registration");
    assert_eq!(robot.labels, ["a", "b"]);
    let again = Robot::register(&server.url, &secret, "lab-2")
        .err()
        .expect("refused");
    assert_eq!(again.status, 401);
    assert!(
        again.body["message"]
            .as_str()
            .unwrap()
            .contains("used already"),
        "{again:?}"
    );
    let list = admin.alq(&["robot", "token", "list"]);
    assert_ne!(list.row("NAME", "lab")["USED"], "-");

    // A revoked reusable token stops registering robots; the robots stay.
    let reusable = admin.json(&["robot", "token", "create", "--name", "open"]);
    let reusable_secret = reusable["token"].as_str().unwrap();
    Robot::register(&server.url, reusable_secret, "open-1").expect("registered");
    let id = reusable["id"].as_str().unwrap();
    admin
        .alq(&["robot", "token", "revoke", id])
        .expect_code(0)
        .stdout_has(&[&format!("Revoked registration token {id}.")]);
    let refused = Robot::register(&server.url, reusable_secret, "open-2")
        .err()
        .expect("refused");
    assert_eq!(refused.status, 401);
    let robots = admin.alq(&["robot", "list"]);
    robots.row("NAME", "open-1");
    robots.row("NAME", "lab-1");

    admin
        .alq(&["robot", "token", "create", "--expires", "soon"])
        .expect_code(2);
}

#[test]
fn robots_are_online_busy_or_offline() {
    // Offline after three missed heartbeats: 3 s here.
    let server = Server::start_configured(|c| c.heartbeat_interval_ms = 1_000);
    let admin = User::logged_in(&server);
    admin.ws.write("hello.json", HELLO);
    admin
        .alq(&["workflow", "push", "hello.json"])
        .expect_code(0);
    let token = admin.json(&["robot", "token", "create", "--labels", "linux"]);
    let token = token["token"].as_str().unwrap();
    let idle = Robot::register(&server.url, token, "idle").expect("registered");
    let worker = Robot::register(&server.url, token, "worker").expect("registered");
    let job = admin.json(&["job", "start", "hello"]);
    let leased = worker.take();

    let list = admin.alq(&["robot", "list"]);
    list.expect_code(0);
    let row = list.row("NAME", "idle");
    assert_eq!(row["ID"], idle.id);
    assert_eq!(row["STATUS"], "online");
    assert_eq!(row["LABELS"], "linux");
    assert_eq!(row["VERSION"], "9.9.9");
    assert_eq!(row["JOBS"], "-");
    assert!(row["LAST SEEN"].starts_with(&chrono::Local::now().format("%Y-%m-%d").to_string()));
    let row = list.row("NAME", "worker");
    assert_eq!(row["STATUS"], "busy");
    assert_eq!(row["JOBS"], job["id"].to_string());

    std::thread::sleep(Duration::from_millis(3_300));
    worker.heartbeat(&leased);
    let list = admin.alq(&["robot", "list"]);
    assert_eq!(list.row("NAME", "idle")["STATUS"], "offline");
    assert_eq!(list.row("NAME", "worker")["STATUS"], "busy");
    worker.complete(&leased, json!({"outcome": "succeeded"}));
    assert_eq!(
        admin.alq(&["robot", "list"]).row("NAME", "worker")["STATUS"],
        "online"
    );

    let robots = admin.json(&["robot", "list"]);
    let statuses: Vec<&str> = robots
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&"offline") && statuses.contains(&"online"));
}

#[test]
fn token_create_prints_the_register_line_and_that_line_registers_a_robot() {
    let server = Server::start();
    let admin = User::logged_in(&server);
    let created = admin.alq(&["robot", "token", "create", "--name", "lab"]);
    created.expect_code(0);
    let secret = created
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("alq_reg_"))
        .expect("the secret")
        .to_owned();
    let line = created
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("alq robot register "))
        .unwrap_or_else(|| panic!("no register line:\n{}", created.stdout));
    assert_eq!(
        line,
        format!("alq robot register --url {} --token {secret}", server.url)
    );
    // The printed line, run as it is on a robot machine, registers the robot.
    let robot_dir = admin.ws.path().join("robot");
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    admin
        .alq_with(
            &words,
            &[("ALQ_ROBOT_DIR", robot_dir.to_str().unwrap())],
            "",
        )
        .expect_code(0)
        .stdout_has(&["Registered robot"]);
    assert!(robot_dir.join("robot.json").exists());

    // Scripts get the same line.
    let created = admin.json(&["robot", "token", "create"]);
    assert_eq!(
        created["register_command"],
        format!(
            "alq robot register --url {} --token {}",
            server.url,
            created["token"].as_str().unwrap()
        )
    );
}
