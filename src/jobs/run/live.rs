//! The live progress hub: an in-process map from task id to a `tokio::sync::watch` channel
//! of the task's latest [`TaskSnapshot`]. Workers in this process publish into it (through
//! the display callback a task run calls every 200 ms, then the final outcome); the web's
//! SSE endpoint subscribes. A watch channel keeps only the latest value, so a slow
//! subscriber skips updates instead of slowing the worker down. Tasks run by another process
//! are not here: the web polls their row and builds the same snapshot with
//! [`TaskSnapshot::from_task`]. Entries go away [`LINGER`] after their task ended (pruned
//! whenever the hub is used), long enough for a page opened just then to see the outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::db::Task;
use crate::domain::Status;
use crate::engine::progress::Progress;
use crate::jobs::run::eta::Eta;
use crate::jobs::run::task_run::Display;

/// How long a finished task's last snapshot stays subscribable.
pub const LINGER: Duration = Duration::from_secs(60);

/// What a progress display shows of one task at one moment (also the progress part of the
/// API's task, hence its schema).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct TaskSnapshot {
    pub task_id: String,
    pub status: Status,
    pub phase: String,
    pub percent: f64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    /// Bytes per second since the task started; `None` before there is anything to measure.
    pub throughput_bytes_per_sec: Option<u64>,
    pub eta_seconds: Option<i64>,
    pub error: Option<String>,
    /// True for the last snapshot of a task (success, failure or cancellation).
    pub finished: bool,
}

impl TaskSnapshot {
    /// A snapshot of a task's row: what the hub would say, as far as the row knows.
    pub fn from_task(task: &Task) -> TaskSnapshot {
        let status = task.status();
        let elapsed = task
            .started_at
            .map(|start| task.finished_at.unwrap_or_else(crate::db::now) - start)
            .and_then(|d| d.to_std().ok());
        TaskSnapshot {
            task_id: task.id.clone(),
            status,
            phase: task.phase.clone(),
            percent: task.percent,
            bytes_done: task.bytes_done.max(0) as u64,
            bytes_total: task.bytes_total.max(0) as u64,
            files_done: task.files_done.max(0) as u64,
            files_total: task.files_total.max(0) as u64,
            throughput_bytes_per_sec: elapsed.and_then(|e| throughput(task.bytes_done as u64, e)),
            eta_seconds: task.eta_seconds,
            error: task.error.clone(),
            finished: status.is_finished(),
        }
    }

    fn pending(task_id: &str, phase: &str) -> TaskSnapshot {
        TaskSnapshot {
            task_id: task_id.to_string(),
            status: Status::Pending,
            phase: phase.to_string(),
            percent: 0.0,
            bytes_done: 0,
            bytes_total: 0,
            files_done: 0,
            files_total: 0,
            throughput_bytes_per_sec: None,
            eta_seconds: None,
            error: None,
            finished: false,
        }
    }
}

fn throughput(bytes: u64, elapsed: Duration) -> Option<u64> {
    (bytes > 0 && elapsed.as_secs_f64() > 0.2)
        .then(|| (bytes as f64 / elapsed.as_secs_f64()) as u64)
}

struct Entry {
    sender: watch::Sender<TaskSnapshot>,
    ended: Option<Instant>,
}

/// The hub; cheap to clone (one shared map).
#[derive(Clone, Default)]
pub struct LiveProgress {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl std::fmt::Debug for LiveProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveProgress")
            .field("tasks", &self.lock().len())
            .finish()
    }
}

impl LiveProgress {
    pub fn new() -> LiveProgress {
        LiveProgress::default()
    }

    /// The latest snapshot of `task_id` and its updates, if a worker of this process has it.
    pub fn subscribe(&self, task_id: &str) -> Option<watch::Receiver<TaskSnapshot>> {
        let mut entries = self.lock();
        prune(&mut entries);
        entries.get(task_id).map(|e| e.sender.subscribe())
    }

    /// Publishes a snapshot (creating the entry on first use); a finished one starts the
    /// entry's countdown to removal.
    pub fn publish(&self, snapshot: TaskSnapshot) {
        let mut entries = self.lock();
        prune(&mut entries);
        let ended = snapshot.finished.then(Instant::now);
        match entries.get_mut(&snapshot.task_id) {
            Some(entry) => {
                entry.ended = ended;
                entry.sender.send_replace(snapshot);
            }
            None => {
                let task_id = snapshot.task_id.clone();
                let (sender, _) = watch::channel(snapshot);
                entries.insert(task_id, Entry { sender, ended });
            }
        }
    }

    /// Publishes the final state of a task from its row.
    pub fn publish_final(&self, task: &Task) {
        let mut snapshot = TaskSnapshot::from_task(task);
        snapshot.finished = true;
        self.publish(snapshot);
    }

    /// Publishes that `task_id` is waiting (e.g. for a busy source) with `phase`.
    pub fn publish_waiting(&self, task_id: &str, phase: &str) {
        self.publish(TaskSnapshot::pending(task_id, phase));
    }

    /// A display callback for a task run that publishes each progress report of `task_id`
    /// with its throughput and estimated time left (both smoothed, see [`Eta`]).
    pub fn display_for(&self, task_id: &str) -> Display {
        let live = self.clone();
        let task_id = task_id.to_string();
        let started = Instant::now();
        let eta = Mutex::new(Eta::new());
        Box::new(move |progress: &Progress| {
            let elapsed = started.elapsed();
            let (left, rate) = {
                let mut eta = eta.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                (eta.update(progress, Instant::now()), eta.rate())
            };
            live.publish(TaskSnapshot {
                task_id: task_id.clone(),
                status: Status::Running,
                phase: progress.phase.clone(),
                percent: progress.percent(),
                bytes_done: progress.bytes_done,
                bytes_total: progress.bytes_total,
                files_done: progress.files_done,
                files_total: progress.files_total,
                throughput_bytes_per_sec: rate.or_else(|| throughput(progress.bytes_done, elapsed)),
                eta_seconds: left,
                error: None,
                finished: false,
            });
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn prune(entries: &mut HashMap<String, Entry>) {
    entries.retain(|_, e| e.ended.is_none_or(|at| at.elapsed() < LINGER));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_see_the_latest_snapshot_and_the_end() {
        let live = LiveProgress::new();
        assert!(live.subscribe("t1").is_none());
        let show = live.display_for("t1");
        show(&Progress {
            phase: "archiving".into(),
            bytes_done: 10,
            bytes_total: 100,
            ..Progress::default()
        });
        let rx = live.subscribe("t1").expect("published");
        assert_eq!(rx.borrow().percent, 10.0);
        assert_eq!(rx.borrow().status, Status::Running);
        let mut last = rx.borrow().clone();
        last.status = Status::Succeeded;
        last.finished = true;
        live.publish(last);
        assert!(rx.borrow().finished);
        assert!(live.subscribe("t1").is_some(), "kept a while after the end");
    }
}
