//! Background delivery. Each channel has its own thread and bounded queue, so a dead
//! channel (retrying with back-off) never holds up the others, and `raise` never waits:
//! when a channel's queue is full the event is logged as dropped for it. Every attempt is
//! written to the audit log (`notify` entries). Dropping the [`Notifier`] (the end of a CLI
//! command, of `coffer serve`) lets queued events go out, waiting at most [`DRAIN_LIMIT`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::NotifySettings;
use crate::db::{self, NewLogEntry, Pool};
use crate::domain::LogLevel;
use crate::notify::{Channel, Event};

/// Events waiting per channel before new ones are dropped.
const QUEUE_SIZE: usize = 256;
/// How long dropping the notifier waits for queued deliveries.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Deliveries counted since start (for metrics).
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    /// Given up on after every retry.
    pub failed: AtomicU64,
    /// Not even tried: the channel's queue was full.
    pub dropped: AtomicU64,
}

pub struct Notifier {
    settings: Arc<NotifySettings>,
    pool: Pool,
    /// Started on the first event, so commands that raise nothing start no thread.
    lanes: OnceLock<Vec<Lane>>,
    counters: Arc<Counters>,
    queue_size: usize,
}

struct Lane {
    channel: Channel,
    sender: SyncSender<Event>,
    thread: JoinHandle<()>,
}

