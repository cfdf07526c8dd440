//! `alq run` and values computed from secrets: masked on the progress display, in
//! `--json` lines, `events.ndjson` and `report.html`; and `job`/`run` in expressions.

use crate::common::{Workspace, events};

const WORKFLOW: &str = r#"{
  "name": "derived",
  "inputs": {"password": {"type": "string", "secret": true, "required": true}},
  "outputs": {"token": "{{ vars.token }}", "user": "{{ assets.erp.username }}"},
  "steps": [
    {"action": "set", "vars": {"token": "{{ assets.erp.password | upper }}~{{ inputs.password | reverse }}"}},
    {"action": "log", "message": "upper {{ inputs.password | upper }}, sliced {{ inputs.password[2:] }}"},
    {"action": "log", "message": "as {{ assets.erp.username }} with {{ vars.token }}"},
    {"action": "for_each", "items": "{{ [vars.token, inputs.password ~ '!'] }}", "as": "t", "steps": [
      {"action": "log", "message": "item {{ t | lower }}"}
    ]},
    {"action": "file.write", "path": "{{ run.dir }}/token.txt", "text": "token={{ vars.token }}"},
    {"action": "fail", "message": "refused {{ inputs.password | replace('2', 'two') }}"}
  ]
}"#;

/// The password, the credential, and what the workflow computes from them.
const CLEAR: &[&str] = &[
    "hunter2pass",
    "HUNTER2PASS",
    "ssap2retnuh",
    "nter2pass",
    "huntertwopass",
    "Tr0ub4dor",
    "TR0UB4DOR",
    "tr0ub4dor",
];

fn assert_hidden(what: &str, text: &str) {
    for clear in CLEAR {
        assert!(!text.contains(clear), "{what} shows {clear}:\n{text}");
    }
}

#[test]
fn derived_secrets_are_masked_on_every_output_of_alq_run() {
    let ws = Workspace::new();
    ws.write("wf.json", WORKFLOW);
    ws.write(
        "assets.json",
        r#"{"erp": {"username": "robot1", "password": "Tr0ub4dor"}}"#,
    );
    let args = [
        "run",
        "wf.json",
        "--input",
        "password=hunter2pass",
        "--assets-file",
        "assets.json",
    ];
    let run = ws.alq(&args);
    run.expect_code(1).stderr_has(&[
        "upper ***, sliced ***",
        "as robot1 with ***",
        "item ***",
        "refused ***",
    ]);
    assert_hidden("the progress display", &run.stderr);
    assert_hidden("standard output", &run.stdout);
    let dir = ws.run_dir();
    for file in ["events.ndjson", "report.html", "token.txt"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_hidden(file, &text);
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("token.txt")).unwrap(),
        "token=***"
    );
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("as robot1 with ***"), "{report}");

    let json = ws.alq(&[&args[..], &["--json", "--out", "json-run"]].concat());
    json.expect_code(1);
    assert_hidden("--json lines", &json.stdout);
    assert!(
        json.stdout.contains("as robot1 with ***"),
        "{}",
        json.stdout
    );
}

#[test]
fn alq_run_is_attempt_one_of_no_job() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "who", "outputs": {"job": "{{ job.id }}", "attempt": "{{ job.attempt }}", "run": "{{ run.id }}"},
            "steps": [{"action": "log", "message": "no job: {{ job.id is none }}, attempt {{ job.attempt }}"}]}"#,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(0)
        .stderr_has(&["no job: True, attempt 1"]);
    let dir = ws.run_dir();
    let end = events(&dir).pop().unwrap();
    assert_eq!(end["outputs"]["job"], serde_json::Value::Null);
    assert_eq!(end["outputs"]["attempt"], 1);
    assert_eq!(
        end["outputs"]["run"],
        dir.file_name().unwrap().to_string_lossy().as_ref()
    );
}
