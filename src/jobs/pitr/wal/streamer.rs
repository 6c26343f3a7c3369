//! The WAL streamers of a `coffer serve` or `coffer worker` process: one thread per PITR
//! source. Each waits for its source's lease (`lease.rs`); holding it, it makes sure the
//! replication slot exists, runs `pg_receivewal` into the spool and, every quarter second,
//! stores finished files (`spool.rs`), every `wal_flush_seconds` the partial segment, and
//! renews the lease. `pg_receivewal` exits when its connection ends; it is started again
//! with back-off (1 s doubling to 60 s, from 1 s again after a minute of streaming), the
//! lease kept meanwhile. Losing the lease stops it at once. A clean stop (SIGINT to
//! `pg_receivewal`, which flushes and exits) stores what it received and gives the lease up.

use std::io::BufRead;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::lease::{Lease, Renewal};
use super::spool::Spool;
use crate::app::App;
use crate::config::SourceConfig;
use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::error::Result;
use crate::sources::{ServerAddress, WalReceiver};

const TICK: Duration = Duration::from_millis(250);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long `pg_receivewal` gets to flush and exit after SIGINT before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The running streamers; [`WalStreamers::stop`] (or dropping) stops them cleanly.
pub struct WalStreamers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl WalStreamers {
    /// Starts a streamer for every source with `pitr = true` (none: nothing runs).
    pub fn start(app: Arc<App>) -> WalStreamers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = app
            .settings
            .sources
            .iter()
            .filter(|source| source.pitr().is_some())
            .filter_map(|source| {
                let (app, stop, source) = (app.clone(), stop.clone(), source.clone());
                std::thread::Builder::new()
                    .name(format!("wal-{}", source.name))
                    .spawn(move || stream_source(&app, &source, &stop))
                    .map_err(|e| tracing::error!("cannot start the WAL streamer: {e}"))
                    .ok()
            })
            .collect();
        WalStreamers { stop, threads }
    }

    /// Stops every streamer: `pg_receivewal` flushes and exits, what it received is stored,
    /// the leases are given up. Blocks until done (seconds at most).
    pub fn stop(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a WAL streamer crashed while stopping");
            }
        }
    }
}

impl Drop for WalStreamers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// How one run of `pg_receivewal` ended.
enum Ended {
    /// Coffer is stopping.
    Stopped,
    /// Another process holds the lease now.
    LeaseLost,
    /// It exited or could not start; why.
    Failed(String),
}

struct Streamer<'a> {
    app: &'a App,
    source: &'a SourceConfig,
    flush_every: Duration,
    lease: Lease,
    spool: Spool,
    stop: &'a AtomicBool,
}

fn stream_source(app: &App, source: &SourceConfig, stop: &AtomicBool) {
    let Some(pitr) = source.pitr() else {
        return;
    };
    let mut streamer = Streamer {
        app,
        source,
        flush_every: Duration::from_secs(u64::from(pitr.flush_seconds)),
        lease: Lease::new(app, &source.name),
        spool: Spool::new(&app.settings.data_dir, &source.name),
        stop,
    };
    streamer.run();
}

