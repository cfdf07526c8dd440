//! `alq token ...` and `alq robot ...` against the API contract (the stub until the
//! tokens and robots endpoints land).

use serde_json::{Value, json};

use crate::common::api_stub::ApiStub;
use crate::common::control_plane::User;

#[test]
fn personal_tokens_are_created_listed_and_revoked() {
    let stub = ApiStub::start();
    let user = User::new();
    let env = stub.env();
    user.alq_with(&["token", "create", "ci", "--role", "operator"], &env, "")
        .expect_code(0)
        .stdout_has(&[
            "Created token ci",
            "role operator",
            "shown only this once",
            "alq_pat_NEWSECRET",
        ]);
    assert_eq!(
        stub.changes("/api/v1/tokens")[0].2,
        json!({"name": "ci", "role": "operator"})
    );
    user.alq_with(&["token", "list"], &env, "")
        .expect_code(0)
        .stdout_has(&["ID", "NAME", "ROLE", "tok-1", "ci", "operator"]);
    user.alq_with(&["token", "revoke", "tok-1"], &env, "")
        .expect_code(0)
        .stdout_has(&["Revoked token tok-1."]);
    assert_eq!(stub.changes("/api/v1/tokens")[1].0, "DELETE");
    user.alq_with(&["token", "create", "x", "--role", "root"], &env, "")
        .expect_code(2)
        .stderr_has(&["invalid value 'root'"]);
}

#[test]
fn registration_tokens_and_robots() {
    let stub = ApiStub::start();
    let user = User::new();
    let env = stub.env();
    user.alq_with(
        &[
            "robot",
            "token",
            "create",
            "--name",
            "lab",
            "--labels",
            "linux,chromium",
            "--expires",
            "24h",
            "--single-use",
        ],
        &env,
        "",
    )
    .expect_code(0)
    .stdout_has(&["Created registration token reg-1", "alq_reg_NEWSECRET"]);
    assert_eq!(
        stub.changes("/api/v1/robot-tokens")[0].2,
        json!({"name": "lab", "labels": ["linux", "chromium"], "expires_in_s": 86400, "single_use": true})
    );
    let created = user.alq_with(&["robot", "token", "create", "--json"], &env, "");
    let created: Value = serde_json::from_str(&created.stdout).expect("JSON");
    assert_eq!(created["token"], "alq_reg_NEWSECRET");
    assert_eq!(
        stub.changes("/api/v1/robot-tokens")[1].2,
        json!({"labels": [], "single_use": false})
    );
    user.alq_with(&["robot", "token", "list"], &env, "")
        .expect_code(0)
        .stdout_has(&[
            "ID",
            "LABELS",
            "SINGLE USE",
            "reg-1",
            "linux,chromium",
            "true",
        ]);
    user.alq_with(&["robot", "token", "revoke", "reg-1"], &env, "")
        .expect_code(0);
    user.alq_with(&["robot", "token", "create", "--expires", "soon"], &env, "")
        .expect_code(2);

    user.alq_with(&["robot", "list"], &env, "")
        .expect_code(0)
        .stdout_has(&[
            "NAME",
            "STATUS",
            "LAST SEEN",
            "lab-1",
            "online",
            "linux,chromium",
        ]);
}
