//! Bad workflow files and bad command lines: exit 2 and a message naming the place.

use crate::common::Workspace;

fn invalid(source: &str, expected: &[&str]) {
    let ws = Workspace::new();
    ws.write("wf.json", source);
    for command in [&["validate", "wf.json"][..], &["run", "wf.json"][..]] {
        let run = ws.alq(command);
        run.expect_code(2).stderr_has(expected);
    }
    assert!(
        !ws.path().join("runs").exists(),
        "an invalid workflow must not start a run"
    );
}

#[test]
fn invalid_json_names_line_and_column() {
    invalid(
        "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"action\": \"log\" \"message\": \"a\"}\n  ]\n}",
        &["wf.json:4:", "invalid JSON"],
    );
}

#[test]
fn unknown_action_suggests_the_closest_name() {
    invalid(
        r#"{"name": "x", "steps": [
  {"action": "log", "message": "a"},
  {"action": "if", "condition": "true", "then": [
    {"action": "browser.clik", "selector": "a"}
  ]}
]}"#,
        &[
            "wf.json:4:",
            "steps[1].then[0].action",
            "unknown action `browser.clik`",
            "did you mean `browser.click`",
        ],
    );
}

#[test]
fn unknown_field_names_the_step_and_field() {
    invalid(
        r##"{"name": "x", "steps": [
  {"action": "log", "message": "a"},
  {"action": "for_each", "items": [1], "steps": [
    {"action": "browser.click", "slector": "#a"}
  ]}
]}"##,
        &[
            "wf.json:4:",
            "steps[1].steps[0]",
            "unknown field `slector`",
            "browser.click",
        ],
    );
}

#[test]
fn unknown_top_level_field() {
    invalid(
        r#"{"name": "x", "stepz": [], "steps": []}"#,
        &["unknown field `stepz`"],
    );
}

#[test]
fn missing_required_field() {
    invalid(
        r#"{"name": "x", "steps": [{"action": "browser.goto"}]}"#,
        &["steps[0]", "missing field `url`"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"message": "hi"}]}"#,
        &["steps[0]", "missing field `action`"],
    );
    invalid(r#"{"steps": []}"#, &["missing field `name`"]);
}

#[test]
fn wrong_types() {
    invalid(
        r#"{"name": "x", "steps": [{"action": "sleep", "ms": "soon"}]}"#,
        &["steps[0].ms", "`soon` is not a number"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "sleep", "ms": [1]}]}"#,
        &["steps[0].ms", "invalid type: sequence"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "log", "message": "a", "timeout_ms": -1}]}"#,
        &["steps[0].timeout_ms"],
    );
    invalid(
        r#"{"name": "x", "inputs": {"n": {"type": "integer", "default": "three"}}, "steps": []}"#,
        &[
            "inputs.n.default",
            "is a string, but the input's type is integer",
        ],
    );
    invalid(
        r#"{"name": "x", "defaults": {"screenshot": "always"}, "steps": []}"#,
        &["defaults.screenshot", "unknown variant `always`"],
    );
}

#[test]
fn duplicate_ids() {
    invalid(
        r#"{"name": "x", "steps": [
  {"id": "a", "action": "log", "message": "1"},
  {"action": "try", "steps": [{"id": "a", "action": "log", "message": "2"}]}
]}"#,
        &[
            "wf.json:3:",
            "steps[1].steps[0].id",
            "duplicate step id `a` (first used at steps[0])",
        ],
    );
}

#[test]
fn references_to_unknown_steps_inputs_and_names() {
    invalid(
        r#"{"name": "x", "steps": [{"action": "log", "message": "{{ steps.nope.output }}"}]}"#,
        &["steps[0].message", "no step has the id `nope`"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "log", "message": "{{ inputs.who }}"}]}"#,
        &["steps[0].message", "declares no input `who`"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "log", "message": "{{ input.who }}"}]}"#,
        &["steps[0].message", "unknown name `input`"],
    );
}

#[test]
fn expression_syntax_errors() {
    invalid(
        r#"{"name": "x", "steps": [{"action": "log", "message": "{{ vars.a + }}"}]}"#,
        &["steps[0].message", "invalid expression"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "if", "condition": "vars.a ==", "then": []}]}"#,
        &["steps[0].condition", "invalid expression"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "log", "message": "a", "when": "(("}]}"#,
        &["steps[0].when", "invalid expression"],
    );
}

#[test]
fn fields_that_go_together() {
    invalid(
        r#"{"name": "x", "steps": [{"action": "browser.select", "selector": "s", "value": "a", "index": 1}]}"#,
        &["steps[0]", "exactly one of `value`, `label`, `index`"],
    );
    invalid(
        r#"{"name": "x", "steps": [{"action": "http.request", "method": "FETCH", "url": "http://x"}]}"#,
        &["steps[0].method", "not an HTTP method"],
    );
}

