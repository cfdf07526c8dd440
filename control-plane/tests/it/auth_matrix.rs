//! Every endpoint against every way a caller can be wrong: no, unknown or revoked token
//! (401), too small a role (403), another tenant's object (404), malformed JSON and
//! unknown fields (400), an oversize body (413). All in the `{code, message, details}`
//! shape.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, Client, Reply, TestServer};
use crate::on_both_backends;
use crate::tokens::{default_tenant, insert_robot, mint, open_db, second_tenant};

on_both_backends!(every_endpoint_refuses_what_it_must);

const WORKFLOW: &str = r#"{"name": "hello", "steps": [{"action": "log", "message": "hi"}]}"#;

/// The smallest caller an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Viewer,
    Operator,
    Admin,
    /// The system admin (tenants).
    System,
}

/// What an endpoint takes.
#[derive(Debug, Clone)]
enum Payload {
    None,
    /// A valid JSON body (so that only the caller is wrong).
    Json(Value),
    /// A workflow file.
    Workflow,
}

struct Endpoint {
    method: Method,
    path: String,
    payload: Payload,
    needs: Needs,
    /// Names an object of the default tenant: another tenant gets 404.
    object: bool,
}

fn endpoint(method: Method, path: &str, payload: Payload, needs: Needs, object: bool) -> Endpoint {
    Endpoint {
        method,
        path: path.to_owned(),
        payload,
        needs,
        object,
    }
}

async fn call(client: &Client, e: &Endpoint) -> Reply {
    match &e.payload {
        Payload::None => client.send(e.method.clone(), &e.path, None).await,
        Payload::Json(body) => {
            client
                .send(e.method.clone(), &e.path, Some(body.clone()))
                .await
        }
        Payload::Workflow => {
            client
                .send_raw(
                    e.method.clone(),
                    &e.path,
                    "application/json",
                    WORKFLOW.into(),
                )
                .await
        }
    }
}

fn check(reply: Reply, status: u16, code: &str, e: &Endpoint, who: &str) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{} {} as {who}: {}",
        e.method,
        e.path,
        reply.body
    );
    reply.expect_error(status, code);
}

