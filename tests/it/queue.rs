//! The job queue and worker pool (apalis), on both metadata backends: queued work runs to
//! success, a job runs once however often it is delivered, two backups of one source never
//! overlap, bad jobs fail cleanly, and live progress reaches its subscribers.

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use coffer::app::App;
use coffer::db::{Backup, Task};
use coffer::domain::{BackupKind, Scope, Status, VerifyDepth, VerifyState};
use coffer::error::Error;
use coffer::jobs::backup::BackupRequest;
use coffer::jobs::queue::{execute_job, Job, JobQueue};
use coffer::jobs::restore::RestoreRequest;
use coffer::jobs::run::execution::{Execution, Interrupt};
use coffer::jobs::run::live::LiveProgress;
use coffer::jobs::submit::{submit_backup, submit_restore, submit_verify};
use coffer::jobs::verify::VerifyRequest;

use crate::helpers::*;

/// The whole of one test's worker work must end well within this.
const DRAIN_LIMIT: Duration = Duration::from_secs(180);

struct QueueEnv {
    env: TestEnv,
    app: Arc<App>,
    queue: JobQueue,
    live: LiveProgress,
}

impl QueueEnv {
    async fn new(backend: &Backend) -> QueueEnv {
        let env = TestEnv::with_directory(backend);
        let app = Arc::new(env.app());
        let queue = JobQueue::open(&app).await.expect("the queue opens");
        QueueEnv {
            env,
            app,
            queue,
            live: LiveProgress::new(),
        }
    }

    async fn run_pending(&self) {
        tokio::time::timeout(
            DRAIN_LIMIT,
            self.queue.run_pending(self.app.clone(), &self.live),
        )
        .await
        .expect("the queue drains in time")
        .expect("the workers run");
    }

    async fn enqueue_full_backup(&self) -> (Backup, Task) {
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        submit_backup(self.app.clone(), self.queue.clone(), request, tester())
            .await
            .expect("the backup is queued")
    }

    fn task(&self, id: &str) -> Task {
        Task::find_by_id(&mut self.app.conn().unwrap(), id).unwrap()
    }

    fn backup(&self, id: &str) -> Backup {
        Backup::find_by_id(&mut self.app.conn().unwrap(), id).unwrap()
    }

    /// Archives (not manifests) in storage.
    fn archive_count(&self) -> usize {
        walkdir::WalkDir::new(self.env.path("backups"))
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy();
                e.file_type().is_file() && name.contains(".tar.gz") && !name.contains("manifest")
            })
            .count()
    }
}

