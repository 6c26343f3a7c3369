//! Faults under the real `coffer serve`, caused for real: a filesystem that fills up (a
//! tmpfs) and the queue's PostgreSQL server stopped and started again. Work resumes by
//! itself, nothing is lost, and meanwhile `/ready` says so, a metric shows it, one alert is
//! sent and writes are refused with a clear status while pages can still be read.

mod database_restart;
mod full_disk;
mod tmpfs;

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use serde_json::Value;

use crate::helpers::TestEnv;
use crate::notify::receivers::{Received, WebhookReceiver};
use crate::serve_process::ServeProcess;
use crate::web::harness::{location, Browser};

const ADMIN_PASSWORD: &str = "fault test password 7";

/// Replaces the line starting with `key = ` in the environment's config, and appends `extra`.
fn configure(env: &TestEnv, key: &str, value: &str, extra: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no `{key}` in the config"));
    *line = format!("{key} = \"{value}\"");
    std::fs::write(&env.config, format!("{}\n{extra}\n", lines.join("\n"))).unwrap();
}

/// What every fault test adds to the config: heartbeats each second (a fault is noticed
/// at once) and a webhook to `hook`.
fn fault_settings(hook: &WebhookReceiver) -> String {
    format!(
        "[workers]\nheartbeat_timeout_seconds = 3\n\n[notify]\nretries = 0\n\
         [[notify.webhooks]]\nname = \"ops\"\nurl = \"{}\"\nformat = \"json\"\n",
        hook.url
    )
}

/// The first admin, signed in to `serve`.
fn sign_in(serve: &ServeProcess) -> Browser {
    let mut browser = Browser {
        client: crate::helpers::http_client()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        base: serve.url(""),
        csrf: String::new(),
    };
    let response = browser.login("admin", ADMIN_PASSWORD);
    assert_eq!(response.status(), 303, "sign-in");
    browser.refresh_csrf("/");
    browser
}

/// Posts the backup form; returns the status and, on success, the backup id.
fn create_backup(browser: &Browser) -> (u16, String) {
    let response = browser.post("/backups", &[("scope", "all"), ("kind", "full")]);
    let status = response.status().as_u16();
    let target = location(&response);
    let body = response.text().unwrap_or_default();
    match target.strip_prefix("/backups/") {
        Some(id) if status == 303 => (status, id.to_string()),
        _ => (status, body),
    }
}

/// `/ready`'s status and body.
fn ready(browser: &Browser) -> (u16, Value) {
    let response = browser.get("/ready");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// The value of an unlabelled sample in `/metrics`.
fn metric(browser: &Browser, name: &str) -> f64 {
    let text = browser.page("/metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Waits until `done` holds, polling every 200 ms; panics with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until every backup in `ids` has ended; returns their statuses from the catalogue.
fn wait_for_backups(env: &TestEnv, ids: &[String], limit: Duration) -> Vec<String> {
    let mut statuses = Vec::new();
    wait_until(limit, "the queued backups ran", || {
        let listed = env.json(&["list"]);
        let all = listed
            .as_array()
            .or_else(|| listed["backups"].as_array())
            .cloned()
            .unwrap_or_default();
        statuses = ids
            .iter()
            .map(|id| {
                all.iter()
                    .find(|b| b["id"] == id.as_str())
                    .map(|b| b["status"].as_str().unwrap_or("").to_string())
                    .unwrap_or_default()
            })
            .collect();
        statuses
            .iter()
            .all(|s| matches!(s.as_str(), "success" | "failed" | "cancelled"))
    });
    statuses
}

/// The `workers_stopped` alerts the webhook received (waiting a little for late ones).
fn worker_alerts(hook: &WebhookReceiver) -> Vec<Received> {
    std::thread::sleep(Duration::from_secs(1));
    hook.pending()
        .into_iter()
        .filter(|r| r.body["event"] == "workers_stopped")
        .collect()
}

/// The serve log, to explain a failure.
fn serve_log(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path("serve.log")).unwrap_or_default()
}