async fn every_endpoint_refuses_what_it_must(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    let tenant = default_tenant(&server).await;
    // Objects of the default tenant for the endpoints that name one.
    let db = open_db(&server).await;
    let robot = insert_robot(&db, &tenant, "r1", &[]).await.id;
    db.close().await;
    admin
        .put("/assets/a1", json!({"type": "text", "value": "v"}))
        .await
        .expect(201);
    admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            WORKFLOW.into(),
        )
        .await
        .expect(201);
    let token = admin
        .post("/tokens", json!({"name": "t", "role": "viewer"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reg = admin
        .post("/robot-tokens", json!({"labels": []}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let viewer = server.client(&mint(&admin, "viewer").await);
    let operator = server.client(&mint(&admin, "operator").await);
    let tenant_admin = server.client(&mint(&admin, "admin").await);
    let revoked = admin
        .post("/tokens", json!({"name": "gone", "role": "admin"}))
        .await
        .expect(201);
    admin
        .delete(&format!("/tokens/{}", revoked["id"].as_str().unwrap()))
        .await
        .expect(204);
    let revoked = server.client(revoked["token"].as_str().unwrap());
    let (_, other) = second_tenant(&server, "other").await;
    let other = server.client(&other);

    use Needs::*;
    use Payload::None as Nothing;
    let token_body = || Payload::Json(json!({"name": "n", "role": "viewer"}));
    let endpoints = [
        endpoint(Method::GET, "/tenants", Nothing, System, false),
        endpoint(
            Method::POST,
            "/tenants",
            Payload::Json(json!({"name": "t2"})),
            System,
            false,
        ),
        endpoint(
            Method::POST,
            &format!("/tenants/{tenant}/tokens"),
            token_body(),
            System,
            false,
        ),
        endpoint(Method::GET, "/tokens", Nothing, Admin, false),
        endpoint(Method::POST, "/tokens", token_body(), Admin, false),
        endpoint(
            Method::DELETE,
            &format!("/tokens/{token}"),
            Nothing,
            Admin,
            true,
        ),
        endpoint(Method::GET, "/robot-tokens", Nothing, Admin, false),
        endpoint(
            Method::POST,
            "/robot-tokens",
            Payload::Json(json!({"labels": ["x"]})),
            Admin,
            false,
        ),
        endpoint(
            Method::DELETE,
            &format!("/robot-tokens/{reg}"),
            Nothing,
            Admin,
            true,
        ),
        endpoint(Method::GET, "/robots", Nothing, Viewer, false),
        endpoint(
            Method::GET,
            &format!("/robots/{robot}"),
            Nothing,
            Viewer,
            true,
        ),
        endpoint(
            Method::POST,
            &format!("/robots/{robot}/disable"),
            Nothing,
            Admin,
            true,
        ),
        endpoint(
            Method::POST,
            &format!("/robots/{robot}/enable"),
            Nothing,
            Admin,
            true,
        ),
        endpoint(
            Method::DELETE,
            &format!("/robots/{robot}"),
            Nothing,
            Admin,
            true,
        ),
        endpoint(Method::GET, "/workflows", Nothing, Viewer, false),
        endpoint(
            Method::POST,
            "/workflows",
            Payload::Workflow,
            Operator,
            false,
        ),
        endpoint(Method::GET, "/workflows/hello", Nothing, Viewer, true),
        endpoint(
            Method::GET,
            "/workflows/hello/versions",
            Nothing,
            Viewer,
            true,
        ),
        endpoint(Method::DELETE, "/workflows/hello", Nothing, Operator, true),
        endpoint(Method::GET, "/assets", Nothing, Viewer, false),
        endpoint(Method::GET, "/assets/a1", Nothing, Viewer, true),
        endpoint(
            Method::PUT,
            "/assets/a1",
            Payload::Json(json!({"type": "text", "value": "w"})),
            Operator,
            false,
        ),
        endpoint(Method::DELETE, "/assets/a1", Nothing, Operator, true),
        endpoint(Method::GET, "/audit", Nothing, Admin, false),
        // A refused stream answers at once, with the error shape, before it streams.
        endpoint(Method::GET, "/events", Nothing, Viewer, false),
    ];

    for e in &endpoints {
        check(
            call(&server.anonymous(), e).await,
            401,
            "unauthenticated",
            e,
            "nobody",
        );
        check(
            call(&server.client("alq_pat_unknown"), e).await,
            401,
            "unauthenticated",
            e,
            "an unknown token",
        );
        check(
            call(&revoked, e).await,
            401,
            "unauthenticated",
            e,
            "a revoked token",
        );
        let too_small = match e.needs {
            Viewer => None,
            Operator => Some((&viewer, "a viewer")),
            Admin => Some((&operator, "an operator")),
            System => Some((&tenant_admin, "a tenant admin")),
        };
        if let Some((client, who)) = too_small {
            check(call(client, e).await, 403, "forbidden", e, who);
        }
        if e.needs == System {
            check(
                call(&other, e).await,
                403,
                "forbidden",
                e,
                "another tenant's admin",
            );
        } else if e.object {
            check(
                call(&other, e).await,
                404,
                "not_found",
                e,
                "another tenant's admin",
            );
        }
    }

    // Bodies, sent by a caller allowed to send them.
    let huge = |field: &str| {
        format!(
            "{{\"{field}\": \"{}\"}}",
            "x".repeat(server.config.max_body_bytes + 10)
        )
    };
    for e in &endpoints {
        let caller = if e.needs == System {
            &admin
        } else {
            &tenant_admin
        };
        let Payload::Json(body) = &e.payload else {
            continue;
        };
        let sent =
            |bytes: Vec<u8>| caller.send_raw(e.method.clone(), &e.path, "application/json", bytes);
        check(
            sent(b"{\"name\": ".to_vec()).await,
            400,
            "invalid_request",
            e,
            "malformed JSON",
        );
        let mut unknown = body.clone();
        unknown["colour"] = json!("red");
        check(
            sent(unknown.to_string().into_bytes()).await,
            400,
            "invalid_request",
            e,
            "an unknown field",
        );
        check(
            sent(huge("name").into_bytes()).await,
            413,
            "payload_too_large",
            e,
            "an oversize body",
        );
    }
    // A workflow file is checked as a workflow; an oversize one is refused unread.
    let push = |bytes: Vec<u8>| {
        tenant_admin.send_raw(Method::POST, "/workflows", "application/json", bytes)
    };
    push(b"{\"name\": ".to_vec())
        .await
        .expect_error(422, "invalid_workflow");
    push(huge("name").into_bytes())
        .await
        .expect_error(413, "payload_too_large");

    // Nothing above changed the default tenant's objects.
    admin.get("/assets/a1").await.expect(200);
    admin.get(&format!("/robots/{robot}")).await.expect(200);
    admin.get("/workflows/hello").await.expect(200);
    server.stop().await;
}
