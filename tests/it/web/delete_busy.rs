//! Deleting a backup while a verify of it is queued is refused with the reason, and the
//! backup and its archive stay; once the verify has run, the delete goes through. A verify
//! queued for a backup deleted meanwhile fails with a clear message instead of starting.

use coffer::db::{Backup, Task};
use coffer::domain::{Role, Status};

use super::harness::{location, Browser, TestConsole};
use crate::helpers::{Backend, BOTH};

/// A console, a signed-in admin and a successful backup.
fn console_with_backup(backend: &Backend) -> (TestConsole, Browser, String) {
    let console = TestConsole::start(backend);
    let admin = console.login_as(Role::Admin);
    let created = admin.post("/backups", &[("scope", "all"), ("kind", "full")]);
    let id = location(&created)
        .trim_start_matches("/backups/")
        .to_string();
    console.run_pending_jobs();
    (console, admin, id)
}

fn queue_verify(admin: &Browser, id: &str) {
    let queued = admin.post(&format!("/backups/{id}/verify"), &[("depth", "deep")]);
    assert_eq!(queued.status(), 303);
}

#[test]
fn a_queued_verify_keeps_its_backup_from_being_deleted() {
    for backend in &BOTH {
        let (console, admin, id) = console_with_backup(backend);
        let archive = {
            let backup = Backup::find_by_id(&mut console.app.conn().unwrap(), &id).unwrap();
            console
                .env
                .path("backups")
                .join(backup.storage_key.unwrap())
        };

        queue_verify(&admin, &id);
        let refused = admin.post(&format!("/backups/{id}/delete"), &[]);
        assert_eq!(refused.status(), 409);
        let page = refused.text().unwrap();
        assert!(
            page.contains("cannot be deleted while its verify task is pending"),
            "{page}"
        );
        assert!(archive.is_file(), "the archive stays");

        console.run_pending_jobs();
        let tasks = Task::list_for_backup(&mut console.app.conn().unwrap(), &id).unwrap();
        assert!(
            tasks.iter().all(|t| t.status() == Status::Succeeded),
            "{tasks:?}"
        );
        let deleted = admin.post(&format!("/backups/{id}/delete"), &[]);
        assert_eq!(deleted.status(), 303);
        assert!(!archive.exists());
    }
}

#[test]
fn a_verify_of_a_deleted_backup_fails_instead_of_starting() {
    for backend in &BOTH {
        let (console, admin, id) = console_with_backup(backend);
        queue_verify(&admin, &id);
        // The record vanishes behind the console's back (the delete that won the race).
        let mut conn = console.app.conn().unwrap();
        let task = Task::list_for_backup(&mut conn, &id)
            .unwrap()
            .into_iter()
            .find(|t| t.kind == "verify")
            .unwrap();
        Backup::delete(&mut conn, &id).unwrap();
        drop(conn);

        console.run_pending_jobs();
        let task = Task::find_by_id(&mut console.app.conn().unwrap(), &task.id).unwrap();
        assert_eq!(task.status(), Status::Failed, "{task:?}");
        let error = task.error.unwrap_or_default();
        assert!(
            error.contains("not found") || error.contains("was deleted"),
            "{error}"
        );
    }
}
