//! `alq workflow push|list|get|delete` against a real control plane.

use crate::common::control_plane::{HELLO, Server, User};

#[test]
fn a_valid_workflow_is_pushed_listed_shown_and_deleted() {
    let server = Server::start();
    let user = User::logged_in(&server);
    user.ws.write("hello.json", HELLO);

    user.alq(&["workflow", "push", "hello.json"])
        .expect_code(0)
        .stdout_has(&["Pushed workflow hello"]);
    user.alq(&["workflow", "push", "hello.json"])
        .expect_code(0)
        .stdout_has(&["Unchanged"]);

    user.alq(&["workflow", "list"]).expect_code(0).stdout_has(&[
        "NAME",
        "ID",
        "LATEST VERSION",
        "hello",
    ]);
    let list = user.json(&["workflow", "list"]);
    assert_eq!(list[0]["name"], "hello");

    user.alq(&["workflow", "get", "hello"])
        .expect_code(0)
        .stdout_has(&["name", "hello", "VERSION", "HASH"]);
    let got = user.json(&["workflow", "get", "hello"]);
    assert_eq!(got["workflow"]["name"], "hello");
    assert_eq!(got["versions"].as_array().map(Vec::len), Some(1));
    let source = user.alq(&["workflow", "get", "hello", "--source"]);
    source.expect_code(0);
    assert_eq!(source.stdout, HELLO);

    user.alq(&["workflow", "delete", "hello"])
        .expect_code(0)
        .stdout_has(&["Deleted workflow hello"]);
    user.alq(&["workflow", "get", "hello"])
        .expect_code(1)
        .stderr_has(&["(404)", "no workflow `hello`"]);
    assert_eq!(user.json(&["workflow", "list"]), serde_json::json!([]));
}

#[test]
fn an_invalid_workflow_is_refused_here_and_nothing_is_pushed() {
    let server = Server::start();
    let user = User::logged_in(&server);
    user.ws.write(
        "bad.json",
        "{\"name\": \"bad\",\n  \"steps\": [\n    {\"action\": \"lg\", \"message\": \"hi\"}\n  ]\n}\n",
    );
    user.alq(&["workflow", "push", "bad.json"])
        .expect_code(2)
        .stderr_has(&["bad.json:3:", "steps[0].action", "unknown action `lg`"]);
    assert_eq!(user.json(&["workflow", "list"]), serde_json::json!([]));

    user.alq(&["workflow", "push", "missing.json"])
        .expect_code(2)
        .stderr_has(&["missing.json", "cannot read"]);
}

#[test]
fn pushing_needs_a_login_but_validates_first() {
    let user = crate::common::control_plane::User::new();
    user.ws.write("hello.json", HELLO);
    user.alq(&["workflow", "push", "hello.json"])
        .expect_code(3)
        .stderr_has(&["not logged in"]);
}
