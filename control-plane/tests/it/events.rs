//! `GET /api/v1/events`: a job's events in order, resume by `Last-Event-ID`, tenant
//! isolation, filters, the heartbeat, and the robot events.

use serde_json::{Value, json};

use crate::common::sse::{Frame, Sse};
use crate::common::{Backend, Client, TestServer, until_served};
use crate::on_both_backends;
use crate::robot_api::{GREET, complete, lease_now, push, robot, start_job};
use crate::tokens::{mint, second_tenant};

on_both_backends!(
    a_jobs_events_come_in_order_and_resume_after_the_last_event_id,
    the_stream_shows_only_the_callers_tenant,
    kinds_and_jobs_filter_the_stream_and_bad_filters_are_400,
    a_quiet_stream_sends_heartbeats,
    robots_say_when_they_are_online_busy_and_offline,
);

/// Sends step events for a leased job.
pub async fn report(robot: &Client, job: &Value, seqs: &[i64]) {
    let events: Vec<Value> = seqs
        .iter()
        .map(|seq| json!({"seq": seq, "event": {"event": "log", "message": format!("line {seq}")}}))
        .collect();
    let path = format!("/robot/jobs/{}/events", job["job_id"]);
    let body = json!({"lease_token": job["lease_token"], "events": events});
    until_served(|| robot.post(&path, body.clone()))
        .await
        .expect(200);
}

fn kinds(events: &[(i64, String, Value)]) -> Vec<&str> {
    events.iter().map(|(_, kind, _)| kind.as_str()).collect()
}

async fn a_jobs_events_come_in_order_and_resume_after_the_last_event_id(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let bot = robot(&server, "r1", &[]).await;
    let mut stream = Sse::open(&server, &server.admin_token, "kind=job", None)
        .await
        .ok()
        .expect("a stream");
    let id = start_job(&admin, "greet", json!({})).await;
    let leased = lease_now(&bot, 1).await;
    assert_eq!(leased[0]["job_id"], id);
    report(&bot, &leased[0], &[1, 2]).await;
    // A replayed batch is stored once and streamed once.
    report(&bot, &leased[0], &[2, 3]).await;
    complete(
        &bot,
        &leased[0],
        json!({"outcome": "succeeded", "outputs": {"n": 1}}),
    )
    .await
    .expect(200);

    let events = stream.events(6).await;
    assert_eq!(
        kinds(&events),
        [
            "job.created",
            "job.state_changed",
            "job.step",
            "job.step",
            "job.step",
            "job.state_changed"
        ]
    );
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0), "ids grow");
    for (event_id, kind, data) in &events {
        assert_eq!(data["id"], *event_id);
        assert_eq!(data["kind"], kind.as_str());
        assert_eq!(data["job_id"], id);
        assert!(data["at"].as_str().unwrap().contains('T'), "{data}");
    }
    assert_eq!(events[0].2["data"]["state"], "pending");
    assert_eq!(events[0].2["data"]["workflow_name"], "greet");
    assert_eq!(events[1].2["data"]["state"], "running");
    assert_eq!(events[1].2["data"]["attempt"], 1);
    let seqs: Vec<&Value> = events[2..5].iter().map(|e| &e.2["data"]["seq"]).collect();
    assert_eq!(seqs, [&json!(1), &json!(2), &json!(3)]);
    assert_eq!(events[4].2["data"]["event"]["message"], "line 3");
    assert_eq!(events[5].2["data"]["state"], "succeeded");
    assert_eq!(events[5].2["data"]["outputs"], json!({"n": 1}));

    // A client that saw the first two resumes with the third, in the same order.
    let second = events[1].0.to_string();
    let mut resumed = Sse::open(&server, &server.admin_token, "kind=job", Some(&second))
        .await
        .ok()
        .expect("a stream");
    let rest = resumed.events(4).await;
    assert_eq!(rest, events[2..].to_vec());
    // `after` does the same for clients that cannot send headers; 0 is from the start.
    let mut replay = Sse::open(&server, &server.admin_token, "after=0&kind=job", None)
        .await
        .ok()
        .expect("a stream");
    assert_eq!(replay.events(6).await, events);
    // A new event reaches the resumed streams too, after what they replayed.
    let retried = admin
        .post(&format!("/jobs/{id}/retry"), json!({}))
        .await
        .expect_error(409, "conflict");
    assert!(retried["message"].as_str().unwrap().contains("succeeded"));
    let next = start_job(&admin, "greet", json!({})).await;
    for stream in [&mut stream, &mut resumed, &mut replay] {
        let (_, kind, data) = stream.event().await;
        assert_eq!(
            (kind.as_str(), &data["job_id"]),
            ("job.created", &json!(next))
        );
    }
    server.stop().await;
}

