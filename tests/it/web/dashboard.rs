//! The dashboard as a status board: per source its schedule, next run, last success, last
//! verification and last failure of any kind (a failed restore, an undelivered
//! notification) with the reason and a link to read more; each storage target's free space
//! and "estimated full" date (or why there is none); the chart's time axis telling its
//! ends apart.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use coffer::config::SourceSpec;
use coffer::db::schema::backup_records::dsl as backups;
use coffer::db::Task;
use coffer::domain::{Role, TaskKind};
use diesel::prelude::*;

use super::harness::{location, Browser, TestConsole};
use super::tasks::make_backup;
use crate::helpers::{Backend, BOTH};
use crate::notify::receivers::closed_port;

/// A console over `files` (service `app`) and a second folder `uploads`.
pub fn console_with_uploads(
    backend: &Backend,
    adjust: impl FnOnce(&mut coffer::config::Settings),
) -> TestConsole {
    TestConsole::start_with(backend, |settings| {
        let mut uploads = settings.sources[0].clone();
        let path = settings.sources[0]
            .path()
            .unwrap()
            .with_file_name("uploads");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("logo.png"), b"a logo").unwrap();
        uploads.name = "uploads".into();
        if let SourceSpec::Directory { path: p, .. } = &mut uploads.spec {
            *p = path;
        }
        settings.sources.push(uploads);
        adjust(settings);
    })
}

/// The `<tr>` of `source` in the board's first table.
pub fn source_row(page: &str, source: &str) -> String {
    let at = page
        .find(&format!("data-source=\"{source}\""))
        .unwrap_or_else(|| panic!("a row for {source}: {page}"));
    let start = page[..at].rfind("<tr").unwrap();
    let end = at + page[at..].find("</tr>").unwrap();
    page[start..end].to_string()
}

/// The text of the `<td class="{class}">` in `row`.
fn cell(row: &str, class: &str) -> String {
    let at = row
        .find(&format!("<td class=\"{class}\""))
        .unwrap_or_else(|| panic!("no {class} cell: {row}"));
    let end = at + row[at..].find("</td>").unwrap();
    row[at..end].to_string()
}

/// A daily backup schedule of `files` alone, through the settings form.
fn schedule_files(admin: &Browser) {
    let response = admin.post(
        "/settings/schedules",
        &[
            ("name", "nightly-files"),
            ("enabled", "on"),
            ("action", "backup"),
            ("frequency", "daily"),
            ("time", "02:30"),
            ("weekday", "sunday"),
            ("day", "1"),
            ("cron", ""),
            ("timezone", "UTC"),
            ("scope", "sources"),
            ("sources", "files"),
            ("kind", "full"),
            ("retention_days", "30"),
        ],
    );
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
}

/// Queues a restore of `files` into a new folder, then puts a plain file where that folder
/// would go, so the restore cannot write its target and fails. Returns the task's id.
pub fn failed_restore(console: &TestConsole, admin: &Browser, backup_id: &str) -> Task {
    let target = console.env.path("restore-here");
    let response = admin.post(
        &format!("/backups/{backup_id}/restore"),
        &[
            ("sources", "files"),
            ("target_dir", target.to_str().unwrap()),
            ("confirm", "yes"),
        ],
    );
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    let task_id = location(&response)
        .trim_start_matches("/tasks/")
        .to_string();
    std::fs::write(&target, "a file, not a folder").unwrap();
    console.run_pending_jobs();
    let task = Task::find_by_id(&mut console.app.conn().unwrap(), &task_id).unwrap();
    assert_eq!(task.kind().unwrap(), TaskKind::Restore);
    assert_eq!(task.status, "failed", "{task:?}");
    task
}

#[test]
fn each_source_shows_its_schedule_success_verification_and_last_failure() {
    for backend in &BOTH {
        let console = console_with_uploads(backend, |_| {});
        let admin = console.login_as(Role::Admin);
        let viewer = console.login_as(Role::Viewer);

        // Nothing yet: no schedule, never succeeded, never verified, no failure.
        let page = viewer.page("/");
        let files = source_row(&page, "files");
        assert!(cell(&files, "schedule").contains("no schedule"), "{files}");
        assert!(cell(&files, "last-success").contains("never"), "{files}");
        assert!(cell(&files, "last-verified").contains("never"), "{files}");
        assert!(cell(&files, "last-failure").contains("none"), "{files}");

        schedule_files(&admin);
        let backup_id = make_backup(&console);
        let verify = admin.post(
            &format!("/backups/{backup_id}/verify"),
            &[("depth", "quick")],
        );
        assert_eq!(verify.status(), 303, "{}", verify.text().unwrap());
        console.run_pending_jobs();
        let restore = failed_restore(&console, &admin, &backup_id);
        let reason = restore.error.clone().expect("the failed restore says why");

        let page = viewer.page("/");
        let files = source_row(&page, "files");
        let schedule = cell(&files, "schedule");
        assert!(
            schedule.contains("nightly-files (daily at 02:30)"),
            "{schedule}"
        );
        let next = schedule.split("class=\"next-run\">").nth(1).unwrap();
        let tomorrow_or_today = next.split(' ').next().unwrap();
        assert!(
            NaiveDate::parse_from_str(tomorrow_or_today, "%Y-%m-%d").is_ok(),
            "a next run: {schedule}"
        );
        assert!(cell(&files, "last-success").contains("just now"), "{files}");
        assert!(!cell(&files, "last-verified").contains("never"), "{files}");
        let failure = cell(&files, "last-failure");
        assert!(failure.contains("restore failed"), "{failure}");
        assert!(
            failure.contains(&format!("href=\"/tasks/{}\"", restore.id)),
            "{failure}"
        );
        let shown_reason = askama_escape(&reason);
        assert!(
            failure.contains(&shown_reason),
            "{shown_reason} in {failure}"
        );

        // `uploads` was backed up (scope all) but not restored, and no schedule names it.
        let uploads = source_row(&page, "uploads");
        assert!(
            cell(&uploads, "schedule").contains("no schedule"),
            "{uploads}"
        );
        assert!(cell(&uploads, "last-success").contains("just now"));
        assert!(cell(&uploads, "last-failure").contains("none"), "{uploads}");

        // The latest failures, any kind, with their sources.
        let latest = &page[page.find("id=\"latest-failures\"").expect("failures")..];
        assert!(latest.contains("data-kind=\"restore\""), "{latest}");
        assert!(latest.contains(&format!("href=\"/tasks/{}\"", restore.id)));
    }
}

