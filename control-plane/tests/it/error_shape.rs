//! Every 4xx carries the error shape, whoever makes it: the router's 404 and 405, axum's
//! own rejections (a path segment that is not UTF-8), 413 and 415 on every route that
//! takes JSON, a header the robot API cannot read.

use reqwest::Method;

use crate::common::{Backend, Reply};
use crate::hostile::{Fixture, parameters, takes_json, valid_body};
use crate::on_both_backends;
use crate::robot_api::lease_now;

on_both_backends!(every_refusal_has_the_error_shape);

/// Asserts `status` with `code` and a message, in the error shape.
fn shaped(reply: Reply, status: u16, code: &str, what: &str) -> String {
    assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
    let body = reply.expect_error(status, code);
    body["message"].as_str().unwrap().to_owned()
}

async fn raw(
    f: &Fixture,
    method: Method,
    template: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    f.caller(template)
        .send_raw(
            method,
            path.strip_prefix("/api/v1").unwrap(),
            content_type,
            body,
        )
        .await
}

async fn every_refusal_has_the_error_shape(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let operations = f.operations().await;
    let mut templates: Vec<&str> = operations.iter().map(|(_, t, _)| t.as_str()).collect();
    templates.dedup();
    for template in templates {
        let taken: Vec<&Method> = operations
            .iter()
            .filter(|(_, t, _)| t == template)
            .map(|(m, _, _)| m)
            .collect();
        let path = f.path(template, None);
        let other = [Method::PATCH, Method::PUT, Method::DELETE, Method::POST]
            .into_iter()
            .find(|m| !taken.contains(&m))
            .unwrap();
        let reply = f
            .caller(template)
            .send(other.clone(), path.strip_prefix("/api/v1").unwrap(), None)
            .await;
        let message = shaped(reply, 405, "method_not_allowed", &format!("{other} {path}"));
        assert!(
            message.contains(taken[0].as_str()),
            "{other} {path}: {message}"
        );
        // A path segment that is not UTF-8 once decoded: axum's own rejection.
        for name in parameters(template) {
            let bad = f.path(template, Some(&name)).replace("a%00b", "a%FFb");
            let method = taken[0].clone();
            let body = valid_body(&method, template);
            let reply = f
                .caller(template)
                .send(method.clone(), bad.strip_prefix("/api/v1").unwrap(), body)
                .await;
            shaped(reply, 400, "invalid_request", &format!("{method} {bad}"));
        }
    }
    for path in ["/api/v1/nope", "/nope", "/api/v1/jobs/1/nope", "/api/v1/"] {
        let response = reqwest::get(format!("{}{path}", f.server.url))
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["code"], "not_found", "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(path),
            "{path}: {body}"
        );
    }
    for (method, template, operation) in &operations {
        if !takes_json(operation) {
            continue;
        }
        let path = f.path(template, None);
        let body = valid_body(method, template).unwrap().to_string();
        let what = format!("{method} {path}");
        let reply = raw(
            &f,
            method.clone(),
            template,
            &path,
            "text/plain",
            body.into(),
        )
        .await;
        shaped(reply, 415, "unsupported_media_type", &what);
        let huge = format!(
            "{{\"name\": \"{}\"}}",
            "x".repeat(f.server.config.max_body_bytes + 10)
        );
        let reply = raw(
            &f,
            method.clone(),
            template,
            &path,
            "application/json",
            huge.into(),
        )
        .await;
        shaped(reply, 413, "payload_too_large", &what);
    }
    // An artifact name that is not UTF-8 text (bytes the HTTP layer lets through).
    let job = &lease_now(&f.robot, 1).await[0];
    let id = job["job_id"].as_i64().unwrap();
    let bytes = b"png".to_vec();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let response = f
        .robot
        .http
        .put(format!("{}/robot/jobs/{id}/artifacts/{sha}", f.robot.base))
        .bearer_auth(f.robot.token.as_deref().unwrap())
        .header("content-type", "image/png")
        .header(
            "x-alq-name",
            reqwest::header::HeaderValue::from_bytes(b"step-\xff.png").unwrap(),
        )
        .header("x-alq-lease-token", job["lease_token"].to_string())
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or_default();
    let message = shaped(Reply { status, body }, 400, "invalid_request", "X-Alq-Name");
    assert!(message.contains("X-Alq-Name"), "{message}");
    f.server.stop().await;
}
