//! Workflow packages: pushed as archives, checked again by the server, numbered
//! versions, jobs pinned to a version, and the robot download, tenant by tenant.

use std::path::Path;

use alq_shared::package;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, Client, TestServer};
use crate::on_both_backends;
use crate::robot_api::{lease_now, robot};
use crate::tokens::second_tenant;

on_both_backends!(
    packages_are_versions_that_jobs_can_pin,
    robots_fetch_only_their_tenants_packages,
    bad_packages_are_refused_with_clear_errors,
    assets_named_in_called_files_reach_the_robot,
);

const MAIN: &str = r#"{"name": "pkg", "inputs": {"who": {"type": "string", "default": "world"}},
  "steps": [{"action": "call", "workflow": "lib/child.json"}]}"#;
const CHILD: &str =
    r#"{"name": "child", "steps": [{"action": "file.read", "path": "../data/name.txt"}]}"#;

/// A package folder; `name` is what `data/name.txt` holds.
fn folder(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in [
        ("workflow.json", MAIN),
        ("lib/child.json", CHILD),
        ("data/name.txt", name),
    ] {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn build(dir: &Path) -> package::Package {
    package::build(dir, &package::Limits::default()).unwrap()
}

async fn push(client: &Client, bytes: Vec<u8>) -> crate::common::Reply {
    client
        .send_raw(
            Method::POST,
            "/workflows?entry=workflow.json",
            package::CONTENT_TYPE,
            bytes,
        )
        .await
}

async fn packages_are_versions_that_jobs_can_pin(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let first = build(folder("Ada").path());
    let pushed = push(&admin, first.bytes.clone()).await.expect(201);
    assert_eq!(pushed["workflow"]["name"], "pkg");
    assert_eq!(pushed["version"]["number"], 1);
    assert_eq!(pushed["version"]["hash"], first.sha256.as_str());
    assert_eq!(pushed["version"]["package"]["files"], 3);
    assert_eq!(pushed["version"]["package"]["entry"], "workflow.json");
    assert_eq!(pushed["version"]["package"]["size"], first.bytes.len());
    // The same files again: the same version, unchanged.
    let again = push(&admin, build(folder("Ada").path()).bytes)
        .await
        .expect(200);
    assert_eq!(again["version"]["id"], pushed["version"]["id"]);
    // One data file changed: version 2, the latest.
    let second = build(folder("Grace").path());
    push(&admin, second.bytes.clone()).await.expect(201);
    // A plain workflow file still pushes (version 3), without a package.
    let plain = admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            MAIN.as_bytes().to_vec(),
        )
        .await
        .expect(201);
    assert_eq!(plain["version"]["number"], 3);
    assert_eq!(plain["version"]["package"], Value::Null);
    let versions = admin.get("/workflows/pkg/versions").await.expect(200);
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    let got = admin.get("/workflows/pkg").await.expect(200);
    assert_eq!(got["source"], MAIN, "the workflow file stays readable");

    // Pinned by number, by hash prefix; the default is the latest.
    let bot = robot(&server, "bot", &[]).await;
    for (version, sha256) in [
        (json!("1"), Some(first.sha256.as_str())),
        (json!(&second.sha256[..10]), Some(second.sha256.as_str())),
        (Value::Null, None),
    ] {
        let mut body = json!({"workflow": "pkg"});
        if !version.is_null() {
            body["version"] = version.clone();
        }
        admin.post("/jobs", body).await.expect(201);
        let leased = lease_now(&bot, 1).await;
        let workflow = &leased[0]["workflow"];
        match sha256 {
            Some(sha256) => {
                assert_eq!(workflow["package"]["sha256"], sha256, "{version}");
                assert_eq!(workflow["package"]["entry"], "workflow.json");
            }
            None => assert!(workflow.get("package").is_none(), "{workflow}"),
        }
        assert_eq!(workflow["source"], MAIN);
    }
    // A version that is not there is a 404 that says what there is.
    for wanted in ["9", "abcdef0123", "nope"] {
        let error = admin
            .post("/jobs", json!({"workflow": "pkg", "version": wanted}))
            .await
            .expect_error(404, "not_found");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("has no version `{wanted}`"))
                && message.contains("versions 1 to 3"),
            "{message}"
        );
    }
    server.stop().await;
}

