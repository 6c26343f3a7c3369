//! `GET /metrics`: a scraper with a viewer's API token reads Prometheus text that a real
//! text-format parser accepts, and the figures move as backups run; without a token, 401.

use coffer::domain::Role;
use prometheus_parse::{Scrape, Value};

use super::harness::TestConsole;
use super::users::issue_token;
use crate::helpers::BOTH;

/// Scrapes `/metrics` with `token` and parses it.
pub fn scrape(console: &TestConsole, token: &str) -> Scrape {
    let response = crate::helpers::http_client()
        .build()
        .unwrap()
        .get(console.url("/metrics"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().unwrap();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("coffer_"), "prefix: {line}");
    }
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text format")
}

/// The value of `metric` whose labels include `labels`.
pub fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => panic!("no summaries expected"),
        })
}

#[test]
fn metrics_parse_and_move_as_backups_run() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        assert_eq!(console.anonymous().get("/metrics").status(), 401);
        let admin = console.login_as(Role::Admin);
        console.add_user("prom", Role::Viewer);
        let token = issue_token(&console, &admin, "prom");

        let before = scrape(&console, &token);
        for metric in [
            "coffer_backups",
            "coffer_backup_size_bytes",
            "coffer_backup_duration_seconds",
            "coffer_source_rpo_seconds",
            "coffer_tasks_running",
            "coffer_queue_depth",
            "coffer_written_bytes_total",
            "coffer_verification_failures_total",
            "coffer_notifications_total",
            "coffer_storage_free_bytes",
        ] {
            assert!(before.docs.contains_key(metric), "HELP for {metric}");
        }
        let success_full = [("status", "success"), ("kind", "full")];
        assert_eq!(value(&before, "coffer_backups", &success_full), Some(0.0));
        assert_eq!(value(&before, "coffer_written_bytes_total", &[]), Some(0.0));
        let files = [("source", "files")];
        assert_eq!(
            value(&before, "coffer_source_rpo_seconds", &files),
            Some(26.0 * 3600.0)
        );
        assert_eq!(
            value(&before, "coffer_source_rpo_missed", &files),
            Some(1.0)
        );
        assert_eq!(
            value(
                &before,
                "coffer_source_last_success_timestamp_seconds",
                &files
            ),
            None
        );

        let operator = console.login_as(Role::Operator);
        assert_eq!(
            operator
                .post("/backups", &[("scope", "all"), ("kind", "full")])
                .status(),
            303
        );
        let queued = scrape(&console, &token);
        assert_eq!(value(&queued, "coffer_queue_depth", &[]), Some(1.0));
        console.run_pending_jobs();

        let after = scrape(&console, &token);
        assert_eq!(value(&after, "coffer_backups", &success_full), Some(1.0));
        assert_eq!(value(&after, "coffer_queue_depth", &[]), Some(0.0));
        let written = value(&after, "coffer_written_bytes_total", &[]).unwrap();
        assert!(written > 0.0, "bytes written moved: {written}");
        assert_eq!(
            value(&after, "coffer_backup_size_bytes_count", &[]),
            Some(1.0)
        );
        assert_eq!(
            value(&after, "coffer_backup_duration_seconds_count", &[]),
            Some(1.0)
        );
        assert_eq!(value(&after, "coffer_source_rpo_missed", &files), Some(0.0));
        let at = value(
            &after,
            "coffer_source_last_success_timestamp_seconds",
            &files,
        )
        .unwrap();
        let now = chrono::Utc::now().timestamp() as f64;
        assert!(
            (now - at).abs() < 120.0,
            "last success {at} is about now {now}"
        );
        let age = value(&after, "coffer_source_rpo_age_seconds", &files).unwrap();
        assert!((0.0..120.0).contains(&age), "{age}");
        let unverified = [("verification", "unverified")];
        assert_eq!(
            value(
                &after,
                "coffer_backups_succeeded_by_verification",
                &unverified
            ),
            Some(1.0)
        );
    }
}
