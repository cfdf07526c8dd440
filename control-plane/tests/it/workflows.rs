//! Workflows: push (validated), versions by content hash, list, get, delete.

use reqwest::Method;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;

on_both_backends!(
    push_list_get_delete,
    invalid_workflows_are_refused_with_their_problems
);

const HELLO: &str = r#"{"name": "hello", "inputs": {"who": {"type": "string", "default": "world"}}, "steps": [{"action": "log", "message": "hi {{ inputs.who }}"}]}"#;

async fn push_list_get_delete(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let first = admin
        .send_raw(Method::POST, "/workflows", "application/json", HELLO.into())
        .await
        .expect(201);
    assert_eq!(first["workflow"]["name"], "hello");
    assert_eq!(first["version"]["inputs"]["who"]["default"], "world");
    // The same file again is the same version.
    let again = admin
        .send_raw(Method::POST, "/workflows", "application/json", HELLO.into())
        .await
        .expect(200);
    assert_eq!(again["version"]["id"], first["version"]["id"]);
    let changed = HELLO.replace("hi ", "hello ");
    let second = admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            changed.clone().into(),
        )
        .await
        .expect(201);
    assert_ne!(second["version"]["id"], first["version"]["id"]);
    let list = admin.get("/workflows").await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let got = admin.get("/workflows/hello").await.expect(200);
    assert_eq!(got["source"], changed.as_str());
    assert_eq!(got["versions"].as_array().unwrap().len(), 2);
    let id = got["workflow"]["id"].as_str().unwrap().to_owned();
    admin.get(&format!("/workflows/{id}")).await.expect(200);
    admin.delete(&format!("/workflows/{id}")).await.expect(204);
    admin
        .get("/workflows/hello")
        .await
        .expect_error(404, "not_found");
    admin
        .delete(&format!("/workflows/{id}"))
        .await
        .expect_error(404, "not_found");
    server.stop().await;
}

async fn invalid_workflows_are_refused_with_their_problems(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let body = admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            br#"{"name": "x", "steps": [{"action": "browser.clik"}]}"#.to_vec(),
        )
        .await
        .expect_error(422, "invalid_workflow");
    assert_eq!(body["details"]["problems"][0]["path"], "steps[0].action");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `browser.click`")
    );
    admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            b"{".to_vec(),
        )
        .await
        .expect_error(422, "invalid_workflow");
    admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            vec![0xff, 0xfe],
        )
        .await
        .expect_error(400, "invalid_request");
    server
        .anonymous()
        .get("/workflows")
        .await
        .expect_error(401, "unauthenticated");
    server.stop().await;
}
