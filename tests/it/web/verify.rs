//! `GET|POST /backups/{id}/verify`: the history page, queueing a verification, roles, bad input.

use coffer::db::{Backup, LogEntry, LogFilter, Task};
use coffer::domain::{Role, TaskKind, VerifyState};

use super::harness::{location, TestConsole};
use super::tasks::make_backup;
use crate::helpers::BOTH;

fn verify_tasks(console: &TestConsole, backup_id: &str) -> Vec<Task> {
    let mut conn = console.app.conn().unwrap();
    Task::list_for_backup(&mut conn, backup_id)
        .unwrap()
        .into_iter()
        .filter(|t| t.kind().unwrap() == TaskKind::Verify)
        .collect()
}

#[test]
fn an_operator_queues_a_verification_and_the_history_shows_its_verdict() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let operator = console.login_as(Role::Operator);
        let page = operator.page(&format!("/backups/{backup_id}/verify"));
        assert!(page.contains("id=\"verify-form\"") && page.contains("not been verified"));

        let queued = operator.post(
            &format!("/backups/{backup_id}/verify"),
            &[("depth", "quick")],
        );
        assert_eq!(queued.status(), 303);
        let tasks = verify_tasks(&console, &backup_id);
        assert_eq!(tasks.len(), 1);
        assert_eq!(location(&queued), format!("/tasks/{}", tasks[0].id));
        assert_eq!(tasks[0].params().unwrap().unwrap()["depth"], "quick");

        console.run_pending_jobs();
        let mut conn = console.app.conn().unwrap();
        let backup = Backup::find_by_id(&mut conn, &backup_id).unwrap();
        assert_eq!(backup.verify_state(), VerifyState::Passed);
        let entries = LogEntry::list(
            &mut conn,
            &LogFilter {
                operation: Some("verify".into()),
                backup_id: Some(backup_id.clone()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        assert!(entries
            .iter()
            .any(|e| e.message.contains("quick verification queued")
                && e.username
                    .as_deref()
                    .is_some_and(|u| u.starts_with("operator-"))));

        let viewer = console.login_as(Role::Viewer);
        let history = viewer.page(&format!("/backups/{backup_id}/verify"));
        assert!(
            history.contains("<span class=\"status-success\">passed</span>"),
            "{history}"
        );
        assert!(history.contains("quick verification passed"));
        assert!(history.contains(&format!("/tasks/{}", tasks[0].id)));
        assert!(
            !history.contains("id=\"verify-form\""),
            "viewers get no form"
        );
    }
}

#[test]
fn viewers_cannot_verify_and_bad_depths_or_ids_are_refused() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let path = format!("/backups/{backup_id}/verify");

        let viewer = console.login_as(Role::Viewer);
        assert_eq!(viewer.post(&path, &[("depth", "quick")]).status(), 403);

        let operator = console.login_as(Role::Operator);
        let bad = operator.post(&path, &[("depth", "thorough")]);
        assert_eq!(bad.status(), 400);
        assert!(bad.text().unwrap().contains("class=\"field-error\""));
        assert_eq!(operator.post(&path, &[]).status(), 400);
        assert_eq!(
            operator.post_raw(&path, &[("depth", "quick")]).status(),
            403,
            "CSRF"
        );
        assert!(
            verify_tasks(&console, &backup_id).is_empty(),
            "nothing queued"
        );

        assert_eq!(operator.get("/backups/nope/verify").status(), 404);
        assert_eq!(
            operator
                .post("/backups/nope/verify", &[("depth", "deep")])
                .status(),
            404
        );
    }
}
