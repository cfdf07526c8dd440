//! Personal access tokens, registration tokens and a new tenant's first admin; plus the
//! helpers the other resource tests share.

use alq_control_plane::db::Db;
use alq_control_plane::db::robots::{self, RobotRecord};
use serde_json::{Value, json};

use crate::common::{Backend, Client, TestServer};
use crate::on_both_backends;

on_both_backends!(
    personal_tokens_are_shown_once_listed_and_revoked,
    registration_tokens_carry_labels_expiry_and_single_use,
    the_system_admin_gives_a_new_tenant_its_first_admin
);

/// A new personal token of the caller's tenant with `role`.
pub async fn mint(admin: &Client, role: &str) -> String {
    let created = admin
        .post(
            "/tokens",
            json!({"name": format!("{role} token"), "role": role}),
        )
        .await
        .expect(201);
    created["token"].as_str().unwrap().to_owned()
}

/// The id of the tenant the bootstrap token belongs to.
pub async fn default_tenant(server: &TestServer) -> String {
    let tenants = server.admin().get("/tenants").await.expect(200);
    tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "default")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A connection of the test's own to the server's database.
pub async fn open_db(server: &TestServer) -> Db {
    Db::connect(&server.config).await.unwrap()
}

/// Registers a robot with the code the registration endpoint runs.
pub async fn insert_robot(db: &Db, tenant: &str, name: &str, labels: &[&str]) -> RobotRecord {
    let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
    let hostname = format!("{name}.lan");
    let registration = robots::Registration {
        name,
        hostname: &hostname,
        os: "linux",
        arch: "x86_64",
        version: "0.1.0",
        labels: &labels,
        browsers: &["chromium".to_owned()],
    };
    let mut tx = db.begin().await.unwrap();
    let id = robots::register(&mut tx, tenant, &registration)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    robots::get(db, tenant, &id).await.unwrap().unwrap()
}

/// A new tenant and the secret of its first admin token.
pub async fn second_tenant(server: &TestServer, name: &str) -> (String, String) {
    let admin = server.admin();
    let tenant = admin
        .post("/tenants", json!({"name": name}))
        .await
        .expect(201);
    let id = tenant["id"].as_str().unwrap().to_owned();
    let token = admin
        .post(
            &format!("/tenants/{id}/tokens"),
            json!({"name": "first admin", "role": "admin"}),
        )
        .await
        .expect(201);
    (id, token["token"].as_str().unwrap().to_owned())
}

/// The actions of the tenant's audit log, newest first.
pub async fn audit_actions(admin: &Client) -> Vec<String> {
    let page = admin.get("/audit?limit=500").await.expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

async fn personal_tokens_are_shown_once_listed_and_revoked(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let created = admin
        .post("/tokens", json!({"name": "ci", "role": "operator"}))
        .await
        .expect(201);
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("alq_pat_"), "{created}");
    assert_eq!(created["role"], "operator");
    assert_eq!(created["name"], "ci");
    let id = created["id"].as_str().unwrap();
    let operator = server.client(secret);
    operator.get("/workflows").await.expect(200);
    // Operators do not manage tokens.
    operator
        .post("/tokens", json!({"name": "x", "role": "viewer"}))
        .await
        .expect_error(403, "forbidden");

    let list = admin.get("/tokens").await.expect(200);
    assert!(ids(&list).contains(&id), "{list}");
    let text = list.to_string();
    assert!(!text.contains(secret), "the secret is never listed");
    assert!(
        !text.contains("hash") && !text.contains("\"token\""),
        "{text}"
    );

    admin
        .post("/tokens", json!({"name": "x", "role": "owner"}))
        .await
        .expect_error(400, "invalid_request");
    let blank = admin
        .post("/tokens", json!({"name": " ", "role": "viewer"}))
        .await
        .expect_error(400, "invalid_request");
    assert_eq!(blank["details"]["field"], "name");

    admin.delete(&format!("/tokens/{id}")).await.expect(204);
    let revoked = operator
        .get("/workflows")
        .await
        .expect_error(401, "unauthenticated");
    assert!(revoked["message"].as_str().unwrap().contains("revoked"));
    // Revoking again changes nothing and is not an error; an unknown id is a 404.
    admin.delete(&format!("/tokens/{id}")).await.expect(204);
    admin
        .delete("/tokens/no-such-token")
        .await
        .expect_error(404, "not_found");
    let list = admin.get("/tokens").await.expect(200);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert!(entry["revoked_at"].is_i64(), "{entry}");
    let actions = audit_actions(&admin).await;
    assert_eq!(actions[..2], ["token.revoke", "token.revoke"]);
    assert!(actions.contains(&"token.create".to_owned()));
    server.stop().await;
}

