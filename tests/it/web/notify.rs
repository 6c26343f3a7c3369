//! Notifications in the console: the settings page lists the channels (no secrets), admins
//! send a test and see which channels got it; jobs run by the queue raise their events.

use coffer::domain::{BackupKind, Role, Scope, VerifyDepth};
use coffer::jobs::backup::{record_backup, BackupRequest};
use coffer::jobs::verify::{record_verify, VerifyRequest};

use super::harness::TestConsole;
use crate::helpers::{tester, Backend};
use crate::notify::receivers::{closed_port, WebhookReceiver};

fn notify_settings(text: &str) -> coffer::config::NotifySettings {
    let no_env = |_: &str| None;
    coffer::config::Settings::from_toml(text, "test", &no_env)
        .unwrap()
        .notify
}

#[test]
fn admins_send_a_test_notification_and_see_each_channel() {
    let hook = WebhookReceiver::start(200);
    let text = format!(
        "[notify]\nretries = 0\n[[notify.webhooks]]\nname = \"ops\"\nurl = \"{}\"\n[[notify.webhooks]]\nname = \"gone\"\nurl = \"http://127.0.0.1:{}/S3CRET\"\n",
        hook.url,
        closed_port()
    );
    let console = TestConsole::start_with(&Backend::Sqlite, |s| s.notify = notify_settings(&text));

    let viewer = console.login_as(Role::Viewer);
    let page = viewer.page("/settings");
    assert!(page.contains("webhook:ops"), "{page}");
    assert!(
        !page.contains("T0KEN") && !page.contains("S3CRET"),
        "no URL on the page"
    );
    assert!(
        !page.contains("Send test notification"),
        "viewers get no button"
    );

    let admin = console.login_as(Role::Admin);
    assert!(admin.page("/settings").contains("Send test notification"));
    let response = admin.post("/settings/notify/test", &[]);
    assert_eq!(response.status(), 200);
    let html = response.text().unwrap();
    let item = |channel: &str| {
        let start = html.find(&format!("data-channel=\"{channel}\"")).unwrap();
        html[start..start + html[start..].find("</li>").unwrap()].to_string()
    };
    assert!(item("webhook:ops").contains("delivered"), "{html}");
    assert!(item("webhook:gone").contains("failed"), "{html}");
    assert!(!html.contains("S3CRET"), "{html}");
    assert!(html.contains("<html"), "a whole page without htmx");
    let got = hook.next().unwrap();
    assert_eq!(got.body["event"], "test");
    assert!(got.body["requested_by"]
        .as_str()
        .unwrap()
        .starts_with("admin-"));

    let partial = admin
        .client
        .post(admin.url("/settings/notify/test"))
        .header("X-CSRF-Token", &admin.csrf)
        .header("HX-Request", "true")
        .send()
        .unwrap();
    assert_eq!(partial.status(), 200);
    let fragment = partial.text().unwrap();
    assert!(fragment.contains("id=\"notify-result\"") && !fragment.contains("<html"));
    assert_eq!(hook.next().unwrap().body["event"], "test");

    // Without the CSRF token nothing is sent.
    let forged = admin
        .client
        .post(admin.url("/settings/notify/test"))
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(hook.pending().is_empty());
}

#[test]
fn jobs_run_by_the_queue_raise_success_and_failed_verification() {
    let hook = WebhookReceiver::start(200);
    let text = format!(
        "[notify]\non_success = true\n[[notify.webhooks]]\nname = \"ops\"\nurl = \"{}\"\nevents = [\"backup_succeeded\", \"verification_failed\"]\n",
        hook.url
    );
    let console =
        TestConsole::start_with(&Backend::Postgres, |s| s.notify = notify_settings(&text));
    let (backup, task) = record_backup(
        &console.app,
        &BackupRequest::new(Scope::All, BackupKind::Full),
        &tester(),
    )
    .unwrap();
    console.push_task(&task);
    console.run_pending_jobs();
    let got = hook.next().expect("backup_succeeded posted");
    assert_eq!(got.body["event"], "backup_succeeded");
    assert_eq!(got.body["backup_id"], backup.id);

    // Damage the stored archive: a quick verification fails and says so.
    let stored =
        coffer::db::Backup::find_by_id(&mut console.app.conn().unwrap(), &backup.id).unwrap();
    let archive = console
        .env
        .path("backups")
        .join(stored.storage_key.unwrap());
    std::fs::write(&archive, b"not the archive").unwrap();
    let request = VerifyRequest::new(&backup.id, VerifyDepth::Quick);
    let task = record_verify(&console.app, &request, &tester()).unwrap();
    console.push_task(&task);
    console.run_pending_jobs();
    let got = hook.next().expect("verification_failed posted");
    assert_eq!(got.body["event"], "verification_failed");
    assert_eq!(got.body["name"], backup.name);
    assert!(
        got.body["error"].as_str().unwrap().contains("bytes"),
        "{:?}",
        got.body
    );
}
