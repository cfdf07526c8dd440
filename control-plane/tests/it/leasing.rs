//! Leasing: the happy path, many robots racing, order, labels, lost leases, retries,
//! cancellation, wake-ups and shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, complete, lease, lease_now, push, put_artifact, robot, start_job};

on_both_backends!(
    a_job_is_leased_reported_and_completed,
    twenty_robots_race_for_2000_jobs,
    priority_then_fifo,
    labels_are_respected,
    a_lost_lease_goes_to_another_robot,
    business_failures_stop_application_failures_retry_until_dead,
    running_jobs_cancel_through_the_heartbeat,
    parked_robots_wake_on_new_jobs_and_on_shutdown,
    leased_jobs_carry_the_assets_their_workflow_reads,
    a_disabled_robot_finishes_its_job_but_gets_no_new_one,
    parked_robots_cost_no_database_work,
    the_sweep_knows_when_a_delayed_job_comes_due
);

async fn a_job_is_leased_reported_and_completed(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    assert!(lease_now(&r1, 1).await.is_empty());
    let id = start_job(
        &admin,
        "greet",
        json!({"inputs": {"count": 3, "password": "s3cret"}}),
    )
    .await;
    let job = lease_now(&r1, 4).await.remove(0);
    assert_eq!(job["job_id"], id);
    assert_eq!(job["attempt"], 1);
    assert_eq!(job["workflow"]["name"], "greet");
    assert_eq!(job["workflow"]["source"], GREET);
    // The robot gets the secret; people do not.
    assert_eq!(job["inputs"]["password"], "s3cret");
    let token = job["lease_token"].as_i64().unwrap();
    let shown = admin.get(&format!("/jobs/{id}")).await.expect(200);
    assert_eq!(shown["state"], "running");
    assert_eq!(shown["attempt"], 1);
    assert!(shown["robot_id"].is_string());
    assert!(shown["started_at"].is_string());
    let beat = r1
        .post(
            &format!("/robot/jobs/{id}/heartbeat"),
            json!({"lease_token": token}),
        )
        .await
        .expect(200);
    assert_eq!(beat["cancel"], false);
    assert!(beat["lease_expires_at"].is_string());
    let events = json!({"lease_token": token, "events": [
        {"seq": 1, "event": {"event": "run_started"}},
        {"seq": 2, "event": {"event": "step_started"}}
    ]});
    let path = format!("/robot/jobs/{id}/events");
    assert_eq!(
        r1.post(&path, events.clone()).await.expect(200)["accepted"],
        2
    );
    // A replay is harmless.
    assert_eq!(r1.post(&path, events).await.expect(200)["accepted"], 0);
    let more = json!({"lease_token": token, "events": [{"seq": 2, "event": {}}, {"seq": 3, "event": {"event": "run_finished"}}]});
    assert_eq!(r1.post(&path, more).await.expect(200)["accepted"], 1);
    put_artifact(&r1, id, token, b"shot".to_vec(), None)
        .await
        .expect(204);
    let done = complete(
        &r1,
        &job,
        json!({"outcome": "succeeded", "outputs": {"greeting": "hi"}}),
    )
    .await
    .expect(200);
    assert_eq!(done["state"], "succeeded");
    let shown = admin.get(&format!("/jobs/{id}")).await.expect(200);
    assert_eq!(shown["state"], "succeeded");
    assert_eq!(shown["outputs"], json!({"greeting": "hi"}));
    assert!(shown["finished_at"].is_string());
    assert!(shown["lease_expires_at"].is_null());
    let listed = admin.get(&format!("/jobs/{id}/events")).await.expect(200);
    let items = listed["items"].as_array().unwrap();
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(items[0]["event"]["event"], "run_started");
    assert_eq!(items[0]["attempt"], 1);
    let after = items[1]["id"].as_i64().unwrap();
    let rest = admin
        .get(&format!("/jobs/{id}/events?after={after}"))
        .await
        .expect(200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let artifacts = admin
        .get(&format!("/jobs/{id}/artifacts"))
        .await
        .expect(200);
    assert_eq!(artifacts["items"].as_array().unwrap().len(), 1);
    // Nothing left.
    assert!(lease_now(&r1, 1).await.is_empty());
    admin
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect_error(409, "conflict");
    server.stop().await;
}

async fn twenty_robots_race_for_2000_jobs(backend: Backend) {
    const JOBS: usize = 2_000;
    const ROBOTS: usize = 20;
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let started = Instant::now();
    // Jobs are made by 8 concurrent clients while the robots already race for them.
    let mut robots = Vec::new();
    for i in 0..ROBOTS {
        robots.push(robot(&server, &format!("racer-{i}"), &[]).await);
    }
    let runs: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    let mut makers = Vec::new();
    for m in 0..8 {
        let admin = admin.clone();
        makers.push(tokio::spawn(async move {
            for _ in (m..JOBS).step_by(8) {
                start_job(&admin, "greet", json!({})).await;
            }
        }));
    }
    let mut racers = Vec::new();
    for robot in robots {
        let runs = Arc::clone(&runs);
        racers.push(tokio::spawn(async move {
            loop {
                if runs.lock().unwrap().len() >= JOBS {
                    return;
                }
                for job in lease(&robot, 1, 2).await {
                    let reply = complete(&robot, &job, json!({"outcome": "succeeded"})).await;
                    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
                    *runs
                        .lock()
                        .unwrap()
                        .entry(job["job_id"].as_i64().unwrap())
                        .or_default() += 1;
                }
            }
        }));
    }
    for maker in makers {
        maker.await.unwrap();
    }
    let deadline = tokio::time::timeout(Duration::from_secs(120), async {
        for racer in racers {
            racer.await.unwrap();
        }
    });
    deadline.await.expect("the robots drain every job in time");
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), JOBS);
    assert!(runs.values().all(|&n| n == 1), "a job ran twice");
    eprintln!(
        "{backend:?}: {JOBS} jobs made and run by {ROBOTS} robots in {:?}",
        started.elapsed()
    );
    let succeeded = admin
        .get("/jobs?state=succeeded&limit=500")
        .await
        .expect(200);
    assert_eq!(succeeded["items"].as_array().unwrap().len(), 500);
    assert!(
        admin.get("/jobs?state=pending").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        admin.get("/jobs?state=running").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

async fn priority_then_fifo(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let mut made = Vec::new();
    for priority in [0, 5, 0, 10, 5, -1, 0] {
        made.push((
            priority,
            start_job(&admin, "greet", json!({"priority": priority})).await,
        ));
    }
    let r1 = robot(&server, "r1", &[]).await;
    let mut order = Vec::new();
    // One at a time, then two at a time: the same order either way.
    for slots in [1, 1, 2, 2, 1] {
        for job in lease_now(&r1, slots).await {
            order.push(job["job_id"].as_i64().unwrap());
        }
    }
    let mut expected = made.clone();
    expected.sort_by_key(|&(priority, id)| (-priority, id));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(order, expected);
    server.stop().await;
}

async fn labels_are_respected(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    // A job nobody here can take, first in line, does not block the others.
    let windows = start_job(
        &admin,
        "greet",
        json!({"priority": 9, "labels": ["windows", "sap"]}),
    )
    .await;
    let plain = start_job(&admin, "greet", json!({})).await;
    let linux = robot(&server, "linux", &["linux", "sap"]).await;
    let win_only = robot(&server, "win-only", &["windows"]).await;
    let sap_win = robot(&server, "sap-win", &["windows", "sap", "chrome"]).await;
    let got = lease_now(&linux, 5).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["job_id"], plain);
    assert!(lease_now(&win_only, 5).await.is_empty());
    let got = lease_now(&sap_win, 5).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["job_id"], windows);
    server.stop().await;
}

