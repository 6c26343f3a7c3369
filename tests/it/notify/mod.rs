//! Notifications end to end with real peers on loopback: a failed backup is mailed (aiosmtpd)
//! and posted (a webhook receiver) while a dead channel is retried and logged; `coffer notify
//! test` says which channels got it; jobs raise their events.

pub mod receivers;

use std::fs;

use coffer::db::{LogEntry, LogFilter};
use receivers::{closed_port, SmtpServer, WebhookReceiver};
use serde_json::Value;

use crate::helpers::*;

/// Appends a `[notify]` section to the environment's config.
fn configure(env: &TestEnv, notify: &str) {
    let text = fs::read_to_string(&env.config).unwrap();
    fs::write(&env.config, format!("{text}\n{notify}\n")).unwrap();
}

fn email_section(smtp: &SmtpServer) -> String {
    format!(
        "[notify.email]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Coffer <coffer@example.test>\"\nto = [\"ops@example.test\", \"oncall@example.test\"]\n",
        smtp.port
    )
}

fn webhook_section(name: &str, url: &str, format: &str) -> String {
    format!("[[notify.webhooks]]\nname = \"{name}\"\nurl = \"{url}\"\nformat = \"{format}\"\n")
}

/// The `notify` audit entries about `channel`, oldest first, as (message, details).
fn attempts(env: &TestEnv, channel: &str) -> Vec<(LogEntry, Value)> {
    let app = env.app();
    let filter = LogFilter {
        operation: Some("notify".into()),
        ..LogFilter::default()
    };
    let mut entries: Vec<(LogEntry, Value)> = LogEntry::list(&mut app.conn().unwrap(), &filter)
        .unwrap()
        .into_iter()
        .filter_map(|e| {
            let details = e.details().unwrap()?;
            (details["channel"] == channel).then_some((e, details))
        })
        .collect();
    entries.sort_by_key(|(e, d)| (e.created_at, d["attempt"].as_u64()));
    entries
}

/// The text of a received message with quoted-printable soft breaks and escapes undone.
fn decoded(message: &str) -> String {
    let unfolded = message.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = unfolded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_failed_backup_is_mailed_and_posted_while_a_dead_channel_is_retried() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let smtp = SmtpServer::start(env.dir.path());
    let hook = WebhookReceiver::start(200);
    let dead = format!("http://127.0.0.1:{}/hooks/D3AD", closed_port());
    configure(
        &env,
        &format!(
            "[notify]\nretries = 2\nbackoff_base_ms = 1000\ntimeout_seconds = 5\n{}{}{}",
            email_section(&smtp),
            webhook_section("ops", &hook.url, "json"),
            webhook_section("dead", &dead, "json"),
        ),
    );
    fs::remove_dir_all(env.path("files")).unwrap();
    env.fails(&["backup"]);
    let listed = env.json(&["list"]);
    let (name, error) = (
        listed[0]["name"].as_str().unwrap().to_string(),
        listed[0]["error"].as_str().unwrap().to_string(),
    );
    assert_eq!(listed[0]["status"], "failed");

    // The command waited for delivery before it exited: everything is there already.
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = decoded(&messages[0]);
    assert!(
        mail.contains("To: ops@example.test, oncall@example.test"),
        "{mail}"
    );
    assert!(mail.contains("Subject: [Coffer] Backup"), "{mail}");
    assert!(mail.contains(&format!("name: {name}")), "{mail}");
    assert!(mail.contains(&format!("error: {error}")), "{mail}");

    let posted = hook.next().expect("the webhook got the event");
    assert!(
        posted.request_line.starts_with("POST /hooks/T0KEN "),
        "{posted:?}"
    );
    assert_eq!(posted.content_type, "application/json");
    assert_eq!(posted.body["event"], "backup_failed");
    assert_eq!(posted.body["name"], name);
    assert_eq!(posted.body["error"], error);
    assert_eq!(posted.body["backup_id"], listed[0]["id"]);
    assert!(hook.pending().is_empty(), "delivered once");

    // The dead channel: three attempts (1 + 2 retries), each logged, then given up.
    let dead_log = attempts(&env, "webhook:dead");
    assert_eq!(dead_log.len(), 3, "{dead_log:?}");
    for (n, (entry, details)) in dead_log.iter().enumerate() {
        assert_eq!(details["attempt"], n as u64 + 1);
        assert_eq!(details["ok"], false);
        assert_eq!(details["event"], "backup_failed");
        assert!(
            !entry.message.contains("D3AD"),
            "no URL in logs: {}",
            entry.message
        );
    }
    assert!(
        dead_log[0].0.message.contains("retrying in 1 s"),
        "{}",
        dead_log[0].0.message
    );
    assert!(dead_log[1].0.message.contains("retrying in 2 s"));
    assert!(dead_log[2].0.message.contains("giving up"));
    // Back-off: 1 s then 2 s between the attempts.
    let span = dead_log[2].0.created_at - dead_log[0].0.created_at;
    assert!(span >= chrono::Duration::milliseconds(2900), "{span}");

    // The others delivered at the first attempt, without waiting for the dead one.
    for channel in ["email", "webhook:ops"] {
        let log = attempts(&env, channel);
        assert_eq!(log.len(), 1, "{channel}: {log:?}");
        assert_eq!(log[0].1["ok"], true, "{channel}");
        assert!(log[0].0.message.contains("delivered (attempt 1 of 3)"));
        assert!(log[0].0.created_at < dead_log[2].0.created_at, "{channel}");
    }
}

