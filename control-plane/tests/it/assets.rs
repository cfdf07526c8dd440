//! Assets: typed values, credentials encrypted at rest and never answered in full.

use alq_control_plane::crypto::SecretKey;
use alq_control_plane::db::assets;
use serde_json::json;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::tokens::{audit_actions, default_tenant, mint, open_db};

on_both_backends!(
    assets_are_typed_set_listed_and_deleted,
    credentials_are_encrypted_at_rest_and_masked
);

async fn assets_are_typed_set_listed_and_deleted(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let operator = server.client(&mint(&admin, "operator").await);
    let viewer = server.client(&mint(&admin, "viewer").await);
    for (name, kind, value) in [
        ("api-base", "text", json!("https://api.example.com")),
        ("batch-size", "number", json!(50)),
        ("dry-run", "boolean", json!(false)),
        ("regions", "json", json!(["eu", "us"])),
    ] {
        let set = operator
            .put(
                &format!("/assets/{name}"),
                json!({"type": kind, "value": value}),
            )
            .await
            .expect(201);
        assert_eq!(set["name"], name);
        assert_eq!(set["type"], kind);
        assert_eq!(set["value"], value);
    }
    let replaced = operator
        .put(
            "/assets/batch-size",
            json!({"type": "number", "value": 75.5}),
        )
        .await
        .expect(200);
    assert_eq!(replaced["value"], 75.5);

    let list = viewer.get("/assets").await.expect(200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api-base", "batch-size", "dry-run", "regions"]);
    assert_eq!(
        viewer.get("/assets/regions").await.expect(200)["value"],
        json!(["eu", "us"])
    );
    viewer
        .put("/assets/x", json!({"type": "text", "value": "v"}))
        .await
        .expect_error(403, "forbidden");

    for (kind, value) in [
        ("text", json!(42)),
        ("number", json!("42")),
        ("boolean", json!("yes")),
        ("credential", json!({"username": "u"})),
        (
            "credential",
            json!({"username": "u", "password": "p", "extra": 1}),
        ),
        ("credential", json!("u:p")),
    ] {
        let refused = operator
            .put("/assets/typed", json!({"type": kind, "value": value}))
            .await
            .expect_error(400, "invalid_request");
        assert_eq!(refused["details"]["field"], "value", "{refused}");
        assert!(
            refused["message"].as_str().unwrap().contains("typed"),
            "{refused}"
        );
    }
    operator
        .put(
            "/assets/typed",
            json!({"type": "date", "value": "2026-01-01"}),
        )
        .await
        .expect_error(400, "invalid_request");
    let bad_name = operator
        .put("/assets/has%20space", json!({"type": "text", "value": "v"}))
        .await
        .expect_error(400, "invalid_request");
    assert_eq!(bad_name["details"]["field"], "name");
    viewer
        .get("/assets/typed")
        .await
        .expect_error(404, "not_found");

    operator.delete("/assets/regions").await.expect(204);
    operator
        .delete("/assets/regions")
        .await
        .expect_error(404, "not_found");
    viewer
        .get("/assets/regions")
        .await
        .expect_error(404, "not_found");
    let actions = audit_actions(&admin).await;
    assert_eq!(actions[0], "asset.delete");
    assert_eq!(actions.iter().filter(|a| *a == "asset.set").count(), 5);
    server.stop().await;
}

async fn credentials_are_encrypted_at_rest_and_masked(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    const PASSWORD: &str = "Tr0ub4dor-and-3-horse-battery";
    // A plain value, to show the scan of the database files below finds what is there.
    const MARKER: &str = "plain-marker-5b1e0c";
    let admin = server.admin();
    let set = admin
        .put(
            "/assets/erp-login",
            json!({"type": "credential", "value": {"username": "robot", "password": PASSWORD}}),
        )
        .await
        .expect(201);
    assert_eq!(
        set["value"],
        json!({"username": "robot", "password": "***"})
    );
    let got = admin.get("/assets/erp-login").await.expect(200);
    assert_eq!(
        got["value"],
        json!({"username": "robot", "password": "***"})
    );
    for answer in [
        set,
        got,
        admin.get("/assets").await.expect(200),
        admin.get("/audit").await.expect(200),
    ] {
        assert!(!answer.to_string().contains(PASSWORD), "{answer}");
    }

    // The robot's lease answer gets the real values.
    let db = open_db(&server).await;
    let tenant = default_tenant(&server).await;
    let key = SecretKey::load_or_create(&server.config).unwrap();
    admin
        .put("/assets/greeting", json!({"type": "text", "value": MARKER}))
        .await
        .expect(201);
    let resolved = assets::resolve_for_job(&db, &key, &tenant).await.unwrap();
    assert_eq!(
        resolved["erp-login"],
        json!({"username": "robot", "password": PASSWORD})
    );
    assert_eq!(resolved["greeting"], MARKER);
    // With another key the credential does not decrypt, and the error names it.
    let wrong = SecretKey::from_bytes(&[1; 32]);
    let error = assets::resolve_for_job(&db, &wrong, &tenant)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("erp-login"), "{error}");
    db.close().await;

    let data_dir = server.config.data_dir();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    if backend == Backend::Sqlite {
        // Every byte SQLite keeps: the database, its write-ahead log and shared memory.
        let mut files = 0;
        let mut marker_seen = false;
        for entry in std::fs::read_dir(&data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("alq.db")
            {
                files += 1;
                let bytes = std::fs::read(&path).unwrap();
                marker_seen |= bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes());
                assert!(
                    !bytes
                        .windows(PASSWORD.len())
                        .any(|w| w == PASSWORD.as_bytes()),
                    "the password is readable in {}",
                    path.display()
                );
            }
        }
        assert!(
            files >= 1 && marker_seen,
            "the scan reads the database files"
        );
        // The username is kept in the clear on purpose (lists show it without the key).
    }
    server.stop().await;
}
