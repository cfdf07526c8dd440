//! Secrets on a robot: values computed from a credential or a secret input reach the
//! control plane masked (events, outputs), the robot's log and its job folder too; and a
//! workflow knows its job and attempt.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::control_plane::Server;
use crate::robot_agent::{Robot, api, job, quick, setup, wait_state};

const WORKFLOW: &str = r#"{
  "name": "creds",
  "inputs": {"pin": {"type": "string", "secret": true, "required": true}},
  "outputs": {"token": "{{ vars.token }}", "user": "{{ assets.erp.username }}",
              "job": "{{ job.id }}", "attempt": "{{ job.attempt }}", "run": "{{ run.id }}"},
  "steps": [
    {"action": "set", "vars": {"token": "{{ assets.erp.password | upper }}-{{ inputs.pin | reverse }}"}},
    {"action": "log", "message": "signed in as {{ assets.erp.username }} with {{ vars.token }}"},
    {"action": "log", "message": "job {{ job.id }} attempt {{ job.attempt }} run {{ run.id }}"}
  ]
}"#;

#[test]
fn a_robot_masks_derived_secrets_and_knows_its_job() {
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, WORKFLOW);
    admin
        .alq(&[
            "asset",
            "set",
            "erp",
            "--type",
            "credential",
            "--username",
            "robot",
            "--password",
            "s3cret-pw-long",
        ])
        .expect_code(0);
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&[]);
    let started = admin.json(&["job", "start", "creds", "--input", "pin=pin-4711"]);
    let id = started["id"].to_string().trim_matches('"').to_owned();
    let done = wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);

    let outputs = &done["outputs"];
    assert_eq!(outputs["token"], "***", "{done}");
    assert_eq!(outputs["user"], "robot", "{done}");
    assert_eq!(outputs["job"].to_string().trim_matches('"'), id, "{done}");
    assert_eq!(outputs["attempt"], 1, "{done}");
    assert_eq!(outputs["run"], format!("{id}-1"), "{done}");

    let events = api(&server, None, &format!("jobs/{id}/events")).to_string();
    assert!(
        events.contains("signed in as robot with ***"),
        "the log line arrives masked: {events}"
    );
    assert!(
        events.contains(&format!("job {id} attempt 1 run {id}-1")),
        "{events}"
    );
    let report = std::fs::read_to_string(
        robot
            .path()
            .join(format!("robot/jobs/{id}-1/run/report.html")),
    )
    .unwrap();
    let seen = [
        ("the job's events", events),
        ("the job", job(&admin, &id).to_string()),
        ("the robot's log", robot.log()),
        ("the job folder's report", report),
    ];
    for clear in ["s3cret-pw-long", "S3CRET-PW-LONG", "pin-4711", "1174-nip"] {
        for (what, text) in &seen {
            assert!(!text.contains(clear), "{what} shows {clear}:\n{text}");
        }
    }
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}
