use super::{each_backend, outcome, succeeded};
use crate::db::{now, Backup, BackupChanges, DbError, Manifest, NewBackup};
use crate::domain::{Scope, Status, VerifyState};

#[test]
fn the_life_cycle_only_moves_forward() {
    each_backend(|conn, backend| {
        let backup =
            Backup::insert(conn, &NewBackup::full("b", &Scope::All, &["a"])).expect("insert");
        let early =
            Backup::mark_succeeded(conn, &backup.id, &outcome()).expect_err("pending → success");
        assert!(
            matches!(
                early,
                DbError::IllegalTransition {
                    from: Status::Pending,
                    to: Status::Succeeded,
                    ..
                }
            ),
            "{early}"
        );

        let running = Backup::mark_running(conn, &backup.id).expect("pending → running");
        assert!(running.started_at.is_some() && running.finished_at.is_none());
        let done = Backup::mark_succeeded(conn, &backup.id, &outcome()).expect("running → success");
        assert_eq!(done.status(), Status::Succeeded, "{backend:?}");
        assert_eq!(done.storage_key.as_deref(), Some("2025/01/full.tar.gz.enc"));
        assert_eq!((done.size_bytes, done.file_count), (4096, 12));
        assert_eq!(done.sha256, Some("ab".repeat(32)));
        assert!(done.is_encrypted() && done.finished_at.is_some());
        assert_eq!(done.warnings(), ["skipped socket uploads/s.sock"]);

        for attempt in [
            Backup::mark_succeeded(conn, &backup.id, &outcome()),
            Backup::mark_running(conn, &backup.id),
            Backup::mark_failed(conn, &backup.id, "late failure"),
            Backup::mark_cancelled(conn, &backup.id, "too late"),
        ] {
            let err = attempt.expect_err("a finished backup is final");
            assert!(
                matches!(
                    err,
                    DbError::IllegalTransition {
                        from: Status::Succeeded,
                        ..
                    }
                ),
                "{backend:?}: {err}"
            );
        }
        assert_eq!(
            Backup::find_by_id(conn, &backup.id).expect("find"),
            done,
            "nothing changed"
        );

        let failing =
            Backup::insert(conn, &NewBackup::full("f", &Scope::All, &["a"])).expect("insert");
        let failed = Backup::mark_failed(conn, &failing.id, "disk full").expect("pending → failed");
        assert_eq!(failed.error_message.as_deref(), Some("disk full"));
        assert!(
            Backup::mark_running(conn, &failing.id).is_err(),
            "failed → running"
        );
        let missing = Backup::mark_running(conn, "nope").expect_err("unknown id");
        assert!(matches!(missing, DbError::NotFound { .. }));
    });
}

#[test]
fn verification_and_restores_are_recorded() {
    each_backend(|conn, backend| {
        let backup = succeeded(conn, &NewBackup::full("b", &Scope::All, &["a"]));
        let at = now();
        let verified = Backup::update(
            conn,
            &backup.id,
            &BackupChanges::verified(VerifyState::Passed, at),
        )
        .expect("verified");
        assert_eq!(
            (verified.verify_state(), verified.verified_at),
            (VerifyState::Passed, Some(at)),
            "{backend:?}"
        );
        let renamed = BackupChanges {
            description: Some(None),
            name: Some("renamed".into()),
            ..Default::default()
        };
        let renamed = Backup::update(conn, &backup.id, &renamed).expect("rename");
        assert_eq!(
            (renamed.name.as_str(), renamed.description.as_deref()),
            ("renamed", None)
        );
        assert_eq!(
            Backup::update(conn, &backup.id, &BackupChanges::default()).expect("no-op"),
            renamed
        );

        Backup::mark_restored(conn, &backup.id).expect("first restore");
        let twice = Backup::mark_restored(conn, &backup.id).expect("second restore");
        assert_eq!(twice.restore_count, 2);
        assert!(twice.last_restored_at.is_some());
        assert!(matches!(
            Backup::mark_restored(conn, "nope"),
            Err(DbError::NotFound { .. })
        ));
    });
}

#[test]
fn manifests_are_stored_replaced_and_deleted_with_their_backup() {
    each_backend(|conn, backend| {
        let backup = succeeded(conn, &NewBackup::full("b", &Scope::All, &["a"]));
        assert_eq!(Manifest::load(conn, &backup.id).expect("load"), None);
        Manifest::store(conn, &backup.id, r#"{"version":1}"#).expect("store");
        Manifest::store(conn, &backup.id, r#"{"version":2}"#).expect("replace");
        let loaded = Manifest::load(conn, &backup.id).expect("load");
        assert_eq!(loaded.as_deref(), Some(r#"{"version":2}"#), "{backend:?}");

        let orphan = Manifest::store(conn, "no-such-backup", "{}").expect_err("needs its backup");
        assert!(orphan.is_foreign_key_violation(), "{backend:?}: {orphan}");

        Backup::delete(conn, &backup.id).expect("delete");
        assert_eq!(
            Manifest::load(conn, &backup.id).expect("load"),
            None,
            "{backend:?}: cascade"
        );
    });
}

/// Two workers finish the same running backup at the same moment, one as success and one as
/// failure: exactly one may win, and the record must show the winner's outcome.
#[test]
fn racing_finishers_cannot_both_win() {
    use std::sync::{Arc, Barrier};

    use crate::db::{get, testing::TestDatabase};

    TestDatabase::on_each_backend(|pool, backend| {
        for round in 0..20 {
            let mut conn = get(pool).expect("connection");
            let new = NewBackup::full(&format!("race {round}"), &Scope::All, &["a"]);
            let id = Backup::insert(&mut conn, &new).expect("insert").id;
            Backup::mark_running(&mut conn, &id).expect("running");
            drop(conn);

            let start = Arc::new(Barrier::new(2));
            let racers: Vec<_> = [true, false]
                .into_iter()
                .map(|succeed| {
                    let (pool, start, id) = (pool.clone(), Arc::clone(&start), id.clone());
                    std::thread::spawn(move || {
                        let mut conn = get(&pool).expect("connection");
                        start.wait();
                        match succeed {
                            true => Backup::mark_succeeded(&mut conn, &id, &outcome()),
                            false => Backup::mark_failed(&mut conn, &id, "lost the race"),
                        }
                    })
                })
                .collect();
            let results: Vec<_> = racers
                .into_iter()
                .map(|r| r.join().expect("racer"))
                .collect();
            let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(winners.len(), 1, "{backend:?} round {round}: {results:?}");
            let loser = results
                .iter()
                .find_map(|r| r.as_ref().err())
                .expect("a loser");
            assert!(
                matches!(loser, DbError::IllegalTransition { .. }),
                "{backend:?}: {loser}"
            );
            let mut conn = get(pool).expect("connection");
            let stored = Backup::find_by_id(&mut conn, &id).expect("find");
            assert_eq!(&stored, winners[0], "{backend:?} round {round}");
        }
    });
}
