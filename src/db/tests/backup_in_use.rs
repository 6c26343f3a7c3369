//! A backup is deleted only while no pending or running task names it, and a task is
//! claimed only while its backup exists (one of the two always loses the race).

use std::sync::{Arc, Barrier};

use super::{each_backend, succeeded};
use crate::db::testing::TestDatabase;
use crate::db::{get, Backup, DbError, NewBackup, NewTask, Task};
use crate::domain::{Scope, Status, TaskKind};

fn verify_task(conn: &mut crate::db::DbConnection, backup: &str) -> Task {
    Task::insert(conn, &NewTask::new(TaskKind::Verify).with_backup(backup)).expect("task")
}

#[test]
fn a_backup_with_a_pending_or_running_task_is_not_deleted() {
    each_backend(|conn, backend| {
        let backup = succeeded(conn, &NewBackup::full("kept", &Scope::All, &["a"]));
        let task = verify_task(conn, &backup.id);

        let busy = Backup::delete_unless_in_use(conn, &backup.id).expect("checked");
        assert_eq!(
            busy.map(|t| t.id),
            Some(task.id.clone()),
            "{backend:?}: pending"
        );
        Task::claim(conn, &task.id, "w1")
            .expect("claim")
            .expect("claimed");
        let busy = Backup::delete_unless_in_use(conn, &backup.id).expect("checked");
        assert_eq!(
            busy.map(|t| t.status()),
            Some(Status::Running),
            "{backend:?}"
        );
        assert!(Backup::find_by_id(conn, &backup.id).is_ok());

        Task::mark_finished(conn, &task.id, Status::Succeeded, None).expect("done");
        assert!(Backup::delete_unless_in_use(conn, &backup.id)
            .expect("deleted")
            .is_none());
        assert!(matches!(
            Backup::find_by_id(conn, &backup.id),
            Err(DbError::NotFound { .. })
        ));
        assert!(matches!(
            Backup::delete_unless_in_use(conn, &backup.id),
            Err(DbError::NotFound { .. })
        ));
    });
}

#[test]
fn a_task_whose_backup_was_deleted_fails_instead_of_starting() {
    each_backend(|conn, backend| {
        let backup = succeeded(conn, &NewBackup::full("gone", &Scope::All, &["a"]));
        // The delete won: the task was recorded after its check (or by a stale page).
        Backup::delete(conn, &backup.id).expect("delete");
        let task = verify_task(conn, &backup.id);
        assert!(
            Task::claim(conn, &task.id, "w1").expect("claim").is_none(),
            "{backend:?}"
        );
        let failed = Task::find_by_id(conn, &task.id).expect("task");
        assert_eq!(failed.status(), Status::Failed);
        assert!(
            failed
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("was deleted"),
            "{failed:?}"
        );
        // A task naming no backup is claimed as before.
        let other = Task::insert(conn, &NewTask::new(TaskKind::Cleanup)).expect("task");
        assert!(Task::claim(conn, &other.id, "w1").expect("claim").is_some());
    });
}

/// A verify being queued and claimed (as `record_verify` and a worker do) races a delete
/// from another connection: whatever the order, exactly one of them happens.
#[test]
fn racing_verify_and_delete_never_both_happen() {
    TestDatabase::on_each_backend(|pool, backend| {
        for round in 0..20 {
            let mut conn = get(pool).expect("connection");
            let backup = succeeded(&mut conn, &NewBackup::full("race", &Scope::All, &["a"]));
            drop(conn);
            let start = Arc::new(Barrier::new(2));
            let verifier = {
                let (pool, start, id) = (pool.clone(), start.clone(), backup.id.clone());
                std::thread::spawn(move || {
                    let mut conn = get(&pool).expect("connection");
                    start.wait();
                    let task = verify_task(&mut conn, &id);
                    Task::claim(&mut conn, &task.id, "w1")
                        .expect("claim")
                        .is_some()
                })
            };
            let mut conn = get(pool).expect("connection");
            start.wait();
            let deleted = Backup::delete_unless_in_use(&mut conn, &backup.id)
                .expect("delete")
                .is_none();
            let started = verifier.join().expect("verifier");
            assert!(
                started != deleted,
                "{backend:?} round {round}: started {started}, deleted {deleted}"
            );
        }
    });
}
