//! A disabled robot stays connected and paused: `alq robot run` keeps asking, says once
//! that it is disabled, shows as disabled, and takes jobs again once enabled. Only a
//! deleted robot (or one registered again elsewhere) is refused: the agent then says
//! so once and exits with code 1, which its systemd unit does not restart.

// Robots are children the tests kill.
#![allow(clippy::unwrap_used, clippy::zombie_processes)]

use std::time::{Duration, Instant};

use crate::common::control_plane::{HELLO, Server, User};
use crate::robot_agent::{Robot, quick, setup, start_job, wait_state};

/// `METHOD /api/v1/PATH` with the admin token: the status.
fn admin_call(server: &Server, method: reqwest::Method, path: &str) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let request = reqwest::Client::new()
        .request(method, format!("{}/api/v1/{path}", server.url))
        .bearer_auth(&server.admin_token);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move { request.send().await.unwrap().status().as_u16() })
}

fn robot_status(admin: &User, id: &str) -> String {
    let robots = admin.json(&["robot", "list"]);
    let robot = robots
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    robot["status"].as_str().unwrap().to_owned()
}

#[test]
fn a_disabled_robot_waits_and_resumes_and_a_deleted_one_stops_once() {
    // Lease polls of a second: several go by while the robot is disabled.
    let server = Server::start_configured(|config| {
        quick(config);
        config.lease_wait_max_s = 1;
    });
    let (admin, token) = setup(&server, HELLO);
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    let id = robot.alq(&["robot", "status", "--json"]).json()["robot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    robot.start(&[]);
    let first = start_job(&admin, "hello");
    wait_state(&admin, &first, "succeeded", Duration::from_secs(60), &robot);

    assert_eq!(
        admin_call(
            &server,
            reqwest::Method::POST,
            &format!("robots/{id}/disable")
        ),
        200
    );
    robot.wait_log("This robot is disabled", 1);
    let held = start_job(&admin, "hello");
    // Several of its one-second polls answered "disabled": it is still there, still
    // asking, and takes nothing.
    std::thread::sleep(Duration::from_secs(4));
    robot.assert_running();
    assert_eq!(robot_status(&admin, &id), "disabled");
    let job = admin.json(&["job", "get", &held]);
    assert_eq!(job["state"], "pending", "{job}\n{}", robot.log());
    assert_eq!(robot.log().matches("This robot is disabled").count(), 1);

    assert_eq!(
        admin_call(
            &server,
            reqwest::Method::POST,
            &format!("robots/{id}/enable")
        ),
        200
    );
    wait_state(&admin, &held, "succeeded", Duration::from_secs(60), &robot);
    robot.wait_log("This robot is enabled again", 1);
    assert_ne!(robot_status(&admin, &id), "disabled");

    // Deleted: its token is refused, and it stops with a clear message, once.
    assert_eq!(
        admin_call(&server, reqwest::Method::DELETE, &format!("robots/{id}")),
        204
    );
    let mut child = robot.child.take().unwrap();
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the robot did not stop:\n{}",
            robot.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = robot.log();
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(
        log.matches("refused this robot's token").count(),
        1,
        "said once:\n{log}"
    );
    assert!(
        log.contains("the robot was deleted")
            && log.contains("alq robot register --url URL --token REGISTRATION_TOKEN"),
        "{log}"
    );
}
