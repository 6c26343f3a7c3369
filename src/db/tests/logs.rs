use chrono::{Duration, NaiveDateTime};

use super::each_backend;
use crate::db::{DbConnection, LogEntry, LogFilter, NewLogEntry};
use crate::domain::LogLevel;

fn at(minutes: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(1_750_000_000, 0)
        .expect("time")
        .naive_utc()
        + Duration::minutes(minutes)
}

fn write(conn: &mut DbConnection, minutes: i64, entry: NewLogEntry) -> LogEntry {
    let mut entry = entry;
    entry.created_at = at(minutes);
    LogEntry::insert(conn, &entry).expect("insert log entry")
}

fn messages(conn: &mut DbConnection, filter: &LogFilter) -> Vec<String> {
    LogEntry::list(conn, filter)
        .expect("list")
        .into_iter()
        .map(|e| e.message)
        .collect()
}

#[test]
fn the_audit_log_is_written_and_filtered_newest_first() {
    each_backend(|conn, backend| {
        let details = serde_json::json!({"sources": ["uploads"]});
        let first = write(
            conn,
            0,
            NewLogEntry::new(LogLevel::Info, "backup", "started")
                .by("alice")
                .for_backup("b1")
                .for_task("t1")
                .with_details(&details),
        );
        write(
            conn,
            1,
            NewLogEntry::new(LogLevel::Error, "backup", "failed")
                .by("alice")
                .for_backup("b1"),
        );
        write(
            conn,
            2,
            NewLogEntry::new(LogLevel::Info, "login", "signed in").by("bob"),
        );
        write(
            conn,
            3,
            NewLogEntry::new(LogLevel::Warning, "restore", "slow")
                .by("alice")
                .for_backup("b2"),
        );

        assert!(first.id > 0, "{backend:?}: ids come from the database");
        assert_eq!(first.level(), LogLevel::Info);
        assert_eq!(first.details().expect("details"), Some(details));
        assert_eq!(
            (first.task_id.as_deref(), first.created_at),
            (Some("t1"), at(0))
        );

        assert_eq!(
            messages(conn, &LogFilter::default()),
            ["slow", "signed in", "failed", "started"]
        );
        let by_op = LogFilter {
            operation: Some("backup".into()),
            ..Default::default()
        };
        assert_eq!(messages(conn, &by_op), ["failed", "started"], "{backend:?}");
        let by_user = LogFilter {
            username: Some("bob".into()),
            ..Default::default()
        };
        assert_eq!(messages(conn, &by_user), ["signed in"]);
        let errors = LogFilter {
            level: Some(LogLevel::Error),
            ..Default::default()
        };
        assert_eq!(messages(conn, &errors), ["failed"]);
        let of_backup = LogFilter {
            backup_id: Some("b1".into()),
            ..Default::default()
        };
        assert_eq!(messages(conn, &of_backup), ["failed", "started"]);
        let window = LogFilter {
            since: Some(at(1)),
            until: Some(at(3)),
            ..Default::default()
        };
        assert_eq!(
            messages(conn, &window),
            ["signed in", "failed"],
            "{backend:?}: since ≤ t < until"
        );
        let page = LogFilter {
            limit: Some(2),
            offset: Some(1),
            ..Default::default()
        };
        assert_eq!(messages(conn, &page), ["signed in", "failed"]);
        let combined = LogFilter {
            username: Some("alice".into()),
            since: Some(at(1)),
            ..Default::default()
        };
        assert_eq!(LogEntry::count(conn, &combined).expect("count"), 2);

        assert_eq!(
            LogEntry::delete_older_than(conn, at(2)).expect("retention"),
            2
        );
        assert_eq!(messages(conn, &LogFilter::default()), ["slow", "signed in"]);
    });
}
