//! `alq asset ...` against the API contract (the stub until the assets endpoints land).

use serde_json::{Value, json};

use crate::common::api_stub::ApiStub;
use crate::common::control_plane::User;

#[test]
fn assets_of_every_type_are_sent_typed() {
    let stub = ApiStub::start();
    let user = User::new();
    let env = stub.env();
    for (args, value) in [
        (
            &["asset", "set", "base", "--type", "text", "--value", "42"][..],
            json!({"type": "text", "value": "42"}),
        ),
        (
            &["asset", "set", "size", "--type", "number", "--value", "50"][..],
            json!({"type": "number", "value": 50}),
        ),
        (
            &[
                "asset", "set", "dry", "--type", "boolean", "--value", "false",
            ][..],
            json!({"type": "boolean", "value": false}),
        ),
        (
            &[
                "asset",
                "set",
                "regions",
                "--type",
                "json",
                "--value",
                r#"["eu","us"]"#,
            ][..],
            json!({"type": "json", "value": ["eu", "us"]}),
        ),
    ] {
        user.alq_with(args, &env, "")
            .expect_code(0)
            .stdout_has(&["Set asset"]);
        let changes = stub.changes("/api/v1/assets/");
        assert_eq!(changes.last().map(|c| &c.2), Some(&value));
    }
    user.alq_with(
        &[
            "asset",
            "set",
            "erp",
            "--type",
            "credential",
            "--username",
            "robot",
            "--password-stdin",
        ],
        &env,
        "s3cret\n",
    )
    .expect_code(0);
    let changes = stub.changes("/api/v1/assets/erp");
    assert_eq!(
        changes[0],
        (
            "PUT".to_owned(),
            "/api/v1/assets/erp".to_owned(),
            json!({"type": "credential", "value": {"username": "robot", "password": "s3cret"}})
        )
    );

    user.alq_with(&["asset", "list"], &env, "")
        .expect_code(0)
        .stdout_has(&["NAME", "TYPE", "VALUE", "regions", "eu,us", "erp"]);
    let list = user.alq_with(&["asset", "list", "--json"], &env, "");
    let list: Value = serde_json::from_str(&list.stdout).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(5));
    let got = user.alq_with(&["asset", "get", "erp"], &env, "");
    got.expect_code(0).stdout_has(&["robot"]);
    assert!(!got.stdout.contains("s3cret"));
    user.alq_with(&["asset", "delete", "erp"], &env, "")
        .expect_code(0)
        .stdout_has(&["Deleted asset erp."]);
    user.alq_with(&["asset", "get", "erp"], &env, "")
        .expect_code(1)
        .stderr_has(&["(404)", "no asset `erp`"]);
}

#[test]
fn values_that_do_not_fit_their_type_are_refused_before_sending() {
    let stub = ApiStub::start();
    let user = User::new();
    let env = stub.env();
    user.alq_with(
        &["asset", "set", "n", "--type", "number", "--value", "many"],
        &env,
        "",
    )
    .expect_code(2)
    .stderr_has(&["asset `n`", "`many` is not a number"]);
    user.alq_with(
        &["asset", "set", "j", "--type", "json", "--value", "{oops"],
        &env,
        "",
    )
    .expect_code(2)
    .stderr_has(&["not valid JSON"]);
    user.alq_with(
        &[
            "asset",
            "set",
            "c",
            "--type",
            "credential",
            "--username",
            "u",
        ],
        &env,
        "",
    )
    .expect_code(2)
    .stderr_has(&["--password-stdin"]);
    user.alq_with(&["asset", "set", "t", "--type", "text"], &env, "")
        .expect_code(2)
        .stderr_has(&["--value is needed"]);
    assert!(stub.changes("/api/v1/assets").is_empty());
}