impl Notifier {
    pub fn new(settings: &NotifySettings, pool: Pool) -> Notifier {
        Notifier {
            settings: Arc::new(settings.clone()),
            pool,
            lanes: OnceLock::new(),
            counters: Arc::default(),
            queue_size: QUEUE_SIZE,
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(super) fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Writes an audit entry; a failure to log never fails what raised the event.
    pub(super) fn audit(&self, entry: NewLogEntry) {
        write_log(&self.pool, entry);
    }

    /// Queues `event` for every channel that wants it; never blocks.
    pub fn enqueue(&self, event: &Event) {
        if !self.settings.has_channels() {
            return;
        }
        let lanes = self.lanes.get_or_init(|| self.start_lanes());
        for lane in lanes.iter().filter(|l| l.channel.wants(event.kind())) {
            let why = match lane.sender.try_send(event.clone()) {
                Ok(()) => continue,
                Err(TrySendError::Full(_)) => "its queue is full",
                Err(TrySendError::Disconnected(_)) => "its delivery thread has stopped",
            };
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(channel = %lane.channel.label(), event = event.kind(), "notification dropped: {why}");
            let entry = NewLogEntry::new(
                LogLevel::Warning,
                "notify",
                format!(
                    "{}: {} notification dropped: {why}",
                    lane.channel.label(),
                    event.kind()
                ),
            );
            write_log(&self.pool, entry);
        }
    }

    fn start_lanes(&self) -> Vec<Lane> {
        Channel::all(&self.settings)
            .into_iter()
            .filter_map(|channel| {
                let (sender, receiver) = sync_channel(self.queue_size);
                let worker = Worker {
                    channel: channel.clone(),
                    settings: self.settings.clone(),
                    pool: self.pool.clone(),
                    counters: self.counters.clone(),
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("notify-{}", channel.label()))
                    .spawn(move || worker.run(receiver));
                match spawned {
                    Ok(thread) => Some(Lane {
                        channel,
                        sender,
                        thread,
                    }),
                    Err(e) => {
                        tracing::error!("cannot start the {} notifier: {e}", channel.label());
                        None
                    }
                }
            })
            .collect()
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        let Some(lanes) = self.lanes.take() else {
            return;
        };
        let deadline = Instant::now() + DRAIN_LIMIT;
        let threads: Vec<(String, JoinHandle<()>)> = lanes
            .into_iter()
            .map(|lane| (lane.channel.label(), lane.thread)) // the sender goes: the thread ends after its queue
            .collect();
        for (label, thread) in threads {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!(
                    "{label}: notifications still being delivered after {}s are abandoned",
                    DRAIN_LIMIT.as_secs()
                );
            }
        }
    }
}

/// One channel's delivery thread.
struct Worker {
    channel: Channel,
    settings: Arc<NotifySettings>,
    pool: Pool,
    counters: Arc<Counters>,
}

impl Worker {
    fn run(self, queue: Receiver<Event>) {
        for event in queue {
            let attempts = self.settings.retries + 1;
            let delivered = deliver(&self.channel, &event, &self.settings, attempts, &self.pool);
            let counter = if delivered.is_ok() {
                &self.counters.delivered
            } else {
                &self.counters.failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Tries `channel` up to `attempts` times with back-off, logging each attempt.
pub fn deliver(
    channel: &Channel,
    event: &Event,
    settings: &NotifySettings,
    attempts: u32,
    pool: &Pool,
) -> Result<(), String> {
    let mut last = Err(String::new());
    for attempt in 1..=attempts {
        if attempt > 1 {
            std::thread::sleep(settings.backoff(attempt));
        }
        last = channel.send(event, settings.timeout);
        let next = (attempt < attempts).then(|| settings.backoff(attempt + 1));
        write_log(
            pool,
            attempt_entry(channel, event, attempt, attempts, &last, next),
        );
        if last.is_ok() {
            break;
        }
    }
    last
}

/// The audit entry of one attempt: `channel`, `event`, `attempt`, `ok`, `error`, `source`
/// in its details; linked to the event's backup and task.
fn attempt_entry(
    channel: &Channel,
    event: &Event,
    attempt: u32,
    attempts: u32,
    result: &Result<(), String>,
    next_wait: Option<Duration>,
) -> NewLogEntry {
    let label = channel.label();
    let kind = event.kind();
    let (level, message) = match (result, next_wait) {
        (Ok(()), _) => (
            LogLevel::Info,
            format!("{label}: {kind} delivered (attempt {attempt} of {attempts})"),
        ),
        (Err(e), Some(wait)) => (
            LogLevel::Warning,
            format!(
                "{label}: {kind} attempt {attempt} of {attempts} failed: {e}; retrying in {}",
                human(wait)
            ),
        ),
        (Err(e), None) => (
            LogLevel::Error,
            format!("{label}: {kind} attempt {attempt} of {attempts} failed: {e}; giving up"),
        ),
    };
    let mut entry = NewLogEntry::new(level, "notify", message).with_details(&serde_json::json!({
        "channel": label,
        "event": kind,
        "attempt": attempt,
        "attempts": attempts,
        "ok": result.is_ok(),
        "error": result.as_ref().err(),
        // What it was about, so the dashboard counts an undelivered one against the right
        // sources: the source it names, else its task's, else its backup's.
        "source": event.source(),
    }));
    if let Some(id) = event.backup_id() {
        entry = entry.for_backup(id);
    }
    if let Some(id) = event.task_id() {
        entry = entry.for_task(id);
    }
    entry
}

fn human(wait: Duration) -> String {
    if wait.as_millis() < 1000 {
        format!("{} ms", wait.as_millis())
    } else {
        format!("{} s", wait.as_secs())
    }
}

/// A log write that fails is reported, never fatal (the audit log may be what is down).
fn write_log(pool: &Pool, entry: NewLogEntry) {
    let written = db::get(pool)
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            db::LogEntry::insert(&mut conn, &entry)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        tracing::error!("cannot write notify audit entry: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::db::testing::TestDatabase;

    /// A channel stuck on one delivery: later events fill its queue and the rest are dropped
    /// (counted and logged) at once, without blocking the caller.
    #[test]
    fn a_full_queue_drops_and_logs_instead_of_blocking() {
        // Accepts connections and never answers: every attempt waits for its time-out.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, in_flight) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
                let _ = accepted.send(());
            }
        });
        let text = format!(
            "[notify]\nretries = 0\ntimeout_seconds = 1\n[[notify.webhooks]]\nname = \"slow\"\nurl = \"http://127.0.0.1:{port}/\"\n"
        );
        let settings = Settings::from_toml(&text, "t", &|_| None).unwrap();
        let db = TestDatabase::sqlite().unwrap();
        let pool = db::open(db.url()).unwrap();
        let mut notifier = Notifier::new(&settings.notify, pool.clone());
        notifier.queue_size = 1;
        let event = |n: i64| Event::RpoMissed {
            source: format!("s{n}"),
            age_seconds: n,
            rpo_seconds: 1,
        };
        notifier.enqueue(&event(1));
        in_flight
            .recv_timeout(Duration::from_secs(10))
            .expect("the first event is being delivered");
        let started = Instant::now();
        for n in 2..=4 {
            notifier.enqueue(&event(n)); // 2 waits in the queue, 3 and 4 are dropped
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "raise never waits"
        );
        assert_eq!(notifier.counters().dropped.load(Ordering::Relaxed), 2);
        drop(notifier); // waits for the two deliveries (each times out after 1 s)
        let entries = db::LogEntry::list(
            &mut db::get(&pool).unwrap(),
            &db::LogFilter {
                operation: Some("notify".into()),
                ..db::LogFilter::default()
            },
        )
        .unwrap();
        let dropped = entries
            .iter()
            .filter(|e| {
                e.message
                    .contains("rpo_missed notification dropped: its queue is full")
            })
            .count();
        let gave_up = entries
            .iter()
            .filter(|e| e.message.contains("attempt 1 of 1 failed"))
            .count();
        assert_eq!((dropped, gave_up), (2, 2), "{entries:?}");
    }
}