#[test]
fn call_cycle_is_refused() {
    let ws = Workspace::new();
    ws.write(
        "a.json",
        r#"{"name": "a", "steps": [{"action": "call", "workflow": "sub/b.json"}]}"#,
    );
    ws.write(
        "sub/b.json",
        r#"{"name": "b", "steps": [{"action": "call", "workflow": "../a.json"}]}"#,
    );
    ws.alq(&["validate", "a.json"]).expect_code(2).stderr_has(&[
        "`call` cycle",
        "a.json -> ",
        "b.json -> ",
    ]);
    ws.alq(&["run", "a.json"])
        .expect_code(2)
        .stderr_has(&["`call` cycle"]);
}

#[test]
fn call_of_a_missing_or_invalid_file() {
    let ws = Workspace::new();
    ws.write("a.json", r#"{"name": "a", "steps": [{"action": "call", "workflow": "b.json"}, {"action": "call", "workflow": "c.json"}]}"#);
    ws.write("c.json", r#"{"name": "c", "steps": [{"action": "nope"}]}"#);
    ws.alq(&["validate", "a.json"]).expect_code(2).stderr_has(&[
        "steps[0].workflow",
        "b.json: cannot read the workflow file",
        "c.json:1:",
        "unknown action `nope`",
    ]);
}

#[test]
fn missing_file_and_bad_command_lines() {
    let ws = Workspace::new();
    ws.alq(&["validate", "nope.json"])
        .expect_code(2)
        .stderr_has(&["nope.json", "cannot read"]);
    ws.alq(&["run"]).expect_code(2);
    ws.alq(&["run", "x.json", "--screenshots", "sometimes"])
        .expect_code(2);
    ws.alq(&["frobnicate"]).expect_code(2);
    let help = ws.alq(&["--help"]);
    help.expect_code(0);
    assert!(help.stdout.contains("run"));
}

#[test]
fn bad_inputs_on_the_command_line() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "inputs": {"n": {"type": "integer", "required": true}, "flag": {"type": "boolean", "default": false}},
            "steps": [{"action": "log", "message": "{{ inputs.n }}"}]}"#,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(2)
        .stderr_has(&["input `n` is required"]);
    ws.alq(&["run", "wf.json", "--input", "n=abc"])
        .expect_code(2)
        .stderr_has(&["`abc` is not an integer"]);
    ws.alq(&["run", "wf.json", "--input", "n=1", "--input", "flag=maybe"])
        .expect_code(2)
        .stderr_has(&["`maybe` is not a boolean"]);
    ws.alq(&["run", "wf.json", "--input", "n=1", "--input", "who=me"])
        .expect_code(2)
        .stderr_has(&["unknown input `who`", "declares: flag, n"]);
    ws.alq(&["run", "wf.json", "--input", "n"])
        .expect_code(2)
        .stderr_has(&["NAME=VALUE"]);
    ws.write("inputs.json", "[1]");
    ws.alq(&["run", "wf.json", "--inputs-file", "inputs.json"])
        .expect_code(2)
        .stderr_has(&["must hold a JSON object"]);
    ws.write("inputs.json", r#"{"n": "seven"}"#);
    ws.alq(&["run", "wf.json", "--inputs-file", "inputs.json"])
        .expect_code(2)
        .stderr_has(&["input `n` must be an integer, not a string"]);
    assert!(!ws.path().join("runs").exists());
}

#[test]
fn schema_describes_every_action() {
    let ws = Workspace::new();
    let run = ws.alq(&["schema"]);
    run.expect_code(0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("schema is JSON");
    let text = run.stdout;
    for action in [
        "browser.click",
        "for_each",
        "email.send",
        "shell.run",
        "csv.read",
    ] {
        assert!(
            text.contains(&format!("\"const\": \"{action}\"")),
            "schema lacks {action}"
        );
    }
    assert_eq!(schema["type"], "object");
    assert!(
        schema["required"]
            .as_array()
            .expect("required")
            .contains(&"steps".into())
    );
}

#[test]
fn every_problem_is_listed_in_file_order() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [
  {"id": "a", "action": "log", "message": "{{ nope }}"},
  {"id": "a", "action": "log", "message": "again"}
]}"#,
    );
    let run = ws.alq(&["validate", "wf.json"]);
    run.expect_code(2);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert_eq!(lines[2], "wf.json is not valid: 2 problems");
    assert!(
        lines[0].starts_with("wf.json:2:") && lines[0].contains("unknown name `nope`"),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].starts_with("wf.json:3:") && lines[1].contains("duplicate step id `a`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_nested_unknown_field_names_its_action_once() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "if", "condition": "true", "then": [{"action": "browser.open", "url": "a", "selector": "b"}]}]}"#,
    );
    let run = ws.alq(&["validate", "wf.json"]);
    run.expect_code(2).stderr_has(&[
        "steps[0].then[0].selector: unknown field `selector`",
        "(of the `browser.open` step)",
    ]);
    assert_eq!(run.stderr.matches(" step)").count(), 1, "{}", run.stderr);
}

