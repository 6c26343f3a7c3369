//! Where the event stream of one task gets its snapshots. A task run by a worker of this
//! process is in the live hub: the feed waits on its watch channel, so a subscriber costs no
//! database query and a slow one only skips stale values. A task run elsewhere (another
//! `coffer worker`), or not started yet, is read from its row about once a second — and ten
//! times a second the feed looks whether the hub has it now, switching over when it does.
//! Snapshots go out at most every [`MIN_GAP`], and the feed ends after the finished one.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, Instant};

use crate::db::Task;
use crate::jobs::run::live::TaskSnapshot;
use crate::web::error::WebError;
use crate::web::state::WebState;

/// At most about four events a second per subscriber.
pub const MIN_GAP: Duration = Duration::from_millis(250);
/// How often the row of a task that is not in the live hub is read.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often the feed of such a task looks whether a worker of this process has taken it
/// up: a cheap map lookup, so that a job of a second or two shows its progress as well.
const HUB_CHECK_EVERY: Duration = Duration::from_millis(100);

enum Source {
    Live(watch::Receiver<TaskSnapshot>),
    Row,
}

pub struct Feed {
    state: WebState,
    task_id: String,
    source: Source,
    /// The snapshot to send first (known when the feed starts).
    first: Option<TaskSnapshot>,
    last: Option<(Instant, TaskSnapshot)>,
    ended: bool,
}

impl Feed {
    /// A feed of `task` (just read from its row).
    pub fn start(state: WebState, task: &Task) -> Feed {
        let row = TaskSnapshot::from_task(task);
        let (source, first) = match state.live.subscribe(&task.id) {
            Some(mut receiver) if !row.finished => {
                let latest = receiver.borrow_and_update().clone();
                (Source::Live(receiver), latest)
            }
            _ => (Source::Row, row),
        };
        Feed {
            state,
            task_id: task.id.clone(),
            source,
            first: Some(first),
            last: None,
            ended: false,
        }
    }

    /// The next snapshot to send; `None` once the finished one was sent (or the task vanished).
    pub async fn next(&mut self) -> Option<TaskSnapshot> {
        if self.ended {
            return None;
        }
        let snapshot = match self.first.take() {
            Some(first) => first,
            None => self.changed().await?,
        };
        self.ended = snapshot.finished;
        self.last = Some((Instant::now(), snapshot.clone()));
        Some(snapshot)
    }

    async fn changed(&mut self) -> Option<TaskSnapshot> {
        if let Some((at, _)) = &self.last {
            sleep_until(*at + MIN_GAP).await;
        }
        loop {
            match &mut self.source {
                Source::Live(receiver) => match receiver.changed().await {
                    Ok(()) => {
                        let snapshot = receiver.borrow_and_update().clone();
                        if self.is_news(&snapshot) {
                            return Some(snapshot);
                        }
                    }
                    // The hub dropped the task: its row has the rest.
                    Err(_) => self.source = Source::Row,
                },
                Source::Row => {
                    if let Some(mut receiver) = self.wait_for_hub().await {
                        let latest = receiver.borrow_and_update().clone();
                        self.source = Source::Live(receiver);
                        return Some(latest);
                    }
                    let id = self.task_id.clone();
                    match self.state.db(move |conn| Task::find_by_id(conn, &id)).await {
                        Ok(task) => {
                            let snapshot = TaskSnapshot::from_task(&task);
                            if self.is_news(&snapshot) {
                                return Some(snapshot);
                            }
                        }
                        Err(WebError::NotFound(_)) => return None,
                        Err(e) => {
                            tracing::warn!(task = %self.task_id, "cannot read the task for its event stream: {e}");
                        }
                    }
                }
            }
        }
    }

    /// Waits up to [`POLL_EVERY`] for the task to appear in the live hub.
    async fn wait_for_hub(&self) -> Option<watch::Receiver<TaskSnapshot>> {
        let until = Instant::now() + POLL_EVERY;
        loop {
            sleep(HUB_CHECK_EVERY.min(until.saturating_duration_since(Instant::now()))).await;
            if let Some(receiver) = self.state.live.subscribe(&self.task_id) {
                return Some(receiver);
            }
            if Instant::now() >= until {
                return None;
            }
        }
    }

    /// Whether a snapshot says something new. The hub republishes an unchanged state every
    /// 200 ms, and a row's throughput changes with the clock alone: neither is news.
    fn is_news(&self, snapshot: &TaskSnapshot) -> bool {
        let Some((_, last)) = &self.last else {
            return true;
        };
        let mut a = last.clone();
        let mut b = snapshot.clone();
        a.throughput_bytes_per_sec = None;
        b.throughput_bytes_per_sec = None;
        a != b
    }
}
