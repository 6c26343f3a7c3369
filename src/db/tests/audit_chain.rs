//! The audit log's hash chain in the database: appends under the head's lock from several
//! connections and pools, entries from before the chain chained once, retention.

use std::sync::{Arc, Barrier};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{each_backend, TestDatabase};
use crate::db::{
    open, revert_last_migration, run_migrations, AuditHead, DbConnection, LogEntry, LogFilter,
    NewLogEntry,
};
use crate::domain::audit_chain::{ChainBreak, ChainWalker, GENESIS};
use crate::domain::LogLevel;

/// Walks the whole chain as `coffer audit verify` does (without storage).
fn walk(conn: &mut DbConnection) -> Result<u64, ChainBreak> {
    let head = AuditHead::get(conn).expect("head");
    let mut walker = ChainWalker::new(&head.start());
    for entry in LogEntry::list_chain(conn, head.start_seq, i64::MAX).expect("chain") {
        walker.push(&entry.link())?;
    }
    walker.finish(head.seq, &head.hash)?;
    if let Some(stray) = LogEntry::list_unchained(conn, 1)
        .expect("unchained")
        .first()
    {
        walker.push(&stray.link())?;
    }
    Ok(walker.walked())
}

fn entry(message: &str) -> NewLogEntry {
    NewLogEntry::new(LogLevel::Info, "test", message).by("alice")
}

#[test]
fn appends_link_each_entry_to_the_one_before() {
    each_backend(|conn, backend| {
        let first = LogEntry::insert(conn, &entry("one")).expect("insert");
        let second = LogEntry::insert(conn, &entry("two")).expect("insert");
        assert_eq!(first.seq, Some(1), "{backend:?}");
        assert_eq!(first.prev_hash.as_deref(), Some(GENESIS));
        assert_eq!(second.seq, Some(2));
        assert_eq!(second.prev_hash, first.hash);
        let stored = LogEntry::list(conn, &LogFilter::default()).expect("list");
        assert_eq!(
            stored[0], second,
            "{backend:?}: the returned entry is the stored one"
        );
        assert_eq!(walk(conn), Ok(2));
        let head = AuditHead::get(conn).expect("head");
        assert_eq!((head.seq, Some(head.hash)), (2, second.hash));
    });
}

/// Two pools on one database stand for two processes (each its own connections); two
/// threads on each append at the same moment. Without the head's lock positions repeat
/// (a unique-index error) or two entries link to the same predecessor (a fork).
#[test]
fn concurrent_appends_from_two_pools_keep_one_chain() {
    for make in [TestDatabase::sqlite, TestDatabase::postgres] {
        let db = make().expect("test database");
        let pools = [
            open(db.url()).expect("pool 1"),
            open(db.url()).expect("pool 2"),
        ];
        let start = Arc::new(Barrier::new(4));
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let pool = pools[writer % 2].clone();
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    let mut conn = pool.get().expect("connection");
                    start.wait();
                    for i in 0..50 {
                        LogEntry::insert(&mut conn, &entry(&format!("{writer}/{i}")))
                            .unwrap_or_else(|e| panic!("writer {writer}: {e}"));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer thread");
        }
        let mut conn = pools[0].get().expect("connection");
        assert_eq!(walk(&mut conn), Ok(200), "{:?}", db.backend());
        let seqs: Vec<i64> = LogEntry::list_chain(&mut conn, 0, 1000)
            .expect("chain")
            .iter()
            .map(|e| e.seq.unwrap())
            .collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    }
}

/// Back to the schema before the chain, entries written there, migrated again: the start-up
/// chains them, once; an entry slipped in later is never chained (it stays a forgery).
#[test]
fn entries_from_before_the_chain_are_chained_once() {
    each_backend(|conn, backend| {
        loop {
            let version = revert_last_migration(conn).expect("revert a migration");
            if version.ends_with("000025") {
                break;
            }
        }
        for message in ["old one", "old two"] {
            diesel::sql_query(format!(
                "INSERT INTO backup_logs (created_at, level, operation, message) \
                 VALUES ('2025-06-01 10:00:00', 'info', 'login', '{message}')"
            ))
            .execute(conn)
            .expect("an entry of the old schema");
        }
        run_migrations(conn).expect("migrate again");
        assert_eq!(
            AuditHead::seal_legacy(conn).expect("seal"),
            2,
            "{backend:?}"
        );
        assert_eq!(walk(conn), Ok(2), "{backend:?}");
        LogEntry::insert(conn, &entry("new")).expect("insert");
        assert_eq!(walk(conn), Ok(3));

        diesel::sql_query(
            "INSERT INTO backup_logs (created_at, level, operation, message) \
             VALUES ('2025-06-02 10:00:00', 'info', 'login', 'forged')",
        )
        .execute(conn)
        .expect("a row written around Coffer");
        assert_eq!(AuditHead::seal_legacy(conn).expect("seal"), 0, "only once");
        let brk = walk(conn).expect_err("the forged row is reported");
        assert_eq!(brk.kind, crate::domain::audit_chain::BreakKind::Unchained);
    });
}

fn at(minutes: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(1_750_000_000, 0)
        .expect("time")
        .naive_utc()
        + Duration::minutes(minutes)
}

#[test]
fn retention_removes_a_prefix_and_moves_the_start() {
    each_backend(|conn, backend| {
        let mut written = Vec::new();
        for minutes in 0..4 {
            let mut new = entry(&format!("at {minutes}"));
            new.created_at = at(minutes);
            written.push(LogEntry::insert(conn, &new).expect("insert"));
        }
        assert_eq!(LogEntry::delete_older_than(conn, at(2)).expect("prune"), 2);
        let head = AuditHead::get(conn).expect("head");
        assert_eq!(head.start_seq, 2, "{backend:?}");
        assert_eq!(Some(head.start_hash), written[1].hash.clone());
        assert_eq!(walk(conn), Ok(2), "{backend:?}");
    });
}