/// askama's escaping of text, for finding a message on the page.
fn askama_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[test]
fn an_undelivered_notification_is_a_failure_of_the_sources_it_was_about() {
    let text = format!(
        "[notify]\nretries = 0\n[[notify.webhooks]]\nname = \"gone\"\nurl = \"http://127.0.0.1:{}/hook\"\n",
        closed_port()
    );
    let console = console_with_uploads(&Backend::Sqlite, |s| {
        s.notify = coffer::config::Settings::from_toml(&text, "test", &|_| None)
            .unwrap()
            .notify;
    });
    let admin = console.login_as(Role::Admin);
    let backup_id = make_backup(&console);
    failed_restore(&console, &admin, &backup_id);
    // The "restore failed" event goes out on the notifier's thread and is given up on.
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = admin.page("/");
        if page.contains("id=\"last-undelivered\"") || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let undelivered = &page[page.find("id=\"last-undelivered\"").expect("shown")..];
    assert!(undelivered.contains("webhook:gone"), "{undelivered}");
    let files = source_row(&page, "files");
    let failure = cell(&files, "last-failure");
    assert!(failure.contains("notification failed"), "{failure}");
    assert!(
        failure.contains("href=\"/audit?operation=notify"),
        "{failure}"
    );
    assert!(cell(&source_row(&page, "uploads"), "last-failure").contains("none"));
}

#[test]
fn each_storage_target_shows_free_space_and_when_it_fills() {
    let console = TestConsole::start(&Backend::Sqlite);
    let viewer = console.login_as(Role::Viewer);
    let storage = |page: &str| {
        let at = page.find("id=\"storage\"").expect("the storage table");
        page[at..at + page[at..].find("</table>").unwrap()].to_string()
    };
    let table = storage(&viewer.page("/"));
    assert!(table.contains("free of"), "{table}");
    assert!(table.contains("no successful backup yet"), "{table}");

    let backup_id = make_backup(&console);
    let table = storage(&viewer.page("/"));
    assert!(table.contains("backups go back 0 h only"), "{table}");

    // Ten days of history holding 10 GiB: 1 GiB a day fills the free space in as many
    // days as it has GiB free.
    {
        let mut conn = console.app.conn().unwrap();
        let ten_days_ago = coffer::db::now() - chrono::Duration::days(10);
        diesel::update(backups::backup_records.filter(backups::id.eq(&backup_id)))
            .set((
                backups::created_at.eq(ten_days_ago),
                backups::size_bytes.eq(10i64 << 30),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    let table = storage(&viewer.page("/"));
    let date = table
        .split("class=\"full-on\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap();
    let on = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .unwrap_or_else(|_| panic!("a date, not `{date}`: {table}"));
    let free = coffer::monitor::storage::usage(&console.env.path("backups"))
        .unwrap()
        .free_bytes;
    let expected = chrono::Utc::now().date_naive() + chrono::Duration::days((free >> 30) as i64);
    assert!(
        (on - expected).num_days().abs() <= 1,
        "{on} vs {expected}: {table}"
    );
    assert!(
        table.contains("growing 1.0 GiB/day over the last 30 days"),
        "{table}"
    );

    // Growth older than the window does not count.
    {
        let mut conn = console.app.conn().unwrap();
        let long_ago = coffer::db::now() - chrono::Duration::days(40);
        diesel::update(backups::backup_records.filter(backups::id.eq(&backup_id)))
            .set(backups::created_at.eq(long_ago))
            .execute(&mut *conn)
            .unwrap();
    }
    let table = storage(&viewer.page("/"));
    assert!(table.contains("no growth in the last 30 days"), "{table}");
}

#[test]
fn the_chart_time_axis_labels_its_two_ends_differently() {
    let console = TestConsole::start(&Backend::Sqlite);
    make_backup(&console);
    std::thread::sleep(Duration::from_millis(1100));
    make_backup(&console);
    let page = console.login_as(Role::Viewer).page("/");
    let labels: Vec<&str> = page
        .split("class=\"time-label\"")
        .skip(1)
        .map(|rest| {
            let text = &rest[rest.find('>').unwrap() + 1..];
            &text[..text.find('<').unwrap()]
        })
        .collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert_ne!(labels[0], labels[1], "both ends read the same");
}