async fn a_lost_lease_goes_to_another_robot(backend: Backend) {
    let Some(server) = TestServer::start_with_config(backend, |c| {
        c.lease_ttl_ms = 1_500;
        c.heartbeat_interval_ms = 500;
        c.retry_base_ms = 100;
    })
    .await
    else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let id = start_job(&admin, "greet", json!({})).await;
    let quitter = robot(&server, "quitter", &[]).await;
    let first = lease_now(&quitter, 1).await.remove(0);
    assert_eq!(first["attempt"], 1);
    // The quitter stops heartbeating; another robot parks and gets the job back.
    let other = robot(&server, "other", &[]).await;
    // The lease lasts 1.5 s and nothing else runs: only the reaper can hand the job back
    // within this wait, however slow the machine is.
    let mut second = lease(&other, 30, 1).await;
    assert_eq!(second.len(), 1, "the job came back within the wait");
    let second = second.remove(0);
    assert_eq!(second["job_id"], id);
    assert_eq!(second["attempt"], 2);
    assert!(second["lease_token"].as_i64() > first["lease_token"].as_i64());
    let shown = admin.get(&format!("/jobs/{id}")).await.expect(200);
    assert_eq!(shown["attempt"], 2);
    // The quitter's late calls change nothing.
    complete(&quitter, &first, json!({"outcome": "succeeded"}))
        .await
        .expect_error(409, "stale_lease");
    quitter
        .post(
            &format!("/robot/jobs/{id}/heartbeat"),
            json!({"lease_token": first["lease_token"]}),
        )
        .await
        .expect_error(409, "stale_lease");
    complete(&other, &second, json!({"outcome": "succeeded"}))
        .await
        .expect(200);
    assert_eq!(
        admin.get(&format!("/jobs/{id}")).await.expect(200)["state"],
        "succeeded"
    );
    // With one attempt allowed, a lost lease is the end: dead.
    let once = start_job(&admin, "greet", json!({"max_attempts": 1})).await;
    lease_now(&quitter, 1).await.remove(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = admin.get(&format!("/jobs/{once}")).await.expect(200);
        if shown["state"] == "dead" {
            assert!(
                shown["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("lease expired")
            );
            break;
        }
        assert!(Instant::now() < deadline, "still {}", shown["state"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}

async fn business_failures_stop_application_failures_retry_until_dead(backend: Backend) {
    let Some(server) = TestServer::start_with_config(backend, |c| {
        c.retry_base_ms = 100;
        c.retry_max_ms = 200;
    })
    .await
    else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    let business = start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    let failed = json!({"outcome": "failed", "error": {"message": "invoice 7 has no total", "type": "business"}});
    assert_eq!(
        complete(&r1, &job, failed.clone()).await.expect(200)["state"],
        "failed"
    );
    assert_eq!(
        complete(&r1, &job, failed).await.expect(200)["state"],
        "failed"
    );
    let shown = admin.get(&format!("/jobs/{business}")).await.expect(200);
    assert_eq!(shown["state"], "failed");
    assert_eq!(shown["error"]["type"], "business");
    assert_eq!(shown["error"]["message"], "invoice 7 has no total");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        lease_now(&r1, 1).await.is_empty(),
        "a business failure is not retried"
    );

    let app = start_job(&admin, "greet", json!({"max_attempts": 3})).await;
    let broken = json!({"outcome": "failed", "error": {"message": "page did not load", "type": "application"}});
    for attempt in 1..=3 {
        // The retry waits its backoff: the parked robot gets it when it is due.
        let job = lease(&r1, 5, 1).await.remove(0);
        assert_eq!(job["job_id"], app);
        assert_eq!(job["attempt"], attempt);
        let state = complete(&r1, &job, broken.clone()).await.expect(200)["state"].clone();
        let shown = admin.get(&format!("/jobs/{app}")).await.expect(200);
        if attempt < 3 {
            assert_eq!(state, "pending");
            assert!(shown["run_after"].as_str().unwrap() > shown["created_at"].as_str().unwrap());
        } else {
            assert_eq!(state, "dead");
            assert_eq!(shown["state"], "dead");
            assert_eq!(shown["error"]["message"], "page did not load");
        }
    }
    assert!(lease_now(&r1, 1).await.is_empty());
    // Dead jobs can be retried by hand.
    let again = admin
        .post(&format!("/jobs/{app}/retry"), json!({}))
        .await
        .expect(201);
    let job = lease_now(&r1, 1).await.remove(0);
    assert_eq!(job["job_id"], again["id"]);
    assert_eq!(job["attempt"], 1);
    server.stop().await;
}

async fn running_jobs_cancel_through_the_heartbeat(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    let id = start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    let beat = json!({"lease_token": job["lease_token"]});
    let path = format!("/robot/jobs/{id}/heartbeat");
    assert_eq!(
        r1.post(&path, beat.clone()).await.expect(200)["cancel"],
        false
    );
    let asked = admin
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect(200);
    assert_eq!(asked["state"], "running");
    assert_eq!(asked["cancel_requested"], true);
    assert_eq!(r1.post(&path, beat).await.expect(200)["cancel"], true);
    let done = complete(&r1, &job, json!({"outcome": "cancelled"}))
        .await
        .expect(200);
    assert_eq!(done["state"], "cancelled");
    assert_eq!(
        admin.get(&format!("/jobs/{id}")).await.expect(200)["state"],
        "cancelled"
    );
    server.stop().await;
}

async fn parked_robots_wake_on_new_jobs_and_on_shutdown(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    let r2 = robot(&server, "r2", &[]).await;
    // Two parked robots, one job: one wakes with it, the other keeps waiting. An idle
    // server's sweep sleeps until something is due, so only the wake-up can hand the job
    // to a parked robot: no clock needed to tell the two apart.
    let parked = |r: crate::common::Client, wait_s: u64| {
        tokio::spawn(async move {
            let started = Instant::now();
            (lease(&r, wait_s, 1).await, started.elapsed())
        })
    };
    let (p1, p2) = (parked(r1.clone(), 5), parked(r2.clone(), 5));
    wait_parked(&server, 2).await;
    let id = start_job(&admin, "greet", json!({})).await;
    let (a, b) = (p1.await.unwrap(), p2.await.unwrap());
    let (winner, loser) = if a.0.is_empty() { (b, a) } else { (a, b) };
    assert_eq!(winner.0.len(), 1, "a parked robot was woken with the job");
    assert_eq!(winner.0[0]["job_id"], id);
    assert!(loser.0.is_empty());
    assert!(loser.1 >= Duration::from_millis(4_900), "{:?}", loser.1);
    // Shutdown answers parked polls at once: well before their 120-second wait.
    let waiting = parked(r1.clone(), 120);
    wait_parked(&server, 1).await;
    server.begin_shutdown();
    let (jobs, waited): (Vec<Value>, Duration) = waiting.await.unwrap();
    assert!(jobs.is_empty());
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    server.stop().await;
}

async fn leased_jobs_carry_the_assets_their_workflow_reads(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin();
    admin
        .put(
            "/assets/erp",
            json!({"type": "credential", "value": {"username": "u1", "password": "pw-123"}}),
        )
        .await
        .expect(201);
    admin
        .put(
            "/assets/erp-url",
            json!({"type": "text", "value": "https://erp"}),
        )
        .await
        .expect(201);
    admin
        .put(
            "/assets/unrelated",
            json!({"type": "text", "value": "not sent"}),
        )
        .await
        .expect(201);
    let source = r#"{"name": "uses-assets", "steps": [{"action": "log", "message": "{{ assets.erp.username }} {{ assets['erp-url'] }}"}]}"#;
    push(&server, source).await;
    let r1 = robot(&server, "r1", &[]).await;
    admin
        .post("/jobs", json!({"workflow": "uses-assets"}))
        .await
        .expect(201);
    let job = lease_now(&r1, 1).await.remove(0);
    // The robot gets what the workflow reads, the credential decrypted; nothing else.
    assert_eq!(
        job["assets"],
        json!({"erp": {"username": "u1", "password": "pw-123"}, "erp-url": "https://erp"})
    );
    // People still see the password masked.
    assert_eq!(
        admin.get("/assets/erp").await.expect(200)["value"]["password"],
        "***"
    );
    // A workflow that reads no asset gets none.
    push(&server, GREET).await;
    start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    assert_eq!(job["assets"], json!({}));
    server.stop().await;
}

async fn a_disabled_robot_finishes_its_job_but_gets_no_new_one(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    start_job(&admin, "greet", json!({})).await;
    start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    let robots = admin.get("/robots").await.expect(200);
    let id = robots.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .post(&format!("/robots/{id}/disable"), json!({}))
        .await
        .expect(200);
    let path = format!("/robot/jobs/{}/heartbeat", job["job_id"]);
    r1.post(&path, json!({"lease_token": job["lease_token"]}))
        .await
        .expect(200);
    complete(&r1, &job, json!({"outcome": "succeeded"}))
        .await
        .expect(200);
    // Told it is disabled, not refused: it keeps asking.
    let answer = r1
        .post("/robot/lease", json!({"wait_s": 0, "slots": 1}))
        .await
        .expect(200);
    assert_eq!(answer, json!({"jobs": [], "disabled": true}));
    let robots = admin.get("/robots").await.expect(200);
    assert_eq!(robots[0]["status"], "disabled");
    assert!(robots[0]["last_seen_at"].is_number(), "{robots}");
    // A poll held while disabled takes the waiting job as soon as the robot is enabled.
    let poll = tokio::spawn({
        let r1 = r1.clone();
        async move {
            r1.post("/robot/lease", json!({"wait_s": 60, "slots": 1}))
                .await
                .expect(200)
        }
    });
    // Most likely held by then (either way the job must come).
    tokio::time::sleep(Duration::from_secs(1)).await;
    admin
        .post(&format!("/robots/{id}/enable"), json!({}))
        .await
        .expect(200);
    let answer = poll.await.unwrap();
    assert_eq!(answer["jobs"].as_array().unwrap().len(), 1, "{answer}");
    assert!(answer.get("disabled").is_none(), "{answer}");
    server.stop().await;
}

async fn parked_robots_cost_no_database_work(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let mut polls = Vec::new();
    for i in 0..10 {
        let r = robot(&server, &format!("r{i}"), &[]).await;
        polls.push(tokio::spawn(async move { lease(&r, 30, 1).await }));
    }
    let dispatcher = &server.state.dispatcher;
    let parked_by = Instant::now() + Duration::from_secs(20);
    while dispatcher.parked() < 10 {
        assert!(Instant::now() < parked_by, "robots did not park");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A poll parks before its claim: let the last claims finish (on a busy machine they
    // can take a while), i.e. wait for a quiet second.
    let uses = &server.state.metrics.database_uses;
    let quiet_by = Instant::now() + Duration::from_secs(30);
    loop {
        let before = uses.get();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if uses.get() == before {
            break;
        }
        assert!(Instant::now() < quiet_by, "the database never went quiet");
    }
    // Parked, nothing running, nothing due: neither the polls, the reaper nor the sweep
    // touch the database.
    let before = uses.get();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(uses.get(), before, "database work while idle");
    // Still parked and still wakeable: a job goes to one of them.
    let id = start_job(&admin, "greet", json!({})).await;
    let mut leased = Vec::new();
    while leased.is_empty() {
        let poll = polls
            .iter()
            .position(|p| p.is_finished())
            .map(|i| polls.remove(i));
        match poll {
            Some(poll) => leased = poll.await.unwrap(),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert_eq!(leased[0]["job_id"], id);
    server.stop().await;
}

async fn the_sweep_knows_when_a_delayed_job_comes_due(backend: Backend) {
    use alq_control_plane::lease::{Sweep, sweep_once};
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    assert_eq!(
        sweep_once(&server.state).await.unwrap(),
        Sweep::Idle {
            next_run_after: None
        }
    );
    // Too far ahead for a timer of its own: the sweep finds out when it comes due.
    let id = start_job(
        &admin,
        "greet",
        json!({"run_after": "2030-01-01T00:00:00Z"}),
    )
    .await;
    let due = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        sweep_once(&server.state).await.unwrap(),
        Sweep::Idle {
            next_run_after: Some(due)
        }
    );
    // A due job no parked robot can take (labels): the sweep keeps looking.
    start_job(&admin, "greet", json!({"labels": ["sap"]})).await;
    let r = robot(&server, "r", &[]).await;
    let poll = tokio::spawn(async move { lease(&r, 2, 1).await });
    while server.state.dispatcher.parked() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sweep_once(&server.state).await.unwrap(), Sweep::Busy);
    assert!(poll.await.unwrap().is_empty());
    let shown = admin.get(&format!("/jobs/{id}")).await.expect(200);
    assert_eq!(shown["state"], "pending");
    server.stop().await;
}

/// Waits until `n` robots are parked on the server's dispatcher.
async fn wait_parked(server: &crate::common::TestServer, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.state.dispatcher.parked() < n {
        assert!(Instant::now() < deadline, "{n} robots never parked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
