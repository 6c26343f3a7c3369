use chrono::Duration;

use super::each_backend;
use crate::db::{now, DbError, NewTask, Task, TaskProgress};
use crate::domain::{Status, TaskKind};

fn progress(percent: f64, eta_seconds: Option<i64>) -> TaskProgress {
    TaskProgress {
        percent,
        phase: "archiving".into(),
        bytes_done: 512,
        bytes_total: 2048,
        files_done: 3,
        files_total: 12,
        eta_seconds,
    }
}

#[test]
fn a_task_is_recorded_and_runs_to_its_end() {
    each_backend(|conn, backend| {
        let params = serde_json::json!({"depth": "deep"});
        let new = NewTask::new(TaskKind::Verify)
            .with_backup("b-1")
            .with_params(&params)
            .with_creator("bob");
        let task = Task::insert(conn, &new).expect("insert");
        assert_eq!(
            task,
            Task::find_by_id(conn, &task.id).expect("find"),
            "{backend:?}"
        );
        assert_eq!(
            (task.status(), task.kind().expect("kind")),
            (Status::Pending, TaskKind::Verify)
        );
        assert_eq!(task.params().expect("params"), Some(params));
        assert_eq!(
            (task.percent, task.phase.as_str(), task.bytes_total),
            (0.0, "", 0)
        );
        assert!(Task::list_running(conn).expect("running").is_empty());

        let running = Task::mark_running(conn, &task.id, "host-a:4242").expect("start");
        assert_eq!(running.worker.as_deref(), Some("host-a:4242"));
        assert!(running.heartbeat_at.is_some() && running.started_at.is_some());
        let listed = Task::list_running(conn).expect("running");
        assert_eq!(listed.iter().map(|t| &t.id).collect::<Vec<_>>(), [&task.id]);

        assert!(
            Task::update_progress(conn, &task.id, &progress(25.0, Some(90))).expect("progress")
        );
        let half = Task::find_by_id(conn, &task.id).expect("find");
        assert_eq!(
            (half.percent, half.phase.as_str(), half.bytes_done),
            (25.0, "archiving", 512)
        );
        assert_eq!(
            (half.files_done, half.files_total, half.eta_seconds),
            (3, 12, Some(90))
        );
        Task::update_progress(conn, &task.id, &progress(50.0, None)).expect("progress");
        let unknown_eta = Task::find_by_id(conn, &task.id).expect("find");
        assert_eq!(
            unknown_eta.eta_seconds, None,
            "{backend:?}: no estimate clears the old one"
        );

        let done = Task::mark_finished(conn, &task.id, Status::Succeeded, None).expect("finish");
        assert_eq!(done.status(), Status::Succeeded);
        assert!(done.finished_at.is_some() && done.error.is_none());
        let stopped =
            Task::update_progress(conn, &task.id, &progress(99.0, None)).expect("late progress");
        assert!(
            !stopped,
            "{backend:?}: progress of a finished task tells the worker to stop"
        );
        assert_eq!(
            Task::find_by_id(conn, &task.id).expect("find").percent,
            50.0
        );
        assert_eq!(
            Task::list_for_backup(conn, "b-1")
                .expect("for backup")
                .len(),
            1
        );
    });
}

#[test]
fn finished_tasks_stay_finished() {
    each_backend(|conn, backend| {
        let task = Task::insert(conn, &NewTask::new(TaskKind::Backup)).expect("insert");
        let not_an_end = Task::mark_finished(conn, &task.id, Status::Running, None)
            .expect_err("running is no end");
        assert!(matches!(
            not_an_end,
            DbError::IllegalTransition {
                to: Status::Running,
                ..
            }
        ));

        let cancelled = Task::mark_finished(conn, &task.id, Status::Cancelled, Some("by alice"))
            .expect("cancel");
        assert_eq!(cancelled.error.as_deref(), Some("by alice"));
        for attempt in [
            Task::mark_running(conn, &task.id, "w"),
            Task::mark_finished(conn, &task.id, Status::Failed, Some("late")),
        ] {
            let err = attempt.expect_err("cancelled is final");
            assert!(
                matches!(
                    err,
                    DbError::IllegalTransition {
                        from: Status::Cancelled,
                        ..
                    }
                ),
                "{backend:?}: {err}"
            );
        }
        let pending = Task::insert(conn, &NewTask::new(TaskKind::Restore)).expect("insert");
        let early =
            Task::mark_finished(conn, &pending.id, Status::Succeeded, None).expect_err("never ran");
        assert!(matches!(
            early,
            DbError::IllegalTransition {
                from: Status::Pending,
                ..
            }
        ));
        assert!(matches!(
            Task::update_progress(conn, "nope", &progress(1.0, None)),
            Err(DbError::NotFound { .. })
        ));
    });
}