async fn the_stream_shows_only_the_callers_tenant(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let (_, other_token) = second_tenant(&server, "other").await;
    let other = server.client(&other_token);
    other
        .send_raw(
            reqwest::Method::POST,
            "/workflows",
            "application/json",
            GREET.into(),
        )
        .await
        .expect(201);
    let mine = start_job(&server.admin(), "greet", json!({})).await;
    // Theirs, from the start of the outbox: only their own job, never ours.
    let mut theirs = Sse::open(&server, &other_token, "after=0", None)
        .await
        .ok()
        .expect("a stream");
    let their_job = start_job(&other, "greet", json!({})).await;
    let (_, kind, data) = theirs.event().await;
    assert_eq!(
        (kind.as_str(), &data["job_id"]),
        ("job.created", &json!(their_job))
    );
    // Ours sees ours, then (after theirs was made) nothing of theirs before our next.
    let mut ours = Sse::open(&server, &server.admin_token, "after=0", None)
        .await
        .ok()
        .expect("a stream");
    let (_, _, data) = ours.event().await;
    assert_eq!(data["job_id"], mine);
    let later = start_job(&server.admin(), "greet", json!({})).await;
    let (_, _, data) = ours.event().await;
    assert_eq!(data["job_id"], later);
    // Another tenant's job is not found, as everywhere else.
    let refused = Sse::open(&server, &other_token, &format!("job={mine}"), None)
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 404);
    assert_eq!(refused.body["code"], "not_found");
    server.stop().await;
}

async fn kinds_and_jobs_filter_the_stream_and_bad_filters_are_400(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let viewer = mint(&admin, "viewer").await;
    let first = start_job(&admin, "greet", json!({})).await;
    let second = start_job(&admin, "greet", json!({})).await;
    admin
        .post(&format!("/jobs/{first}/cancel"), json!({}))
        .await
        .expect(200);
    admin
        .post(&format!("/jobs/{second}/cancel"), json!({}))
        .await
        .expect(200);
    // A viewer reads events: whoever reads jobs reads their events.
    let mut changes = Sse::open(&server, &viewer, "after=0&kind=job.state_changed", None)
        .await
        .ok()
        .expect("a stream");
    let events = changes.events(2).await;
    assert_eq!(kinds(&events), ["job.state_changed", "job.state_changed"]);
    assert_eq!(events[0].2["job_id"], first);
    assert_eq!(events[0].2["data"]["state"], "cancelled");
    assert_eq!(events[1].2["job_id"], second);
    let mut one_job = Sse::open(&server, &viewer, &format!("after=0&job={second}"), None)
        .await
        .ok()
        .expect("a stream");
    let events = one_job.events(2).await;
    assert_eq!(kinds(&events), ["job.created", "job.state_changed"]);
    assert!(events.iter().all(|e| e.2["job_id"] == second));
    // Several kinds, comma-separated.
    let mut both = Sse::open(
        &server,
        &viewer,
        "after=0&kind=job.created,job.state_changed",
        None,
    )
    .await
    .ok()
    .expect("a stream");
    assert_eq!(both.events(4).await.len(), 4);

    for (query, last, what) in [
        ("kind=job.nope", None, "job.nope"),
        ("kind=", None, "``"),
        ("after=-1", None, "`after`"),
        ("after=x", None, "`after`"),
        ("", Some("12abc"), "Last-Event-ID"),
        ("color=red", None, "color"),
    ] {
        let refused = Sse::open(&server, &viewer, query, last)
            .await
            .err()
            .unwrap_or_else(|| panic!("{query} streamed"));
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert_eq!(refused.body["code"], "invalid_request");
        let message = refused.body["message"].as_str().unwrap();
        assert!(message.contains(what), "{query}: {message}");
    }
    let refused = Sse::open(&server, &viewer, "kind=job.nope", None)
        .await
        .err()
        .unwrap();
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("job.state_changed"),
        "the message lists the kinds"
    );
    for job in ["abc", "999999"] {
        let refused = Sse::open(&server, &viewer, &format!("job={job}"), None)
            .await
            .err()
            .unwrap();
        assert_eq!(refused.status, 404, "{job}");
    }
    server.stop().await;
}

async fn a_quiet_stream_sends_heartbeats(backend: Backend) {
    let Some(server) = TestServer::start_with_config(backend, |c| c.event_heartbeat_ms = 100).await
    else {
        return;
    };
    let mut stream = Sse::open(&server, &server.admin_token, "", None)
        .await
        .ok()
        .expect("a stream");
    for _ in 0..3 {
        assert_eq!(stream.next().await, Frame::Comment("heartbeat".into()));
    }
    server.stop().await;
}

async fn robots_say_when_they_are_online_busy_and_offline(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let mut stream = Sse::open(&server, &server.admin_token, "kind=robot", None)
        .await
        .ok()
        .expect("a stream");
    let bot = robot(&server, "r1", &[]).await;
    // Registered, not yet online: its first call says it is.
    assert!(lease_now(&bot, 1).await.is_empty());
    start_job(&server.admin(), "greet", json!({})).await;
    let leased = lease_now(&bot, 1).await;
    // A second call while online says nothing new.
    assert!(lease_now(&bot, 1).await.is_empty());
    complete(&bot, &leased[0], json!({"outcome": "succeeded"}))
        .await
        .expect(200);
    bot.post("/robot/goodbye", json!({})).await.expect(204);
    assert!(lease_now(&bot, 1).await.is_empty());
    let events = stream.events(5).await;
    assert_eq!(
        kinds(&events),
        [
            "robot.online",
            "robot.busy",
            "robot.online",
            "robot.offline",
            "robot.online"
        ]
    );
    for (_, _, data) in &events {
        assert_eq!(data["data"]["name"], "r1");
        assert!(data["data"]["robot_id"].is_string());
        assert!(data.get("job_id").is_none(), "{data}");
    }
    server.stop().await;
}