fn write_files(env: &TestEnv, count: usize, size: usize) {
    let files = env.path("files");
    for i in 0..count {
        fs::write(
            files.join(format!("f{i:03}.bin")),
            random_bytes(size, i as u64),
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_backup_verify_and_restore_run_to_success_on_both_backends() {
    for backend in BOTH {
        let q = QueueEnv::new(&backend).await;
        write_files(&q.env, 5, 100_000);
        let before = snapshot_tree(&q.env.path("files"));

        let (backup, task) = q.enqueue_full_backup().await;
        assert_eq!(
            backup.status(),
            Status::Pending,
            "recorded at once, run later"
        );
        assert_eq!(task.status(), Status::Pending);
        q.run_pending().await;
        assert_eq!(q.task(&task.id).status(), Status::Succeeded);
        let backup = q.backup(&backup.id);
        assert_eq!(
            backup.status(),
            Status::Succeeded,
            "{:?}",
            backup.error_message
        );
        assert_eq!(backup.file_count, 5);

        let request = VerifyRequest::new(&backup.id, VerifyDepth::Deep);
        let verify = submit_verify(q.app.clone(), q.queue.clone(), request, tester())
            .await
            .unwrap();
        q.run_pending().await;
        assert_eq!(q.task(&verify.id).status(), Status::Succeeded);
        assert_eq!(q.backup(&backup.id).verify_state(), VerifyState::Passed);

        let target = q.env.path("restored");
        let request = RestoreRequest {
            backup_id: backup.id.clone(),
            target: Some(target.clone()),
            confirmed: true,
            ..RestoreRequest::default()
        };
        let restore = submit_restore(q.app.clone(), q.queue.clone(), request, tester())
            .await
            .unwrap();
        q.run_pending().await;
        let done = q.task(&restore.id);
        assert_eq!(done.status(), Status::Succeeded, "{:?}", done.error);
        let restored = snapshot_tree(&target.join("files"));
        assert_eq!(
            restored.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>()
        );
        assert_eq!(restored, before, "the restored tree is the backed-up one");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_delivered_twice_runs_once_on_both_backends() {
    for backend in BOTH {
        let q = QueueEnv::new(&backend).await;
        write_files(&q.env, 2, 10_000);
        let (backup, task) = q.enqueue_full_backup().await;
        let job = Job::for_task(&task).unwrap();
        // Pushed again (deduplicated by the queue) and run by hand: one execution only.
        q.queue.push(job.clone()).await.unwrap();
        q.run_pending().await;
        let first = q.task(&task.id);
        assert_eq!(first.status(), Status::Succeeded);
        let ran_again = execute_job(&q.app, &job, &q.live, &Interrupt::default()).unwrap();
        assert!(!ran_again, "a finished task is not run again");
        let direct = coffer::jobs::backup::execute_backup(
            &q.app,
            &task.id,
            Execution::waiting(None, None, Interrupt::default()),
        )
        .unwrap();
        assert!(direct.is_none());
        assert_eq!(q.task(&task.id), first, "the row is untouched");
        assert_eq!(q.backup(&backup.id).status(), Status::Succeeded);
        assert_eq!(q.archive_count(), 1, "one archive written");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backups_of_one_source_run_one_after_the_other_on_both_backends() {
    for backend in BOTH {
        let q = QueueEnv::new(&backend).await;
        write_files(&q.env, 8, 2_000_000);
        let (first, first_task) = q.enqueue_full_backup().await;
        let (second, second_task) = q.enqueue_full_backup().await;
        q.run_pending().await;
        let a = q.backup(&first.id);
        let b = q.backup(&second.id);
        assert_eq!(a.status(), Status::Succeeded, "{:?}", a.error_message);
        assert_eq!(b.status(), Status::Succeeded, "{:?}", b.error_message);
        let (ta, tb) = (q.task(&first_task.id), q.task(&second_task.id));
        let span = |t: &Task| (t.started_at.unwrap(), t.finished_at.unwrap());
        let ((a0, a1), (b0, b1)) = (span(&ta), span(&tb));
        assert!(
            a1 <= b0 || b1 <= a0,
            "backups of one source overlapped: {a0}..{a1} and {b0}..{b1}"
        );
        assert_eq!(q.archive_count(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_and_requests_fail_cleanly_on_both_backends() {
    for backend in BOTH {
        let q = QueueEnv::new(&backend).await;
        write_files(&q.env, 1, 1_000);

        // Refused on the request path, nothing recorded.
        let request = VerifyRequest::new("no-such-backup", VerifyDepth::Quick);
        let err = submit_verify(q.app.clone(), q.queue.clone(), request, tester())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        let unknown_source =
            BackupRequest::new(Scope::Sources(vec!["nope".into()]), BackupKind::Full);
        let err = submit_backup(q.app.clone(), q.queue.clone(), unknown_source, tester())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no source named `nope`"), "{err}");
        let unconfirmed = RestoreRequest {
            backup_id: "whatever".into(),
            ..RestoreRequest::default()
        };
        let err = submit_restore(q.app.clone(), q.queue.clone(), unconfirmed, tester())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("confirm"), "{err}");
        assert_eq!(
            Task::count_unfinished(&mut q.app.conn().unwrap()).unwrap(),
            0
        );

        // A job for a task that does not exist, and one naming a task of another kind.
        let (backup, task) = q.enqueue_full_backup().await;
        let ghost = Job::Backup {
            task_id: "no-such-task".into(),
        };
        let wrong_kind = Job::Verify {
            task_id: task.id.clone(),
        };
        q.queue.push(ghost.clone()).await.unwrap();
        q.queue.push(wrong_kind.clone()).await.unwrap();
        q.run_pending().await;
        assert_eq!(
            q.queue.active_jobs().await.unwrap(),
            0,
            "every job was taken"
        );
        assert_eq!(
            q.backup(&backup.id).status(),
            Status::Succeeded,
            "good work still runs"
        );
        let err = execute_job(&q.app, &ghost, &q.live, &Interrupt::default()).unwrap_err();
        assert_eq!(err.to_string(), "task `no-such-task` not found");
        let err = execute_job(&q.app, &wrong_kind, &q.live, &Interrupt::default()).unwrap_err();
        assert!(err.to_string().contains("not a verify task"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_task_whose_job_was_lost_runs_when_workers_start() {
    for backend in BOTH {
        let q = QueueEnv::new(&backend).await;
        write_files(&q.env, 1, 1_000);
        // Recorded but never pushed, as if the process died in between, a while ago.
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (backup, task) =
            coffer::jobs::backup::record_backup(&q.app, &request, &tester()).unwrap();
        age_task(&q.app, &task.id, 120);
        q.run_pending().await;
        assert_eq!(q.task(&task.id).status(), Status::Succeeded);
        assert_eq!(q.backup(&backup.id).status(), Status::Succeeded);
    }
}

fn age_task(app: &App, task_id: &str, seconds: i64) {
    use coffer::db::schema::backup_tasks::dsl;
    use diesel::prelude::*;
    let at = coffer::db::now() - chrono::Duration::seconds(seconds);
    diesel::update(dsl::backup_tasks.find(task_id))
        .set(dsl::created_at.eq(at))
        .execute(&mut *app.conn().unwrap())
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_subscribers_see_progress_then_the_outcome_on_both_backends() {
    for backend in BOTH {
        let q = QueueEnv::new(&backend).await;
        write_files(&q.env, 16, 4_000_000);
        let (backup, task) = q.enqueue_full_backup().await;
        let draining = {
            let (queue, app, live) = (q.queue.clone(), q.app.clone(), q.live.clone());
            tokio::spawn(async move { queue.run_pending(app, &live).await })
        };
        let mut rx = loop {
            if let Some(rx) = q.live.subscribe(&task.id) {
                break rx;
            }
            assert!(
                !draining.is_finished(),
                "the task ended before anything was published"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let mut seen = vec![rx.borrow_and_update().clone()];
        while !seen.last().unwrap().finished {
            tokio::time::timeout(DRAIN_LIMIT, rx.changed())
                .await
                .expect("updates keep coming")
                .expect("the hub keeps the channel until the end");
            seen.push(rx.borrow_and_update().clone());
        }
        draining.await.unwrap().unwrap();
        let last = seen.last().unwrap();
        assert_eq!(last.status, Status::Succeeded, "{last:?}");
        assert_eq!(last.percent, 100.0);
        let running: Vec<_> = seen
            .iter()
            .filter(|s| s.status == Status::Running)
            .collect();
        assert!(
            running
                .windows(2)
                .all(|w| w[0].bytes_done <= w[1].bytes_done),
            "progress never goes back: {running:?}"
        );
        let distinct: std::collections::BTreeSet<u64> = running
            .iter()
            .map(|s| s.bytes_done)
            .filter(|b| *b > 0)
            .collect();
        assert!(distinct.len() >= 2, "several progress steps seen: {seen:?}");
        assert!(running.iter().any(|s| s.throughput_bytes_per_sec.is_some()));
        assert_eq!(q.backup(&backup.id).status(), Status::Succeeded);
    }
}
