use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::TestDatabase;
use crate::db::{
    open, write_transaction, Backend, DbConnection, DbError, LogEntry, LogFilter, NewLogEntry,
};
use crate::domain::LogLevel;

#[derive(QueryableByName)]
struct Pragma {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[test]
fn sqlite_connections_use_wal_and_foreign_keys() {
    let db = TestDatabase::sqlite().expect("test database");
    let pool = db.open().expect("open");
    // Two connections: settings must hold for every pooled connection, not only the first.
    let mut first = pool.get().expect("first connection");
    let mut second = pool.get().expect("second connection");
    for conn in [&mut *first, &mut *second] {
        let mode: Pragma = diesel::sql_query("PRAGMA journal_mode")
            .get_result(conn)
            .expect("pragma");
        assert_eq!(mode.journal_mode, "wal");
        let DbConnection::Sqlite(sqlite) = conn else {
            panic!("a SQLite URL gave a {:?} connection", conn.backend());
        };
        let keys: i32 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
            "(SELECT foreign_keys FROM pragma_foreign_keys)",
        ))
        .get_result(sqlite)
        .expect("foreign_keys");
        assert_eq!(keys, 1);
    }
}

/// Two threads, each on its own pooled connection, run `write` 200 times at the same moment,
/// on each backend (SQLite is the one where this used to fail with "database is locked").
fn write_concurrently(write: fn(&mut DbConnection, usize, usize) -> Result<(), DbError>) {
    TestDatabase::on_each_backend(|pool, backend| {
        let name = backend.name();
        let start = Arc::new(Barrier::new(2));
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let pool = pool.clone();
                let start = Arc::clone(&start);
                std::thread::spawn(move || -> Result<(), DbError> {
                    let mut conn = pool.get()?;
                    start.wait();
                    (0..200).try_for_each(|i| write(&mut conn, writer, i))
                })
            })
            .collect();
        for writer in writers {
            let result = writer.join().expect("writer thread");
            result.unwrap_or_else(|e| panic!("{name}: a concurrent write failed: {e}"));
        }
        let mut conn = pool.get().expect("connection");
        let count = LogEntry::count(&mut conn, &LogFilter::default()).expect("count");
        assert_eq!(count, 400, "{name}");
    });
}

fn insert_entry(conn: &mut DbConnection, writer: usize, i: usize) -> Result<(), DbError> {
    let entry = NewLogEntry::new(LogLevel::Info, "test", format!("{writer}/{i}"));
    LogEntry::insert(conn, &entry).map(|_| ())
}

#[test]
fn writers_on_two_connections_wait_instead_of_failing() {
    write_concurrently(insert_entry);
}

#[test]
fn read_then_write_transactions_on_two_connections_do_not_fail() {
    write_concurrently(|conn, writer, i| {
        write_transaction(conn, |conn| {
            LogEntry::count(conn, &LogFilter::default())?;
            insert_entry(conn, writer, i)
        })
    });
}

#[test]
fn sqlite_file_directory_is_created_and_sqlite_urls_are_accepted() {
    let db = TestDatabase::sqlite().expect("test database");
    let dir = std::path::Path::new(db.url())
        .parent()
        .expect("dir")
        .join("nested/deeper");
    let url = format!("sqlite://{}", dir.join("coffer.db").display());
    let pool = open(&url).expect("open sqlite:// URL");
    assert_eq!(pool.get().expect("connection").backend(), Backend::Sqlite);
    assert!(dir.join("coffer.db").is_file());
}

#[test]
fn unreachable_postgres_is_reported_without_the_password() {
    let url = "postgres://coffer:hunter2@127.0.0.1:1/coffer";
    let err = open(url).expect_err("nothing listens on port 1");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "cannot connect to PostgreSQL at postgres://coffer:***@127.0.0.1:1/coffer"
        ),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn a_sqlite_path_that_cannot_be_created_is_reported() {
    let db = TestDatabase::sqlite().expect("test database");
    let file = std::path::Path::new(db.url()).with_file_name("plain-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let err = open(&file.join("coffer.db").to_string_lossy()).expect_err("parent is a file");
    assert!(
        err.to_string().contains("cannot create the directory"),
        "{err}"
    );
}

#[test]
fn postgres_pool_gives_postgres_connections() {
    let db = TestDatabase::postgres().expect("test database");
    let pool = db.open().expect("open");
    let conns: Vec<_> = (0..3).map(|_| pool.get().expect("connection")).collect();
    assert!(conns.iter().all(|c| c.backend() == Backend::Postgres));
}
