//! Tenants, and the checks every endpoint shares: tokens, roles, bodies.

use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;

on_both_backends!(
    tenants_are_managed_by_the_system_admin,
    bad_requests_get_the_error_shape
);

async fn tenants_are_managed_by_the_system_admin(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let created = admin
        .post("/tenants", json!({"name": "acme"}))
        .await
        .expect(201);
    assert_eq!(created["name"], "acme");
    let list = admin.get("/tenants").await.expect(200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "acme"]);
    admin
        .post("/tenants", json!({"name": "acme"}))
        .await
        .expect_error(409, "conflict");
    admin
        .post("/tenants", json!({"name": "  "}))
        .await
        .expect_error(400, "invalid_request");
    server
        .anonymous()
        .get("/tenants")
        .await
        .expect_error(401, "unauthenticated");
    server
        .client("alq_pat_nope")
        .get("/tenants")
        .await
        .expect_error(401, "unauthenticated");
    server.stop().await;
}

async fn bad_requests_get_the_error_shape(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    admin
        .send_raw(
            Method::POST,
            "/tenants",
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await
        .expect_error(400, "invalid_request");
    admin
        .post("/tenants", json!({"name": "x", "color": "red"}))
        .await
        .expect_error(400, "invalid_request");
    admin
        .send_raw(Method::POST, "/tenants", "text/plain", b"name=x".to_vec())
        .await
        .expect_error(415, "unsupported_media_type");
    let huge = format!(
        "{{\"name\": \"{}\"}}",
        "x".repeat(server.config.max_body_bytes + 10)
    );
    admin
        .send_raw(
            Method::POST,
            "/tenants",
            "application/json",
            huge.into_bytes(),
        )
        .await
        .expect_error(413, "payload_too_large");
    server.stop().await;
}
