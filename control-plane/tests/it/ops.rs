//! Operations: `/metrics`, `/readyz`, and the OpenAPI document.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, lease_now, push, robot, start_job};
use crate::robots_admin::insert_job;
use crate::tokens::{default_tenant, insert_robot, open_db};

on_both_backends!(
    metrics_count_jobs_robots_and_requests_by_route,
    lease_wait_is_observed_per_leased_job,
    the_openapi_document_lists_every_endpoint
);

/// The value of the sample `series` (name and labels exactly as exported).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn metrics_count_jobs_robots_and_requests_by_route(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let db = open_db(&server).await;
    let tenant = default_tenant(&server).await;
    let robot = insert_robot(&db, &tenant, "r1", &[]).await;
    insert_robot(&db, &tenant, "r2", &[]).await;
    alq_control_plane::db::robots::seen_at(&db, &robot.id, 0)
        .await
        .unwrap();
    for state in ["pending", "pending", "running", "dead"] {
        insert_job(&db, &tenant, state, None).await;
    }
    db.close().await;
    let admin = server.admin();
    admin.get("/robots/one").await.expect(404);
    admin.get("/robots/two").await.expect(404);

    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let response = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    assert_eq!(
        sample(&text, r#"alq_jobs{state="pending"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, r#"alq_jobs{state="running"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"alq_jobs{state="dead"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"alq_jobs{state="succeeded"}"#), Some(0.0));
    assert_eq!(sample(&text, "alq_queue_depth"), Some(2.0));
    assert_eq!(
        sample(&text, "alq_robots_online"),
        Some(1.0),
        "r1 was last seen long ago"
    );
    // Both 404s fall under the route template, not their raw paths.
    assert_eq!(
        sample(
            &text,
            r#"alq_http_request_duration_seconds_count{method="GET",route="/api/v1/robots/{id}",status="404"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains("/robots/one"));
    assert!(text.contains("alq_lease_wait_seconds_count 0"), "{text}");
    // Every statement counts, up to the scrape; the next scrape shows this one's two.
    // The pool takes connections back on a task of its own, a moment after the answer,
    // so each scrape is followed by a pause.
    let uses = sample(&text, "alq_database_uses_total").expect("database uses");
    assert!(uses > 10.0, "{text}");
    assert_eq!(sample(&text, "alq_lease_polls_parked"), Some(0.0));
    let mut counts = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let text = metrics_text(&server).await;
        counts.push(sample(&text, "alq_database_uses_total").expect("database uses"));
    }
    assert_eq!(counts[2] - counts[1], 2.0, "{counts:?}");
    assert_eq!(counts[1] - counts[0], 2.0, "{counts:?}");
    server.stop().await;
}

async fn metrics_text(server: &TestServer) -> String {
    reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn lease_wait_is_observed_per_leased_job(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    start_job(&admin, "greet", json!({})).await;
    // Due since 2020, but made now: it waits from its creation, not for years.
    start_job(
        &admin,
        "greet",
        json!({"run_after": "2020-01-01T00:00:00Z"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lease_now(&r1, 5).await.len(), 2);
    let text = metrics_text(&server).await;
    assert_eq!(
        sample(&text, "alq_lease_wait_seconds_count"),
        Some(2.0),
        "{text}"
    );
    let sum = sample(&text, "alq_lease_wait_seconds_sum").unwrap();
    assert!(
        (0.6..20.0).contains(&sum),
        "two jobs waited about 0.3 s each: {sum}"
    );
    // Under 1 s: in the bucket of about 1 s, not in the smaller ones.
    assert_eq!(
        sample(&text, r#"alq_lease_wait_seconds_bucket{le="0.256"}"#),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"alq_lease_wait_seconds_bucket{le="32.768"}"#),
        Some(2.0),
        "{text}"
    );
    server.stop().await;
}

async fn the_openapi_document_lists_every_endpoint(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let document: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/tenants", "post"),
        ("/api/v1/tenants/{id}/tokens", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens/{id}", "delete"),
        ("/api/v1/robot-tokens", "post"),
        ("/api/v1/robot-tokens/{id}", "delete"),
        ("/api/v1/robots", "get"),
        ("/api/v1/robots/{id}", "delete"),
        ("/api/v1/robots/{id}/disable", "post"),
        ("/api/v1/robots/{id}/enable", "post"),
        ("/api/v1/workflows", "post"),
        ("/api/v1/workflows/{id}", "get"),
        ("/api/v1/workflows/{id}/versions", "get"),
        ("/api/v1/robot/packages/{sha256}", "get"),
        ("/api/v1/assets", "get"),
        ("/api/v1/assets/{name}", "put"),
        ("/api/v1/audit", "get"),
        ("/api/v1/events", "get"),
        ("/api/v1/jobs", "post"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/bulk", "post"),
        ("/api/v1/jobs/{id}", "get"),
        ("/api/v1/jobs/{id}/events", "get"),
        ("/api/v1/jobs/{id}/artifacts", "get"),
        ("/api/v1/jobs/{id}/artifacts/{sha256}", "get"),
        ("/api/v1/jobs/{id}/cancel", "post"),
        ("/api/v1/jobs/{id}/retry", "post"),
        ("/api/v1/robots/register", "post"),
        ("/api/v1/robot/lease", "post"),
        ("/api/v1/robot/goodbye", "post"),
        ("/api/v1/robot/jobs/{id}/heartbeat", "post"),
        ("/api/v1/robot/jobs/{id}/events", "post"),
        ("/api/v1/robot/jobs/{id}/artifacts/{sha256}", "put"),
        ("/api/v1/robot/jobs/{id}/complete", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let mut operation_ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operation ids are unique");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in [
        "Error",
        "PutAsset",
        "Robot",
        "CreatedPersonalToken",
        "AuditPage",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    server.stop().await;
}
