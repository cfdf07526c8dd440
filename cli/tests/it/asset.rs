//! `alq asset ...` against a real control plane.

use serde_json::json;

use crate::common::control_plane::{Server, User};

#[test]
fn assets_of_every_type_are_stored_typed_and_listed() {
    let server = Server::start();
    let user = User::logged_in(&server);
    for (args, value) in [
        (
            &["asset", "set", "base", "--type", "text", "--value", "42"][..],
            json!("42"),
        ),
        (
            &["asset", "set", "size", "--type", "number", "--value", "50"][..],
            json!(50),
        ),
        (
            &[
                "asset", "set", "dry", "--type", "boolean", "--value", "false",
            ][..],
            json!(false),
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
            json!(["eu", "us"]),
        ),
    ] {
        user.alq(args)
            .expect_code(0)
            .stdout_has(&[&format!("Set asset {}.", args[2])]);
        let got = user.json(&["asset", "get", args[2]]);
        assert_eq!(got["value"], value, "{}", args[2]);
        assert_eq!(got["type"], args[4]);
    }
    user.alq(&["asset", "set", "base", "--type", "text", "--value", "43"])
        .expect_code(0);
    assert_eq!(user.json(&["asset", "get", "base"])["value"], "43");

    let list = user.alq(&["asset", "list"]);
    list.expect_code(0);
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for (name, kind, value) in [
        ("base", "text", "43"),
        ("size", "number", "50"),
        ("dry", "boolean", "false"),
        ("regions", "json", "eu,us"),
    ] {
        let row = list.row("NAME", name);
        assert_eq!(row["TYPE"], kind);
        assert_eq!(row["VALUE"], value);
        assert!(row["UPDATED"].starts_with(&today), "{row:?}");
    }
    let listed = user.json(&["asset", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(4));

    user.alq(&["asset", "delete", "regions"])
        .expect_code(0)
        .stdout_has(&["Deleted asset regions."]);
    user.alq(&["asset", "get", "regions"])
        .expect_code(1)
        .stderr_has(&["(404)", "no asset `regions`"]);
    user.alq(&["asset", "delete", "regions"])
        .expect_code(1)
        .stderr_has(&["(404)"]);
    user.alq(&["asset", "set", "bad name", "--type", "text", "--value", "x"])
        .expect_code(1)
        .stderr_has(&["(400)", "asset name `bad name` is not valid"]);
}

#[test]
fn a_credentials_password_is_never_printed() {
    let server = Server::start();
    let user = User::logged_in(&server);
    let set = user.alq_with(
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
        &[],
        "s3cret-pw\n",
    );
    set.expect_code(0).stdout_has(&["Set asset erp."]);
    let mut seen = set.stdout.clone();

    let got = user.alq(&["asset", "get", "erp"]);
    got.expect_code(0)
        .stdout_has(&["credential", "robot (password hidden)"]);
    seen.push_str(&got.stdout);
    let list = user.alq(&["asset", "list"]);
    assert_eq!(list.row("NAME", "erp")["VALUE"], "robot (password hidden)");
    seen.push_str(&list.stdout);
    let json_get = user.json(&["asset", "get", "erp"]);
    assert_eq!(json_get["value"]["username"], "robot");
    assert_eq!(json_get["value"]["password"], "***");
    seen.push_str(&json_get.to_string());
    seen.push_str(&user.json(&["asset", "list"]).to_string());
    seen.push_str(
        &user
            .json(&[
                "asset",
                "set",
                "erp2",
                "--type",
                "credential",
                "--username",
                "robot",
                "--password",
                "s3cret-pw",
            ])
            .to_string(),
    );
    assert!(!seen.contains("s3cret-pw"), "{seen}");
}

#[test]
fn values_that_do_not_fit_their_type_are_refused_before_sending() {
    let server = Server::start();
    let user = User::logged_in(&server);
    user.alq(&["asset", "set", "n", "--type", "number", "--value", "many"])
        .expect_code(2)
        .stderr_has(&["asset `n`", "`many` is not a number"]);
    user.alq(&["asset", "set", "j", "--type", "json", "--value", "{oops"])
        .expect_code(2)
        .stderr_has(&["not valid JSON"]);
    user.alq(&[
        "asset",
        "set",
        "c",
        "--type",
        "credential",
        "--username",
        "u",
    ])
    .expect_code(2)
    .stderr_has(&["--password-stdin"]);
    user.alq(&["asset", "set", "t", "--type", "text"])
        .expect_code(2)
        .stderr_has(&["--value is needed"]);
    assert_eq!(user.json(&["asset", "list"]), json!([]));
    user.alq(&["asset", "list"])
        .expect_code(0)
        .stdout_has(&["NAME", "(none)"]);
}
