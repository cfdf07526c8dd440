//! `alq bench`: a small run on each database, checked for what it reports, and its bad
//! options.

use serde_json::Value;

use crate::common::control_plane::User;

/// A small bench: few jobs and polls, one run, short windows.
fn small_bench(user: &User, extra: &[&str]) -> Value {
    let mut args = vec![
        "bench",
        "--jobs",
        "300",
        "--robots",
        "4",
        "--parked",
        "200",
        "--latency-for",
        "1s",
        "--idle-for",
        "2s",
        "--runs",
        "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    let run = user.alq(&args);
    run.expect_code(0);
    run.json()
}

fn check(report: &Value, database: &str) {
    assert_eq!(report["database"], database, "{report:#}");
    for rate in [
        "enqueue_one_by_one",
        "enqueue_bulk",
        "drain_backlog",
        "drain_end_to_end",
    ] {
        let figure = &report[rate];
        assert!(
            figure["median"].as_f64().expect("a number") > 0.0,
            "{rate}: {report:#}"
        );
        assert_eq!(figure["runs"].as_array().expect("a list").len(), 1);
    }
    let p50 = report["latency_p50_ms"]["median"]
        .as_f64()
        .expect("a number");
    let p99 = report["latency_p99_ms"]["median"]
        .as_f64()
        .expect("a number");
    assert!(p50 > 0.0 && p99 >= p50, "{report:#}");
    let parked = &report["parked"];
    assert_eq!(parked["polls"], 200);
    assert!(
        parked["rss_parked_mib"].as_f64().expect("a number") > 1.0,
        "{report:#}"
    );
    // The point of the check: parked polls and an idle server run no query.
    assert_eq!(parked["database_uses_idle"], 0.0, "{report:#}");
}

#[test]
fn a_small_bench_on_sqlite_reports_every_figure() {
    let user = User::new();
    check(&small_bench(&user, &[]), "sqlite");
}

#[test]
fn a_small_bench_on_postgres_reports_every_figure() {
    let Some(url) = crate::common::service("ALQ_TEST_DATABASE_URL") else {
        return;
    };
    let user = User::new();
    check(&small_bench(&user, &["--database-url", &url]), "postgres");
}

#[test]
fn the_table_names_every_figure() {
    let user = User::new();
    let run = user.alq(&[
        "bench",
        "--jobs",
        "100",
        "--robots",
        "2",
        "--parked",
        "0",
        "--latency-for",
        "1s",
        "--runs",
        "1",
    ]);
    run.expect_code(0).stdout_has(&[
        "alq bench on sqlite",
        "enqueue, one job per request",
        "enqueue, 1,000 jobs per request",
        "drain a backlog",
        "drain end to end",
        "p50",
        "p99",
    ]);
    assert!(!run.stdout.contains("parked long-polls"), "{}", run.stdout);
}

#[test]
fn bad_options_are_usage_errors() {
    let user = User::new();
    user.alq(&["bench", "--idle-for", "55s"])
        .expect_code(2)
        .stderr_has(&["--idle-for must be under 50 s"]);
    user.alq(&["bench", "--database-url", "mysql://localhost/x"])
        .expect_code(2)
        .stderr_has(&["postgres://"]);
    user.alq(&["bench", "--robots", "0"]).expect_code(2);
    user.alq(&["bench", "--slots", "101"]).expect_code(2);
    user.alq(&["bench", "--latency-for", "soon"]).expect_code(2);
}

#[test]
fn an_unreachable_postgres_is_a_clear_failure() {
    let user = User::new();
    // Port 9 (discard) on loopback: nothing listens there.
    user.alq(&[
        "bench",
        "--database-url",
        "postgres://postgres@127.0.0.1:9/postgres",
        "--runs",
        "1",
    ])
    .expect_code(1)
    .stderr_has(&["cannot connect to PostgreSQL"]);
}
