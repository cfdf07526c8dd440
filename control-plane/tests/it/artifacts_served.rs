//! Artifacts as a browser gets them back: whatever type a robot claimed, only PNG,
//! JPEG, GIF and WebP images are shown inline; HTML, SVG and the rest are downloads;
//! nothing is sniffed and nothing can run.

use reqwest::header::HeaderMap;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, lease_now, push, robot, start_job};

on_both_backends!(only_images_are_served_inline);

async fn only_images_are_served_inline(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    let id = start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    let token = job["lease_token"].as_i64().unwrap();
    let cases = [
        ("image/png", "step-001.png", true),
        ("image/jpeg", "photo.jpg", true),
        ("image/gif", "a.gif", true),
        ("image/webp", "a.webp", true),
        ("text/html", "page.html", false),
        ("text/html; charset=utf-8", "evil.png", false),
        ("image/svg+xml", "logo.svg", false),
        ("application/xhtml+xml", "x.xhtml", false),
        ("application/pdf", "invoice.pdf", false),
        ("text/plain", "notes.txt", false),
    ];
    let mut fetched = Vec::new();
    for (i, (content_type, name, _)) in cases.iter().enumerate() {
        let bytes = format!("<script>alert({i})</script>").into_bytes();
        let sha = hex::encode(Sha256::digest(&bytes));
        let response = r1
            .http
            .put(format!("{}/robot/jobs/{id}/artifacts/{sha}", r1.base))
            .bearer_auth(r1.token.as_deref().unwrap())
            .header("content-type", *content_type)
            .header("x-alq-name", *name)
            .header("x-alq-lease-token", token.to_string())
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 204, "{content_type}");
        let viewer = admin
            .http
            .get(format!("{}/jobs/{id}/artifacts/{sha}", admin.base))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(viewer.status().as_u16(), 200);
        let headers = viewer.headers().clone();
        assert_eq!(viewer.bytes().await.unwrap().to_vec(), bytes);
        fetched.push(headers);
    }
    for ((content_type, name, inline), headers) in cases.iter().zip(&fetched) {
        let header = |h: &str| header(headers, h);
        assert_eq!(
            header("x-content-type-options"),
            "nosniff",
            "{content_type}"
        );
        assert_eq!(
            header("content-security-policy"),
            "default-src 'none'; sandbox",
            "{content_type}"
        );
        let disposition = header("content-disposition");
        if *inline {
            assert_eq!(header("content-type"), *content_type);
            assert_eq!(disposition, format!("inline; filename=\"{name}\""));
        } else {
            assert_eq!(
                header("content-type"),
                "application/octet-stream",
                "{content_type}"
            );
            assert_eq!(
                disposition,
                format!("attachment; filename=\"{name}\""),
                "{content_type}"
            );
        }
    }
    // The list still says what the robot sent.
    let list = admin
        .get(&format!("/jobs/{id}/artifacts"))
        .await
        .expect(200);
    let html = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "page.html")
        .unwrap();
    assert_eq!(html["content_type"], "text/html");
    server.stop().await;
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}
