//! The monitor's verification schedule (deep when due, else quick, skipping backups verified
//! recently or already being verified; the dashboard counts verified backups apart) and the
//! storage alert (once per crossing of the threshold).

use chrono::Duration;
use coffer::db::{LogEntry, LogFilter, Task};
use coffer::domain::{Role, VerifyDepth};
use coffer::monitor::check_once;

use super::harness::TestConsole;
use crate::helpers::BOTH;

fn depths(tasks: &[Task]) -> Vec<VerifyDepth> {
    tasks
        .iter()
        .map(|t| serde_json::from_value(t.params().unwrap().unwrap()["depth"].clone()).unwrap())
        .collect()
}

fn figure(page: &str, id: &str) -> String {
    let at = page.find(&format!("id=\"{id}\">")).expect(id) + id.len() + 6;
    page[at..at + page[at..].find('<').unwrap()].to_string()
}

#[test]
fn verifications_run_on_schedule_and_skip_recent_ones() {
    for backend in &BOTH {
        let console = TestConsole::start_with(backend, |s| {
            s.monitor.verify_quick_hours = 24;
            s.monitor.verify_deep_days = 7;
        });
        let operator = console.login_as(Role::Operator);
        for _ in 0..2 {
            assert_eq!(
                operator
                    .post("/backups", &[("scope", "all"), ("kind", "full")])
                    .status(),
                303
            );
            console.run_pending_jobs();
        }
        assert_eq!(figure(&operator.page("/"), "verified"), "0");

        // Never verified: a deep verification each (deep covers quick).
        let now = coffer::db::now();
        let first = check_once(&console.app, now).verifications;
        assert_eq!(depths(&first), vec![VerifyDepth::Deep, VerifyDepth::Deep]);
        // Already queued: not again.
        assert!(check_once(&console.app, now).verifications.is_empty());
        for task in &first {
            console.push_task(task);
        }
        console.run_pending_jobs();
        let page = operator.page("/");
        assert_eq!(
            (figure(&page, "succeeded"), figure(&page, "verified")),
            ("2".into(), "2".into())
        );

        // Verified just now: nothing due.
        assert!(check_once(&console.app, coffer::db::now())
            .verifications
            .is_empty());
        // A day later only the quick check is due; a week later the deep one again.
        let day = coffer::db::now() + Duration::hours(25);
        let quick = check_once(&console.app, day).verifications;
        assert_eq!(depths(&quick), vec![VerifyDepth::Quick, VerifyDepth::Quick]);
        for task in &quick {
            console.push_task(task);
        }
        console.run_pending_jobs();
        let week = coffer::db::now() + Duration::days(8);
        let deep = check_once(&console.app, week).verifications;
        assert_eq!(depths(&deep), vec![VerifyDepth::Deep, VerifyDepth::Deep]);
    }
}

fn storage_alerts(console: &TestConsole) -> usize {
    let filter = LogFilter {
        operation: Some("notify".into()),
        ..LogFilter::default()
    };
    LogEntry::list(&mut console.app.conn().unwrap(), &filter)
        .unwrap()
        .iter()
        .filter(|e| e.message.contains("storage is"))
        .count()
}

#[test]
fn storage_nearly_full_alerts_once_per_crossing() {
    for backend in &BOTH {
        // Any real file system is more than 0.001% full.
        let console = TestConsole::start_with(backend, |s| s.monitor.storage_full_percent = 0.001);
        let now = coffer::db::now();
        let usage = check_once(&console.app, now)
            .storage
            .expect("statvfs works");
        assert!(usage.total_bytes > 0 && usage.used_percent() > 0.001);
        check_once(&console.app, now + Duration::minutes(1));
        assert_eq!(storage_alerts(&console), 1, "once, not every pass");

        // The same catalogue seen with a threshold of 100%: below it, the alert is over…
        let mut relaxed = console.app.settings.clone();
        relaxed.monitor.storage_full_percent = 100.0;
        let other = coffer::jobs::startup::start(relaxed, coffer::app::KeyPolicy::FirstRunOnly)
            .unwrap()
            .app;
        check_once(&other, now + Duration::minutes(2));
        assert_eq!(storage_alerts(&console), 1);
        // …so crossing again alerts again.
        check_once(&console.app, now + Duration::minutes(3));
        assert_eq!(storage_alerts(&console), 2);
    }
}