impl Streamer<'_> {
    fn name(&self) -> &str {
        &self.source.name
    }

    fn run(&mut self) {
        let mut backoff = FIRST_BACKOFF;
        let mut failing: Option<String> = None;
        while !self.stopping() {
            if !self.lease.held() {
                match self.lease.try_take(self.app) {
                    Ok(true) => tracing::info!("WAL of `{}`: this process streams it", self.name()),
                    Ok(false) => {
                        self.sleep(self.lease.renew_every());
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("WAL of `{}`: cannot take the lease: {e}", self.name());
                        self.sleep(self.lease.renew_every());
                        continue;
                    }
                }
            }
            let started = Instant::now();
            match self.stream_once(failing.is_some()) {
                Ended::Stopped => break,
                Ended::LeaseLost => {
                    tracing::warn!("WAL of `{}`: another process streams it now", self.name());
                }
                Ended::Failed(why) => {
                    if started.elapsed() > MAX_BACKOFF {
                        backoff = FIRST_BACKOFF;
                    }
                    tracing::warn!(
                        "WAL of `{}`: streaming stopped: {why}; starting again in {} s",
                        self.name(),
                        backoff.as_secs()
                    );
                    if failing.as_deref() != Some(why.as_str()) {
                        self.audit(
                            LogLevel::Error,
                            format!("WAL streaming of `{}` stopped: {why}", self.name()),
                        );
                    }
                    failing = Some(why);
                    self.wait_with_lease(backoff, failing.as_deref());
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.lease.release(self.app);
    }

    /// One run of `pg_receivewal`, with the spool watched, until it ends.
    fn stream_once(&mut self, recovering: bool) -> Ended {
        if let Err(e) = self.spool.create() {
            return Ended::Failed(e.to_string());
        }
        // Left by a killed process, or by the last run.
        self.store_spool(true);
        let receiver = match ServerAddress::of(self.source) {
            Ok(server) => WalReceiver::new(server, self.source.pitr().expect("a PITR source")),
            Err(e) => return Ended::Failed(e.to_string()),
        };
        if let Err(e) = receiver.create_slot() {
            return Ended::Failed(format!("creating the replication slot: {e}"));
        }
        let mut child = match receiver.start(&self.spool.dir) {
            Ok(child) => child,
            Err(e) => return Ended::Failed(e.to_string()),
        };
        let last_line = watch_stderr(&mut child, self.name().to_string());
        tracing::info!(
            "WAL of `{}`: streaming from {}",
            self.name(),
            receiver.server()
        );
        if recovering {
            self.audit(
                LogLevel::Info,
                format!("WAL streaming of `{}` runs again", self.name()),
            );
        }
        let mut renewed = Instant::now();
        let mut flushed = Instant::now();
        let _ = self.lease.renew(self.app, true, None);
        loop {
            std::thread::sleep(TICK);
            self.store_spool(false);
            if flushed.elapsed() >= self.flush_every {
                flushed = Instant::now();
                self.store_partial();
            }
            if self.stopping() {
                terminate(&mut child);
                self.store_spool(true);
                return Ended::Stopped;
            }
            if renewed.elapsed() >= self.lease.renew_every() {
                renewed = Instant::now();
                if self.lease.renew(self.app, true, None) == Renewal::Lost {
                    terminate(&mut child);
                    return Ended::LeaseLost;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                self.store_spool(true);
                let said = last_line.lock().map(|l| l.clone()).unwrap_or_default();
                return Ended::Failed(format!(
                    "pg_receivewal exited ({status}){}",
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(": {said}")
                    }
                ));
            }
        }
    }

    /// Stores finished spool files, and the partial one too when `with_partial`.
    fn store_spool(&mut self, with_partial: bool) {
        if let Err(e) = self.spool.store_finished(self.app, &self.source.name) {
            tracing::warn!("WAL of `{}`: storing a finished segment failed (kept in the spool, tried again): {e}", self.name());
        }
        if with_partial {
            self.store_partial();
        }
    }

    fn store_partial(&mut self) {
        if let Err(e) = self.spool.store_partial(self.app, &self.source.name) {
            tracing::warn!(
                "WAL of `{}`: storing the partial segment failed: {e}",
                self.name()
            );
        }
    }

    /// Waits `time` before the next start, renewing the lease meanwhile.
    fn wait_with_lease(&mut self, time: Duration, error: Option<&str>) {
        let until = Instant::now() + time;
        while Instant::now() < until && !self.stopping() {
            if self.lease.renew(self.app, false, error) == Renewal::Lost {
                return;
            }
            self.sleep(
                self.lease
                    .renew_every()
                    .min(until.saturating_duration_since(Instant::now())),
            );
        }
    }

    fn sleep(&self, time: Duration) {
        let until = Instant::now() + time;
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(TICK));
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn audit(&self, level: LogLevel, message: String) {
        self.app.audit(NewLogEntry::new(level, "wal", message));
    }
}

/// SIGINT (`pg_receivewal` flushes what it received and exits), SIGKILL after a grace.
fn terminate(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on our own child, not yet reaped (try_wait returned None).
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
    let since = Instant::now();
    while since.elapsed() < STOP_GRACE {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Logs `pg_receivewal`'s stderr line by line; the last line says why it ended.
fn watch_stderr(child: &mut Child, source: String) -> Arc<Mutex<String>> {
    let last = Arc::new(Mutex::new(String::new()));
    if let Some(stderr) = child.stderr.take() {
        let last = last.clone();
        let _ = std::thread::Builder::new()
            .name(format!("wal-log-{source}"))
            .spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("error:")
                        || line.contains("FATAL")
                        || line.contains("warning:")
                    {
                        tracing::warn!("WAL of `{source}`: {line}");
                    } else {
                        tracing::debug!("WAL of `{source}`: {line}");
                    }
                    if let Ok(mut held) = last.lock() {
                        *held = line;
                    }
                }
            });
    }
    last
}

/// Whether `source` is streamed right now by some process (its lease is fresh and says so).
pub fn is_streaming(app: &App, source: &str) -> Result<bool> {
    let Some(row) = crate::db::WalStreamer::find(&mut *app.conn()?, source)? else {
        return Ok(false);
    };
    let fresh = crate::db::now() - row.renewed_at
        < chrono::Duration::from_std(app.settings.workers.heartbeat_timeout()).unwrap_or_default();
    Ok(row.streaming && fresh)
}
