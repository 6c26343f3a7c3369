//! `coffer worker`: a separate process takes the queued work and stops cleanly on SIGINT.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use coffer::db::{Backup, Task};
use coffer::domain::{BackupKind, Scope, Status};
use coffer::jobs::backup::BackupRequest;
use coffer::jobs::queue::JobQueue;
use coffer::jobs::submit::submit_backup;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_command_runs_queued_backups_and_stops_on_sigint_on_both_backends() {
    for backend in BOTH {
        let env = TestEnv::with_directory(&backend);
        fs::write(env.path("files/a.txt"), text_bytes(50_000, 1)).unwrap();
        let app = std::sync::Arc::new(env.app());
        let queue = JobQueue::open(&app).await.unwrap();
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (backup, task) = submit_backup(app.clone(), queue.clone(), request, tester())
            .await
            .unwrap();

        let mut worker = env
            .command(&["worker"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("coffer worker starts");
        let started = Instant::now();
        let finished = loop {
            let row = Task::find_by_id(&mut app.conn().unwrap(), &task.id).unwrap();
            if row.status().is_finished() {
                break row;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the worker did not run the task"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(finished.status(), Status::Succeeded, "{:?}", finished.error);
        let done = Backup::find_by_id(&mut app.conn().unwrap(), &backup.id).unwrap();
        assert_eq!(done.status(), Status::Succeeded);

        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let sent = unsafe { libc::kill(worker.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(sent, 0);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = worker.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the worker did not stop on SIGINT"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut worker.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(status.success(), "exit {status}: {stderr}");
        assert!(stderr.contains("stopping"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_the_pool_cancels_a_running_backup_cleanly_on_both_backends() {
    use std::sync::Arc;

    use coffer::jobs::queue::{run_workers, WorkerControl};
    use coffer::jobs::run::live::LiveProgress;

    for backend in BOTH {
        let env = TestEnv::with_directory(&backend);
        for i in 0..24 {
            fs::write(
                env.path(&format!("files/f{i}.bin")),
                random_bytes(4_000_000, i),
            )
            .unwrap();
        }
        let app = Arc::new(env.app());
        let queue = JobQueue::open(&app).await.unwrap();
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (backup, task) = submit_backup(app.clone(), queue.clone(), request, tester())
            .await
            .unwrap();
        let live = LiveProgress::new();
        let control = WorkerControl::new();
        let pool = tokio::spawn(run_workers(
            app.clone(),
            queue.clone(),
            live.clone(),
            control.clone(),
        ));
        let started = Instant::now();
        loop {
            let running = live
                .subscribe(&task.id)
                .is_some_and(|rx| rx.borrow().status == Status::Running);
            if running {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        control.abort();
        tokio::time::timeout(Duration::from_secs(60), pool)
            .await
            .expect("the pool stops")
            .unwrap()
            .unwrap();
        let row = Task::find_by_id(&mut app.conn().unwrap(), &task.id).unwrap();
        assert_eq!(row.status(), Status::Cancelled, "{row:?}");
        let record = Backup::find_by_id(&mut app.conn().unwrap(), &backup.id).unwrap();
        assert_eq!(record.status(), Status::Cancelled);
        let left: Vec<_> = walkdir::WalkDir::new(env.path("backups"))
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().display().to_string())
            .collect();
        assert!(
            left.is_empty(),
            "a cancelled backup leaves nothing: {left:?}"
        );
        let last = live.subscribe(&task.id).unwrap().borrow().clone();
        assert!(
            last.finished && last.status == Status::Cancelled,
            "{last:?}"
        );
    }
}