/// `GET /robot/packages/{sha256}` with a robot token: status and bytes.
async fn download(server: &TestServer, token: &str, sha256: &str) -> (u16, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/robot/packages/{sha256}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// A robot of the tenant whose admin is `admin`: its token.
async fn robot_token(server: &TestServer, admin: &Client, name: &str) -> String {
    let registration = admin
        .post("/robot-tokens", json!({"labels": []}))
        .await
        .expect(201);
    let registered = server
        .client(registration["token"].as_str().unwrap())
        .post("/robots/register", json!({"name": name}))
        .await
        .expect(201);
    registered["token"].as_str().unwrap().to_owned()
}

async fn robots_fetch_only_their_tenants_packages(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let built = build(folder("Ada").path());
    push(&admin, built.bytes.clone()).await.expect(201);
    let ours = robot_token(&server, &admin, "ours").await;
    let (status, bytes) = download(&server, &ours, &built.sha256).await;
    assert_eq!(status, 200);
    assert_eq!(package::sha256(&bytes), built.sha256);
    // Another tenant's robot: as if the package did not exist.
    let (_, other_admin) = second_tenant(&server, "other").await;
    let theirs = robot_token(&server, &server.client(&other_admin), "theirs").await;
    let (status, _) = download(&server, &theirs, &built.sha256).await;
    assert_eq!(status, 404);
    // Nor can a user token use the robot door, nor a robot read an artifact by its hash.
    let (status, _) = download(&server, &server.admin_token, &built.sha256).await;
    assert_eq!(status, 403);
    let (status, _) = download(&server, &ours, "not-a-hash").await;
    assert_eq!(status, 404);
    // Once the other tenant pushes the same files, its robots may fetch them too.
    push(&server.client(&other_admin), built.bytes.clone())
        .await
        .expect(201);
    let (status, _) = download(&server, &theirs, &built.sha256).await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// A `tar.gz` with entries written raw: names the `tar` crate would refuse to write.
fn raw_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

async fn bad_packages_are_refused_with_clear_errors(backend: Backend) {
    let Some(server) = TestServer::start_with_config(backend, |c| {
        c.max_package_bytes = 2048;
        c.max_body_bytes = 16_384;
    })
    .await
    else {
        return;
    };
    let admin = server.admin();
    let message = |body: Value| body["message"].as_str().unwrap().to_owned();
    // Over the limit: 413, naming the setting.
    let big = folder("Ada");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..16_384)
        .map(|_| {
            // xorshift: bytes that do not compress.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(big.path().join("data/noise.bin"), noise).unwrap();
    let body = push(&admin, build(big.path()).bytes)
        .await
        .expect_error(413, "payload_too_large");
    assert!(
        message(body.clone()).contains("max_package_bytes = 2048"),
        "{body}"
    );
    // An entry that climbs out of the package: refused before anything is stored.
    let body = push(
        &admin,
        raw_archive(&[("workflow.json", MAIN.as_bytes()), ("../x.txt", b"x")]),
    )
    .await
    .expect_error(422, "invalid_workflow");
    assert!(
        message(body.clone()).contains("`../x.txt` is not a relative path"),
        "{body}"
    );
    // A workflow that calls a file outside the package (built by hand: `alq` refuses it):
    // refused by its path, before the server reads anything outside the package.
    for (target, expected) in [
        (
            "../other/workflow.json",
            "reaches outside the package folder",
        ),
        (
            "../../../../../../etc/passwd",
            "reaches outside the package folder",
        ),
        // Read, it would never end.
        ("/dev/zero", "can only call workflow files inside it"),
    ] {
        let escaping = format!(
            r#"{{"name": "esc", "steps": [{{"action": "call", "workflow": "{target}"}}]}}"#
        );
        let body = push(
            &admin,
            raw_archive(&[("workflow.json", escaping.as_bytes())]),
        )
        .await
        .expect_error(422, "invalid_workflow");
        let text = message(body.clone());
        assert!(text.contains(expected), "{target}: {body}");
        assert!(
            !text.contains("/tmp"),
            "no server path in the answer: {body}"
        );
    }
    // A workflow file over max_body_bytes, even one nothing calls: 413 naming the limit.
    let padded = format!("{MAIN}{}", " ".repeat(20_000));
    for files in [
        vec![("workflow.json", padded.as_bytes())],
        vec![
            ("workflow.json", MAIN.as_bytes()),
            ("lib/child.json", CHILD.as_bytes()),
            ("lib/big.json", padded.as_bytes()),
        ],
    ] {
        let body = push(&admin, raw_archive(&files))
            .await
            .expect_error(413, "payload_too_large");
        assert!(
            message(body.clone()).contains("max_body_bytes = 16384"),
            "{body}"
        );
    }
    // Many problems: the first 100 are listed, the rest counted.
    let step = r#"{"action": "file.read", "path": "../x.txt"}"#;
    let many = format!(
        r#"{{"name": "many", "steps": [{}]}}"#,
        vec![step; 150].join(",")
    );
    let body = push(&admin, raw_archive(&[("workflow.json", many.as_bytes())]))
        .await
        .expect_error(422, "invalid_workflow");
    let text = message(body.clone());
    assert_eq!(text.matches("reaches outside").count(), 100, "{body}");
    assert!(text.contains("and 50 more"), "{body}");
    // No workflow file where `entry` says, a bad entry, and bytes that are no archive.
    let body = push(&admin, raw_archive(&[("other.json", MAIN.as_bytes())]))
        .await
        .expect_error(422, "invalid_workflow");
    assert!(
        message(body.clone()).contains("no workflow file `workflow.json`"),
        "{body}"
    );
    admin
        .send_raw(
            Method::POST,
            "/workflows?entry=../x.json",
            package::CONTENT_TYPE,
            raw_archive(&[]),
        )
        .await
        .expect_error(400, "invalid_request");
    let body = push(&admin, b"not an archive".to_vec())
        .await
        .expect_error(422, "invalid_workflow");
    assert!(
        message(body.clone()).contains("not a valid package"),
        "{body}"
    );
    let list = admin.get("/workflows").await.expect(200);
    assert_eq!(list, json!([]), "nothing was stored");
    server.stop().await;
}

async fn assets_named_in_called_files_reach_the_robot(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let dir = folder("Ada");
    // Only the called file names the asset; another is never named.
    std::fs::write(
        dir.path().join("lib/child.json"),
        r#"{"name": "child", "steps": [{"action": "log", "message": "{{ assets.greeting }}"}]}"#,
    )
    .unwrap();
    for (name, value) in [("greeting", "hello"), ("unrelated", "no")] {
        admin
            .put(
                &format!("/assets/{name}"),
                json!({"type": "text", "value": value}),
            )
            .await
            .expect(201);
    }
    let pushed = push(&admin, build(dir.path()).bytes).await.expect(201);
    assert_eq!(pushed["version"]["package"]["assets"], json!(["greeting"]));
    admin
        .post("/jobs", json!({"workflow": "pkg"}))
        .await
        .expect(201);
    let bot = robot(&server, "bot", &[]).await;
    let leased = lease_now(&bot, 1).await;
    assert_eq!(leased[0]["assets"], json!({"greeting": "hello"}));
    server.stop().await;
}