async fn registration_tokens_carry_labels_expiry_and_single_use(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let before = chrono::Utc::now().timestamp_millis();
    let created = admin
        .post(
            "/robot-tokens",
            json!({"name": "lab", "labels": ["linux", "chromium", "linux"], "expires_in_s": 3600, "single_use": true}),
        )
        .await
        .expect(201);
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("alq_reg_"), "{created}");
    assert_eq!(created["labels"], json!(["chromium", "linux"]));
    assert_eq!(created["single_use"], true);
    let expires = created["expires_at"].as_i64().unwrap();
    assert!((before + 3_600_000..before + 3_700_000).contains(&expires));
    let id = created["id"].as_str().unwrap();

    let dated = admin
        .post(
            "/robot-tokens",
            json!({"labels": [], "expires_at": "2999-01-01T00:00:00Z", "single_use": false}),
        )
        .await
        .expect(201);
    assert_eq!(dated["name"], "robot registration");
    assert_eq!(dated["expires_at"], 32_472_144_000_000_i64);
    let forever = admin
        .post("/robot-tokens", json!({"labels": ["win"]}))
        .await
        .expect(201);
    assert!(forever["expires_at"].is_null());

    for (body, field) in [
        (
            json!({"expires_in_s": 10, "expires_at": "2999-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"expires_at": "2000-01-01T00:00:00Z"}), "expires_at"),
        (json!({"expires_at": "tomorrow"}), "expires_at"),
        (json!({"expires_in_s": 0}), "expires_in_s"),
        (json!({"labels": ["has space"]}), "labels"),
    ] {
        let refused = admin
            .post("/robot-tokens", body.clone())
            .await
            .expect_error(400, "invalid_request");
        assert_eq!(refused["details"]["field"], field, "{body}: {refused}");
    }

    // A registration token is no API token.
    server
        .client(secret)
        .get("/robots")
        .await
        .expect_error(403, "forbidden");

    let list = admin.get("/robot-tokens").await.expect(200);
    assert_eq!(ids(&list).len(), 3);
    assert!(!list.to_string().contains(secret));
    // The personal-token endpoint does not revoke registration tokens.
    admin
        .delete(&format!("/tokens/{id}"))
        .await
        .expect_error(404, "not_found");
    admin
        .delete(&format!("/robot-tokens/{id}"))
        .await
        .expect(204);
    let list = admin.get("/robot-tokens").await.expect(200);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert!(entry["revoked_at"].is_i64());
    let actions = audit_actions(&admin).await;
    assert_eq!(actions[0], "robot_token.revoke");
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "robot_token.create")
            .count(),
        3
    );
    server.stop().await;
}

async fn the_system_admin_gives_a_new_tenant_its_first_admin(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (tenant, token) = second_tenant(&server, "acme").await;
    let acme = server.client(&token);
    // The new admin works in its own tenant only and cannot manage tenants.
    let own = acme_tokens(&acme).await;
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    assert_eq!(own[0]["role"], "admin");
    assert_eq!(own[0]["system"], false);
    acme.get("/tenants").await.expect_error(403, "forbidden");
    acme.post(
        &format!("/tenants/{tenant}/tokens"),
        json!({"name": "more", "role": "admin"}),
    )
    .await
    .expect_error(403, "forbidden");
    server
        .admin()
        .post(
            "/tenants/no-such-tenant/tokens",
            json!({"name": "x", "role": "admin"}),
        )
        .await
        .expect_error(404, "not_found");
    // The default tenant's objects are not the new tenant's.
    let default_token = mint(&server.admin(), "viewer").await;
    assert!(
        !acme_tokens(&acme)
            .await
            .to_string()
            .contains(&default_token[..12])
    );
    let audit = acme.get("/audit").await.expect(200);
    assert_eq!(audit["items"][0]["action"], "token.create");
    server.stop().await;
}

async fn acme_tokens(acme: &Client) -> Value {
    acme.get("/tokens").await.expect(200)
}