#[test]
fn notify_test_reports_each_channel_and_fails_when_one_does() {
    let env = TestEnv::with_directory(&Backend::Postgres);
    let none = env.fails(&["notify", "test"]);
    assert!(
        none.contains("no notification channels are configured"),
        "{none}"
    );

    let smtp = SmtpServer::start(env.dir.path());
    let chat = WebhookReceiver::start(200);
    let broken = WebhookReceiver::start(500);
    configure(
        &env,
        &format!(
            "[notify]\nretries = 3\nbackoff_base_ms = 10\n{}{}{}",
            email_section(&smtp),
            webhook_section("chat", &chat.url, "slack"),
            webhook_section("broken", &broken.url, "json"),
        ),
    );
    let out = env.command(&["notify", "test", "--json"]).output().unwrap();
    assert!(!out.status.success(), "a failed channel fails the command");
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = |channel: &str| {
        reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["channel"] == channel)
            .unwrap_or_else(|| panic!("{channel} in {reports}"))
            .clone()
    };
    assert_eq!(report("email")["delivered"], true);
    assert_eq!(report("webhook:chat")["delivered"], true);
    assert_eq!(report("webhook:broken")["delivered"], false);
    assert!(report("webhook:broken")["error"]
        .as_str()
        .unwrap()
        .contains("HTTP 500"));
    assert!(!reports.to_string().contains("T0KEN"), "no URL shown");

    let text = chat.next().unwrap().body;
    assert_eq!(text.as_object().unwrap().len(), 1, "{text}");
    assert!(text["text"].as_str().unwrap().contains("Test notification"));
    assert_eq!(broken.next().unwrap().body["event"], "test");
    assert!(
        broken.pending().is_empty(),
        "a test is one attempt, no retries"
    );
    let mail = decoded(&smtp.wait_for(1)[0]);
    assert!(mail.contains("Test notification from Coffer"), "{mail}");

    let plain = env.fails(&["notify", "test"]);
    assert!(plain.contains("webhook:broken"), "{plain}");
}

#[test]
fn a_restore_raises_restore_finished_and_successes_stay_quiet_by_default() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a.txt"), "a").unwrap();
    let hook = WebhookReceiver::start(200);
    configure(&env, &webhook_section("ops", &hook.url, "json"));
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let target = env.path("restored");
    env.ok(&["restore", id, "--target", target.to_str().unwrap(), "--yes"]);
    let got = hook.next().expect("restore_finished posted");
    assert_eq!(
        got.body["event"], "restore_finished",
        "backup_succeeded is off by default"
    );
    assert_eq!(got.body["backup_id"], id);
    let summary = got.body["summary"].as_str().unwrap();
    assert!(
        summary.contains("restored") && summary.contains(backup["name"].as_str().unwrap()),
        "{summary}"
    );
    assert!(hook.pending().is_empty());
}
