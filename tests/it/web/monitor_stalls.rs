//! Stalled tasks: a running task whose progress stands still for `stall_minutes` raises one
//! `TaskStalled`, is flagged on its page and the dashboard, and an operator cancels it from
//! its page — through the row, which the running worker's heartbeat notices.

use chrono::Duration;
use coffer::db::schema::backup_tasks::dsl;
use coffer::db::{Backup, LogEntry, LogFilter, Task};
use coffer::domain::{Role, Scope, Status};
use coffer::jobs::backup::{record_backup, BackupRequest};
use coffer::jobs::run::task_run::TaskRun;
use coffer::monitor::check_once;
use diesel::prelude::*;

use super::harness::{location, TestConsole};
use crate::helpers::{tester, BOTH};

fn stall_alerts(console: &TestConsole) -> usize {
    let filter = LogFilter {
        operation: Some("notify".into()),
        ..LogFilter::default()
    };
    LogEntry::list(&mut console.app.conn().unwrap(), &filter)
        .unwrap()
        .iter()
        .filter(|e| e.message.contains("made no progress"))
        .count()
}

fn prepared_task(console: &TestConsole) -> Task {
    let request = BackupRequest::new(Scope::All, coffer::domain::BackupKind::Full);
    record_backup(&console.app, &request, &tester()).unwrap().1
}

#[test]
fn a_stalled_task_alerts_once_and_an_operator_cancels_it() {
    for backend in &BOTH {
        let console = TestConsole::start_with(backend, |s| s.monitor.stall_minutes = 30);
        let task = prepared_task(&console);
        let mut conn = console.app.conn().unwrap();
        // Running elsewhere, its progress last moved 40 minutes ago (the heartbeat beats on).
        Task::claim(&mut conn, &task.id, "elsewhere:1")
            .unwrap()
            .unwrap();
        let long_ago = coffer::db::now() - Duration::minutes(40);
        diesel::update(dsl::backup_tasks.find(&task.id))
            .set(dsl::progress_at.eq(long_ago))
            .execute(&mut *conn)
            .unwrap();
        drop(conn);

        let now = coffer::db::now();
        assert_eq!(check_once(&console.app, now).stalled, vec![task.id.clone()]);
        assert!(check_once(&console.app, now + Duration::minutes(1))
            .stalled
            .is_empty());
        assert_eq!(stall_alerts(&console), 1);

        let operator = console.login_as(Role::Operator);
        let page = operator.page(&format!("/tasks/{}", task.id));
        assert!(
            page.contains("id=\"stalled\""),
            "the task page says stalled"
        );
        assert!(page.contains("id=\"cancel-task\""), "and offers to cancel");
        assert!(
            operator.page("/").contains("stalled"),
            "so does the dashboard"
        );
        let viewer = console.login_as(Role::Viewer);
        let viewer_page = viewer.page(&format!("/tasks/{}", task.id));
        assert!(
            !viewer_page.contains("id=\"cancel-task\""),
            "viewers get no button"
        );

        let response = operator.post(&format!("/tasks/{}/cancel", task.id), &[]);
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), format!("/tasks/{}", task.id));
        let mut conn = console.app.conn().unwrap();
        let stored = Task::find_by_id(&mut conn, &task.id).unwrap();
        assert_eq!(stored.status(), Status::Cancelled);
        assert!(stored.error.unwrap().contains("cancelled by"));
        let backup = Backup::find_by_id(&mut conn, task.backup_id.as_ref().unwrap()).unwrap();
        assert_eq!(
            backup.status(),
            Status::Cancelled,
            "never counted as a copy"
        );
        drop(conn);

        // Finished now: cancelling again is refused with the reason; the alert is over.
        let again = operator.post(&format!("/tasks/{}/cancel", task.id), &[]);
        assert_eq!(again.status(), 409);
        assert!(again.text().unwrap().contains("already cancelled"));
        assert!(check_once(&console.app, coffer::db::now())
            .stalled
            .is_empty());
        let open =
            coffer::db::MonitorAlert::list_subjects(&mut console.app.conn().unwrap(), "stall:");
        assert!(open.unwrap().is_empty());
    }
}

#[test]
fn a_cancel_recorded_in_the_row_stops_the_running_worker() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let task = prepared_task(&console);
        // This process runs the task; the cancel comes through the database only.
        let run = TaskRun::take_over(&console.app, &task.id, None, None)
            .unwrap()
            .unwrap();
        assert!(!run.progress().should_stop());
        coffer::jobs::run::cancel::cancel_task(&console.app, &task.id, "someone").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !run.progress().should_stop() {
            assert!(
                std::time::Instant::now() < deadline,
                "the heartbeat saw the cancel"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        run.finish::<()>(&Err(coffer::error::Error::Cancelled))
            .expect("finishing a task cancelled from outside is no error");
        let stored = Task::find_by_id(&mut console.app.conn().unwrap(), &task.id).unwrap();
        assert_eq!(stored.status(), Status::Cancelled);
    }
}
