//! What a job's workflow may reach on a robot, against a real control plane: never the
//! robot's own folder (its identity and token, spool, other jobs), only its job folder
//! and, with `--allow-path` and `allow_paths` in `config.toml`, only those folders.
//! (`alq workflow push` refuses a literal path that leaves the package: these come from
//! inputs, as they could in any workflow.)

// Test code: a panic is the failure message.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::control_plane::Server;
use crate::robot_agent::{Robot, api, quick, setup, wait_state};

const WORKFLOW: &str = r#"{
  "name": "reach",
  "inputs": {
    "shared": {"type": "string"}, "more": {"type": "string"}, "other": {"type": "string"},
    "identity": {"type": "string", "default": "../../robot.json"},
    "spool": {"type": "string", "default": "../../spool"}
  },
  "outputs": {
    "identity": "{{ steps.identity.error }}", "spool": "{{ steps.spool.error }}",
    "shared": "{{ steps.shared.output }}", "more": "{{ steps.more.output }}",
    "other": "{{ steps.other.error }}", "own": "{{ steps.own.output }}"
  },
  "steps": [
    {"id": "identity", "action": "file.read", "path": "{{ inputs.identity }}", "continue_on_error": true},
    {"action": "log", "message": "identity: {{ steps.identity.output }}"},
    {"id": "spool", "action": "file.list", "dir": "{{ inputs.spool }}", "continue_on_error": true},
    {"id": "shared", "action": "file.read", "path": "{{ inputs.shared }}"},
    {"id": "more", "action": "file.read", "path": "{{ inputs.more }}"},
    {"id": "other", "action": "file.read", "path": "{{ inputs.other }}", "continue_on_error": true},
    {"id": "own", "action": "file.write", "path": "run/mine.txt", "text": "in the job folder"}
  ]
}"#;

#[test]
fn a_job_cannot_read_the_robots_identity_and_only_uses_the_allowed_folders() {
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, WORKFLOW);
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    let identity = std::fs::read_to_string(robot.path().join("robot/robot.json")).unwrap();
    let robot_token: serde_json::Value = serde_json::from_str(&identity).unwrap();
    let robot_token = robot_token["token"].as_str().unwrap().to_owned();
    assert!(robot_token.starts_with("alq_rbt_"));

    for (dir, text) in [
        ("shared", "from shared"),
        ("more", "from more"),
        ("other", "no"),
    ] {
        std::fs::create_dir_all(robot.path().join(dir)).unwrap();
        std::fs::write(robot.path().join(dir).join("in.txt"), text).unwrap();
    }
    std::fs::write(
        robot.path().join("robot/config.toml"),
        format!(
            "allow_paths = [{:?}]\n",
            robot.path().join("more").display().to_string()
        ),
    )
    .unwrap();
    let shared = robot.path().join("shared");
    robot.start(&["--allow-path", shared.to_str().unwrap()]);
    let input = |name: &str| {
        format!(
            "{name}={}",
            robot.path().join(name).join("in.txt").display()
        )
    };
    let job = admin.json(&[
        "job",
        "start",
        "reach",
        "--input",
        &input("shared"),
        "--input",
        &input("more"),
        "--input",
        &input("other"),
    ]);
    let id = job["id"].to_string().trim_matches('"').to_owned();
    let done = wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);
    let outputs = &done["outputs"];
    let identity_error = outputs["identity"].as_str().unwrap();
    assert!(
        identity_error.contains("may not read `../../robot.json`")
            && identity_error.contains("inside the robot's folder"),
        "{done}"
    );
    assert!(
        outputs["spool"]
            .as_str()
            .unwrap()
            .contains("inside the robot's folder"),
        "{done}"
    );
    assert_eq!(outputs["shared"], "from shared", "{done}");
    assert_eq!(outputs["more"], "from more", "{done}");
    let other = outputs["other"].as_str().unwrap();
    assert!(
        other.contains("outside the folders this run may use") && other.contains("allow_paths"),
        "{done}"
    );
    assert!(outputs["own"].as_str().unwrap().ends_with("mine.txt"));

    // The token is nowhere a viewer can look: not in the events, nor in the job.
    let events = api(&server, None, &format!("jobs/{id}/events")).to_string();
    assert!(events.contains("may not read"), "{events}");
    assert!(!events.contains(&robot_token), "{events}");
    assert!(!done.to_string().contains(&robot_token), "{done}");
    assert_eq!(robot.stop(), 0, "{}", robot.log());
    assert!(
        robot
            .log()
            .contains("Workflows may use files only in these folders"),
        "{}",
        robot.log()
    );
}

#[test]
fn a_bad_config_file_stops_the_robot_with_a_clear_error() {
    let server = Server::start_configured(quick);
    let (_admin, token) = setup(&server, WORKFLOW);
    let robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    std::fs::write(
        robot.path().join("robot/config.toml"),
        "allow_path = [\"/srv\"]\n",
    )
    .unwrap();
    robot
        .alq(&["robot", "run"])
        .expect_code(2)
        .stderr_has(&["config.toml", "unknown field `allow_path`"]);
}