#[test]
fn stale_running_tasks_are_found_by_heartbeat() {
    each_backend(|conn, backend| {
        let alive = Task::insert(conn, &NewTask::new(TaskKind::Backup)).expect("insert");
        let stale = Task::insert(conn, &NewTask::new(TaskKind::Cleanup)).expect("insert");
        Task::mark_running(conn, &alive.id, "w1").expect("start");
        Task::mark_running(conn, &stale.id, "w2").expect("start");
        assert!(Task::list_stale(conn, now() - Duration::minutes(5))
            .expect("stale")
            .is_empty());
        let later = now() + Duration::seconds(1);
        Task::update_progress(conn, &alive.id, &progress(1.0, None)).expect("beat");
        let found = Task::list_stale(conn, later).expect("stale");
        assert!(found.iter().any(|t| t.id == stale.id), "{backend:?}");
        let recent = Task::list_recent(conn, 1).expect("recent");
        assert_eq!(recent.len(), 1);
    });
}

#[test]
fn a_dead_task_is_failed_once_and_only_as_it_was_seen() {
    each_backend(|conn, backend| {
        let task = Task::insert(conn, &NewTask::new(TaskKind::Backup)).expect("insert");
        Task::mark_running(conn, &task.id, "host-a:1").expect("start");
        let seen = Task::find_by_id(conn, &task.id).expect("find");
        let reason = "no heartbeat for 60 s: its worker (host-a:1) is gone";
        // Still beating: kept.
        let long_ago = now() - Duration::minutes(5);
        assert!(!Task::fail_if_dead(conn, &seen, Some(long_ago), reason).expect("reap"));
        // Another worker's row (as if it had been seen on a different worker): kept.
        let mut elsewhere = seen.clone();
        elsewhere.worker = Some("host-b:2".into());
        let cutoff = now() + Duration::seconds(1);
        assert!(!Task::fail_if_dead(conn, &elsewhere, Some(cutoff), reason).expect("reap"));
        // Silent since the cutoff: failed by the first reaper, not again by a second.
        assert!(
            Task::fail_if_dead(conn, &seen, Some(cutoff), reason).expect("reap"),
            "{backend:?}"
        );
        assert!(!Task::fail_if_dead(conn, &seen, Some(cutoff), reason).expect("reap"));
        let failed = Task::find_by_id(conn, &task.id).expect("find");
        assert_eq!(failed.status(), Status::Failed);
        assert_eq!(failed.error.as_deref(), Some(reason));
        assert!(failed.finished_at.is_some());
        // The worker coming back cannot finish it a second time.
        assert!(!Task::update_progress(conn, &task.id, &progress(50.0, None)).expect("beat"));
        assert!(matches!(
            Task::mark_finished(conn, &task.id, Status::Succeeded, None),
            Err(DbError::IllegalTransition {
                from: Status::Failed,
                ..
            })
        ));
        // Without a heartbeat condition (start-up: the process is gone), running is enough.
        let other = Task::insert(conn, &NewTask::new(TaskKind::Verify)).expect("insert");
        Task::mark_running(conn, &other.id, "host-a:3").expect("start");
        let other = Task::find_by_id(conn, &other.id).expect("find");
        assert!(Task::fail_if_dead(conn, &other, None, "gone").expect("reap"));
    });
}

#[test]
fn an_unknown_task_kind_is_reported_not_guessed() {
    each_backend(|conn, backend| {
        let new = NewTask {
            kind: "teleport".into(),
            ..NewTask::new(TaskKind::Backup)
        };
        let task = Task::insert(conn, &new).expect("insert");
        let err = task.kind().expect_err("unknown kind");
        assert!(
            matches!(err, DbError::BadValue { column: "kind", .. }),
            "{backend:?}: {err}"
        );
        assert!(err.to_string().contains("teleport"), "{err}");
    });
}
