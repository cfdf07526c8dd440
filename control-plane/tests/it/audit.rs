//! The audit log: every change, newest first, in pages.

use serde_json::json;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::tokens::mint;

on_both_backends!(the_audit_log_pages_newest_first);

async fn the_audit_log_pages_newest_first(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    for i in 0..3 {
        admin
            .put(
                &format!("/assets/a{i}"),
                json!({"type": "number", "value": i}),
            )
            .await
            .expect(201);
    }
    admin.delete("/assets/a1").await.expect(204);

    let first = admin.get("/audit?limit=2").await.expect(200);
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "asset.delete");
    assert_eq!(items[0]["target"], "asset:a1");
    assert_eq!(items[1]["action"], "asset.set");
    assert_eq!(items[1]["target"], "asset:a2");
    assert!(items[0]["actor"].as_str().unwrap().starts_with("token:"));
    assert!(items[0]["at"].is_i64());
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    let before = first["next_before"].as_i64().unwrap();

    let rest = admin
        .get(&format!("/audit?before={before}&limit=100"))
        .await
        .expect(200);
    let targets: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    // The two older asset changes; the viewer token below does not exist yet.
    assert_eq!(targets, ["asset:a1", "asset:a0"]);
    assert!(rest["next_before"].is_null());

    for bad in [
        "/audit?limit=0",
        "/audit?limit=501",
        "/audit?limit=many",
        "/audit?since=1",
    ] {
        admin.get(bad).await.expect_error(400, "invalid_request");
    }
    let operator = server.client(&mint(&admin, "operator").await);
    operator.get("/audit").await.expect_error(403, "forbidden");
    server.stop().await;
}
