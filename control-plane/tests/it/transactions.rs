//! Every change is one transaction with its audit row: when the audit row cannot be
//! written, the change is not made either, so a client never gets a 500 for a job that
//! exists (and a retrying client never makes a duplicate).

use alq_control_plane::db::Db;
use serde_json::json;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, push, start_job};

on_both_backends!(a_refused_audit_row_makes_no_change);

/// Makes the database refuse every new audit row, as a full disk or a broken table
/// would: a trigger the test adds and removes.
async fn refuse_audit_rows(db: &Db, refuse: bool) {
    match (db, refuse) {
        (Db::Sqlite(pool), true) => sqlx::raw_sql(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END",
        )
        .execute(pool)
        .await
        .map(drop),
        (Db::Sqlite(pool), false) => sqlx::raw_sql("DROP TRIGGER refuse_audit")
            .execute(pool)
            .await
            .map(drop),
        (Db::Postgres(pool), true) => sqlx::raw_sql(
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
        )
        .execute(pool)
        .await
        .map(drop),
        (Db::Postgres(pool), false) => sqlx::raw_sql("DROP TRIGGER refuse_audit ON audit_log")
            .execute(pool)
            .await
            .map(drop),
    }
    .unwrap();
}

async fn a_refused_audit_row_makes_no_change(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let pending = start_job(&admin, "greet", json!({})).await;
    let cancelled = start_job(&admin, "greet", json!({})).await;
    admin
        .post(&format!("/jobs/{cancelled}/cancel"), json!({}))
        .await
        .expect(200);
    let jobs_before = admin.get("/jobs").await.expect(200)["items"].clone();
    let audit_before = admin.get("/audit?limit=500").await.expect(200)["items"].clone();

    refuse_audit_rows(&server.state.db, true).await;
    admin
        .post(
            "/jobs",
            json!({"workflow": "greet", "inputs": {"count": 1}}),
        )
        .await
        .expect_error(500, "internal");
    admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}, {"inputs": {"count": 2}}]}),
        )
        .await
        .expect_error(500, "internal");
    admin
        .post(&format!("/jobs/{pending}/cancel"), json!({}))
        .await
        .expect_error(500, "internal");
    admin
        .post(&format!("/jobs/{cancelled}/retry"), json!({}))
        .await
        .expect_error(500, "internal");
    admin
        .put("/assets/colour", json!({"type": "text", "value": "red"}))
        .await
        .expect_error(500, "internal");
    admin
        .post("/robots/not-there/disable", json!({}))
        .await
        .expect_error(404, "not_found");
    // Nothing changed: no new job, the pending one still pending, no asset.
    assert_eq!(
        admin.get("/jobs").await.expect(200)["items"],
        jobs_before,
        "a refused audit row left a change behind"
    );
    admin
        .get("/assets/colour")
        .await
        .expect_error(404, "not_found");

    refuse_audit_rows(&server.state.db, false).await;
    let made = start_job(&admin, "greet", json!({})).await;
    let audit = admin.get("/audit?limit=500").await.expect(200)["items"].clone();
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), audit_before.as_array().unwrap().len() + 1);
    assert_eq!(audit[0]["action"], "job.create");
    assert_eq!(audit[0]["target"], format!("job:{made}"));
    server.stop().await;
}
