//! Tests of the metadata store. Every test body runs against both backends: a fresh SQLite
//! file and a fresh PostgreSQL database (see `db::testing`).

mod audit_chain;
mod backup_in_use;
mod backup_life;
mod backups;
mod connections;
mod logs;
mod migrations;
mod schedules;
mod second_factor;
mod tasks;
mod text_search;
mod users;
mod web_access;

use super::testing::TestDatabase;
use super::{get, Backend, Backup, BackupOutcome, DbConnection, NewBackup};

/// Runs `test` on a pooled connection of a fresh database of each backend.
fn each_backend(test: impl Fn(&mut DbConnection, Backend)) {
    TestDatabase::on_each_backend(|pool, backend| {
        let mut conn = get(pool).unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        test(&mut conn, backend);
    });
}

/// What a typical successful run reports.
pub(super) fn outcome() -> BackupOutcome {
    BackupOutcome {
        storage_key: "2025/01/full.tar.gz.enc".into(),
        size_bytes: 4096,
        sha256: "ab".repeat(32),
        key_id: Some("k1".into()),
        file_count: 12,
        warnings: vec!["skipped socket uploads/s.sock".into()],
    }
}

/// Inserts `new` and runs it to success.
pub(super) fn succeeded(conn: &mut DbConnection, new: &NewBackup) -> Backup {
    let backup = Backup::insert(conn, new).expect("insert");
    Backup::mark_running(conn, &backup.id).expect("running");
    Backup::mark_succeeded(conn, &backup.id, &outcome()).expect("succeeded")
}
