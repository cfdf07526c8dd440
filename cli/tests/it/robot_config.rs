//! `alq robot run` takes every setting from its config file (`config.toml` in the robot
//! folder), an `ALQ_*` variable or a flag: flag > variable > file > default.

// Robots are children the tests kill.
#![allow(clippy::unwrap_used, clippy::zombie_processes)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::control_plane::{HELLO, Server};
use crate::robot_agent::{Robot, quick, setup, start_job, wait_state};

/// Starts `alq robot run ARGS` with `env`, logging to the robot's log.
fn start(robot: &mut Robot, args: &[&str], env: &[(&str, &str)]) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(robot.log_path())
        .unwrap();
    let mut all = vec!["robot", "run"];
    all.extend_from_slice(args);
    let child = robot
        .command(&all)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    robot.child = Some(child);
}

/// The slots of the running agent, as `alq robot status` shows them.
fn slots(robot: &Robot) -> u64 {
    let started = Instant::now();
    loop {
        let run = robot.alq(&["robot", "status", "--json"]);
        if let Some(slots) = serde_json::from_str::<serde_json::Value>(&run.stdout)
            .ok()
            .and_then(|s| s["agent"]["slots"].as_u64())
        {
            return slots;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the agent never started:\n{}",
            robot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_robot_takes_its_settings_from_its_file_variables_and_flags() {
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, HELLO);
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    let jobs = robot.path().join("jobs-from-the-file");
    std::fs::write(
        robot.path().join("robot/config.toml"),
        format!(
            "slots = 2\ngrace = \"5s\"\ndata_dir = {:?}\nkeep_job_folders = 3\n",
            jobs.display().to_string()
        ),
    )
    .unwrap();

    // The file alone.
    start(&mut robot, &[], &[]);
    assert_eq!(slots(&robot), 2);
    let status = robot.alq(&["robot", "status", "--json"]).json();
    assert_eq!(status["data_dir"], jobs.display().to_string(), "{status}");
    let id = start_job(&admin, "hello");
    wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);
    assert!(
        jobs.join("jobs").join(format!("{id}-1")).is_dir(),
        "the job ran in the file's data_dir:\n{}",
        robot.log()
    );
    assert_eq!(robot.stop(), 0);

    // A variable beats the file; a flag beats the variable.
    start(&mut robot, &[], &[("ALQ_ROBOT_SLOTS", "3")]);
    assert_eq!(slots(&robot), 3);
    assert_eq!(robot.stop(), 0);
    start(&mut robot, &["--slots", "4"], &[("ALQ_ROBOT_SLOTS", "3")]);
    assert_eq!(slots(&robot), 4);
    assert_eq!(robot.stop(), 0);

    // A key the robot does not know is a clear error.
    std::fs::write(robot.path().join("robot/config.toml"), "slot = 2\n").unwrap();
    robot
        .alq(&["robot", "run"])
        .expect_code(2)
        .stderr_has(&["config.toml", "unknown field `slot`"]);
}
