//! RPO per source: the dashboard shows each source green or red against its RPO, and the
//! monitor raises one `RpoMissed` per miss — not one per pass — and again after the source
//! recovered and missed once more.

use chrono::Duration;
use coffer::db::schema::backup_records::dsl;
use coffer::db::{LogEntry, LogFilter};
use coffer::domain::Role;
use coffer::monitor::check_once;
use diesel::prelude::*;

use super::harness::{Browser, TestConsole};
use crate::helpers::BOTH;

/// The notify entries in the audit log that speak of an RPO.
fn rpo_alerts(console: &TestConsole) -> Vec<String> {
    let filter = LogFilter {
        operation: Some("notify".into()),
        ..LogFilter::default()
    };
    LogEntry::list(&mut console.app.conn().unwrap(), &filter)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .filter(|m| m.contains("RPO"))
        .collect()
}

/// The dashboard row class of source `files`: `rpo-met` or `rpo-missed`.
fn row_class(viewer: &Browser) -> String {
    let page = viewer.page("/");
    let at = page.find("data-source=\"files\"").expect("a row for files");
    let row_start = page[..at].rfind("<tr").unwrap();
    let row = &page[row_start..at];
    let class = row.split("class=\"").nth(1).unwrap();
    class[..class.find('"').unwrap()].to_string()
}

fn back_up(console: &TestConsole, operator: &Browser) {
    let response = operator.post("/backups", &[("scope", "all"), ("kind", "full")]);
    assert_eq!(response.status(), 303);
    console.run_pending_jobs();
}

/// Moves every backup `by` into the past, as if it had been made then.
fn age_backups(console: &TestConsole, by: Duration) {
    let mut conn = console.app.conn().unwrap();
    let rows: Vec<(String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> =
        dsl::backup_records
            .select((dsl::id, dsl::created_at, dsl::finished_at))
            .load(&mut *conn)
            .unwrap();
    for (id, created, finished) in rows {
        diesel::update(dsl::backup_records.find(id))
            .set((
                dsl::created_at.eq(created - by),
                dsl::finished_at.eq(finished.map(|f| f - by)),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
}

#[test]
fn rpo_is_green_or_red_and_each_miss_raises_one_alert() {
    for backend in &BOTH {
        let console = TestConsole::start_with(backend, |s| s.sources[0].rpo_minutes = 60);
        let viewer = console.login_as(Role::Viewer);
        let operator = console.login_as(Role::Operator);

        // Never backed up: red, but nothing to count from yet, so no alert.
        assert_eq!(row_class(&viewer), "rpo-missed");
        assert!(check_once(&console.app, coffer::db::now())
            .rpo_missed
            .is_empty());

        back_up(&console, &operator);
        assert_eq!(row_class(&viewer), "rpo-met");
        assert!(viewer.page("/").contains("1 h"), "the RPO is shown");
        assert!(check_once(&console.app, coffer::db::now())
            .rpo_missed
            .is_empty());
        assert!(rpo_alerts(&console).is_empty());

        // Two hours later the source is past its one-hour RPO: red, one alert.
        age_backups(&console, Duration::hours(2));
        assert_eq!(row_class(&viewer), "rpo-missed");
        let now = coffer::db::now();
        assert_eq!(check_once(&console.app, now).rpo_missed, vec!["files"]);
        for minute in 1..4 {
            let later = now + Duration::minutes(minute);
            assert!(check_once(&console.app, later).rpo_missed.is_empty());
        }
        let alerts = rpo_alerts(&console);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(
            alerts[0].contains("`files`") && alerts[0].contains("RPO 1h"),
            "{alerts:?}"
        );

        // A fresh backup ends the miss; the next miss alerts again.
        back_up(&console, &operator);
        assert_eq!(row_class(&viewer), "rpo-met");
        assert!(check_once(&console.app, coffer::db::now())
            .rpo_missed
            .is_empty());
        let much_later = coffer::db::now() + Duration::hours(3);
        assert_eq!(
            check_once(&console.app, much_later).rpo_missed,
            vec!["files"]
        );
        assert_eq!(rpo_alerts(&console).len(), 2);
    }
}