/// Structural problems (which serde alone reports one at a time) are all listed, in
/// file order, each with its line, column and path, together with the semantic ones.
#[test]
fn every_structural_problem_is_listed_in_file_order() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r##"{"name": "x", "steps": [
  {"action": "browser.open", "url": "http://x", "colour": "red"},
  {"action": "sleep", "ms": [1]},
  {"action": "browser.clik", "selector": "#a"},
  {"action": "if", "condition": "true", "then": [
    {"action": "log", "mesage": "hi"},
    {"action": "log", "message": "{{ steps.nope.output }}"}
  ]},
  {"action": "log", "message": "a", "timeout_ms": "soon"}
], "colour": "blue"}"##,
    );
    for command in ["validate", "run"] {
        let run = ws.alq(&[command, "wf.json"]);
        run.expect_code(2);
        let problems: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("wf.json:"))
            .collect();
        let expected = [
            "wf.json:2:49: steps[0].colour: unknown field `colour`, expected `url` or `expect_status` (of the `browser.open` step)",
            "wf.json:3:23: steps[1].ms: invalid type: sequence, expected u64",
            "wf.json:4:4: steps[2].action: unknown action `browser.clik`; did you mean `browser.click`?",
            "wf.json:6:23: steps[3].then[0].mesage: unknown field `mesage`, expected `message` (of the `log` step)",
            "wf.json:7:23: steps[3].then[1].message: no step has the id `nope` (used in `steps.nope.output`)",
            "wf.json:9:37: steps[4].timeout_ms: invalid type: string \"soon\", expected u64",
            "wf.json:10:4: colour: unknown field `colour`, expected one of",
        ];
        assert_eq!(problems.len(), expected.len(), "{}", run.stderr);
        for (line, want) in problems.iter().zip(expected) {
            assert!(
                line.starts_with(want),
                "{line}\n  should start with\n{want}\nin:\n{}",
                run.stderr
            );
        }
        assert!(!ws.path().join("runs").exists());
    }
    ws.alq(&["validate", "wf.json"])
        .expect_code(2)
        .stderr_has(&["wf.json is not valid: 7 problems"]);
}

/// A step that is not an object, a top level that is not one, and a list of steps that
/// is not a list: each is named, and the rest of the file is still checked.
#[test]
fn shapes_that_are_not_steps() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": 5, "steps": ["log", {"action": "log", "message": "{{ inputs.who }}"}]}"#,
    );
    ws.alq(&["validate", "wf.json"])
        .expect_code(2)
        .stderr_has(&[
            "name: invalid type: integer `5`, expected a string",
            "steps[0]: invalid type: a string, expected a step",
            "steps[1].message: the workflow declares no input `who`",
            "3 problems",
        ]);
    ws.write("wf.json", "[1, 2]");
    ws.alq(&["validate", "wf.json"])
        .expect_code(2)
        .stderr_has(&["a workflow is a JSON object with `name` and `steps`, not a list"]);
    ws.write("wf.json", r#"{"name": "x", "steps": {"action": "log"}}"#);
    ws.alq(&["validate", "wf.json"])
        .expect_code(2)
        .stderr_has(&["steps: invalid type: an object, expected a list of steps"]);
}

#[test]
fn expect_status_bad_values_name_the_step_and_field() {
    invalid(
        r#"{"name": "x", "steps": [
  {"action": "browser.open", "url": "http://127.0.0.1/", "expect_status": "abc"}
]}"#,
        &[
            "steps[0].expect_status",
            "`abc` is not an HTTP status (100 to 599), a class like `2xx` or a range like `200-299`",
        ],
    );
    invalid(
        r#"{"name": "x", "steps": [
  {"action": "browser.open", "url": "http://127.0.0.1/"},
  {"action": "browser.goto", "url": "http://127.0.0.1/a", "expect_status": ["2xx", "404-400", "6xx"]}
]}"#,
        &[
            "steps[1].expect_status[1]",
            "`404-400` is a range whose start is above its end",
            "steps[1].expect_status[2]",
            "`6xx` is not an HTTP status",
        ],
    );
    invalid(
        r#"{"name": "x", "steps": [
  {"action": "browser.open", "url": "http://127.0.0.1/", "expect_status": 999}
]}"#,
        &[
            "wf.json:2:",
            "steps[0].expect_status",
            "`999` is not an HTTP status",
        ],
    );
    invalid(
        r#"{"name": "x", "steps": [
  {"action": "browser.open", "url": "http://127.0.0.1/", "expect_status": []}
]}"#,
        &["steps[0].expect_status", "needs at least one status"],
    );
    invalid(
        r#"{"name": "x", "steps": [
  {"action": "browser.open", "url": "http://127.0.0.1/", "expect_status": true}
]}"#,
        &["steps[0].expect_status", "invalid type: a boolean"],
    );
}

#[test]
fn expect_status_good_values_and_expressions_validate() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "inputs": {"ok": {"type": "integer", "default": 200}}, "steps": [
  {"action": "browser.open", "url": "http://127.0.0.1/", "expect_status": [200, "3xx", "400-404", "{{ inputs.ok }}"]},
  {"action": "browser.goto", "url": "http://127.0.0.1/", "expect_status": "2XX"}
]}"#,
    );
    ws.alq(&["validate", "wf.json"]).expect_code(0);
}
