//! Robots as people see them: status, current jobs, disable, enable, delete.

use alq_control_plane::db::{Db, robots, tokens};
use alq_control_plane::on_db;
use serde_json::Value;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::tokens::{audit_actions, default_tenant, insert_robot, mint, open_db, second_tenant};

on_both_backends!(robots_show_their_status_and_are_managed_by_admins);

/// A job in `state`, held by `robot` (as the leasing code leaves it).
pub async fn insert_job(db: &Db, tenant: &str, state: &str, robot: Option<&str>) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    on_db!(db, pool => {
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO jobs (tenant_id, workflow_id, version_id, state, run_after, robot_id, created_at) \
             VALUES ($1, 'w', 'v', $2, $3, $4, $5) RETURNING id",
        )
        .bind(tenant)
        .bind(state)
        .bind(now)
        .bind(robot)
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap();
        row.0
    })
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no robot {name} in {list}"))
}

async fn robots_show_their_status_and_are_managed_by_admins(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let db = open_db(&server).await;
    let tenant = default_tenant(&server).await;
    let idle = insert_robot(&db, &tenant, "idle", &["linux"]).await;
    let silent = insert_robot(&db, &tenant, "silent", &[]).await;
    let worker = insert_robot(&db, &tenant, "worker", &["linux", "chromium"]).await;
    let long_ago = chrono::Utc::now().timestamp_millis()
        - 3 * i64::try_from(server.config.heartbeat_interval_ms).unwrap()
        - 1_000;
    assert!(robots::seen_at(&db, &silent.id, long_ago).await.unwrap());
    let job = insert_job(&db, &tenant, "running", Some(&worker.id)).await;
    insert_job(&db, &tenant, "succeeded", Some(&worker.id)).await;
    let mut tx = db.begin().await.unwrap();
    let worker_token = tokens::create_robot(&mut tx, &tenant, &worker.id, "worker")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let viewer = server.client(&mint(&server.admin(), "viewer").await);
    let list = viewer.get("/robots").await.expect(200);
    assert_eq!(by_name(&list, "idle")["status"], "online");
    assert_eq!(by_name(&list, "silent")["status"], "offline");
    let busy = by_name(&list, "worker");
    assert_eq!(busy["status"], "busy");
    assert_eq!(busy["current_job_ids"], serde_json::json!([job]));
    assert_eq!(busy["labels"], serde_json::json!(["linux", "chromium"]));
    assert_eq!(busy["version"], "0.1.0");
    assert_eq!(busy["os"], "linux");
    assert_eq!(busy["hostname"], "worker.lan");
    assert!(busy["last_seen_at"].is_i64());

    let one = viewer
        .get(&format!("/robots/{}", idle.id))
        .await
        .expect(200);
    assert_eq!(one["name"], "idle");
    assert_eq!(one["current_job_ids"], serde_json::json!([]));
    viewer
        .post(
            &format!("/robots/{}/disable", idle.id),
            serde_json::json!({}),
        )
        .await
        .expect_error(403, "forbidden");

    let admin = server.admin();
    let disabled = admin
        .post(
            &format!("/robots/{}/disable", idle.id),
            serde_json::json!({}),
        )
        .await
        .expect(200);
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["disabled"], true);
    let enabled = admin
        .post(
            &format!("/robots/{}/enable", idle.id),
            serde_json::json!({}),
        )
        .await
        .expect(200);
    assert_eq!(enabled["status"], "online");

    // Another tenant sees none of it.
    let (_, other) = second_tenant(&server, "other").await;
    let other = server.client(&other);
    assert_eq!(
        other.get("/robots").await.expect(200),
        serde_json::json!([])
    );
    other
        .get(&format!("/robots/{}", idle.id))
        .await
        .expect_error(404, "not_found");
    other
        .delete(&format!("/robots/{}", idle.id))
        .await
        .expect_error(404, "not_found");

    admin
        .delete(&format!("/robots/{}", worker.id))
        .await
        .expect(204);
    admin
        .get(&format!("/robots/{}", worker.id))
        .await
        .expect_error(404, "not_found");
    admin
        .delete(&format!("/robots/{}", worker.id))
        .await
        .expect_error(404, "not_found");
    let record = tokens::find_by_hash(&db, &alq_control_plane::auth::hash(&worker_token.secret))
        .await
        .unwrap()
        .unwrap();
    assert!(
        record.revoked_at.is_some(),
        "the deleted robot's token is revoked"
    );
    let names: Vec<Value> = admin
        .get("/robots")
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, ["idle", "silent"]);

    let actions: Vec<String> = audit_actions(&admin)
        .await
        .into_iter()
        .filter(|a| a.starts_with("robot."))
        .collect();
    assert_eq!(actions, ["robot.delete", "robot.enable", "robot.disable"]);
    db.close().await;
    server.stop().await;
}
