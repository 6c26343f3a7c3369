//! The streaming lease of one source (`db::WalStreamer`): exactly one process across every
//! `coffer serve` and `coffer worker` on this metadata database streams a source's WAL. It
//! works the same on SQLite and PostgreSQL: each step is one conditional statement.
//!
//! The lease lasts `[workers] heartbeat_timeout_seconds` (the time after which a silent
//! worker is taken for dead) and is renewed every quarter of it (1–5 s). A process killed
//! outright stops renewing, and another takes the lease over once it is that old. A holder
//! that cannot reach the database stops streaming by itself once its last renewal is that
//! old, before anyone else may take over. (A second `pg_receivewal` on the same slot would be
//! refused by the server anyway: the slot is active.)

use std::time::{Duration, Instant};

use crate::app::App;
use crate::db::WalStreamer;
use crate::error::Result;

pub struct Lease {
    source: String,
    owner: String,
    length: Duration,
    /// When this process last renewed (or took) the lease; `None` while it does not hold it.
    renewed: Option<Instant>,
}

/// What a renewal found.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewal {
    Held,
    /// Another process holds it now, or it expired while the database was away.
    Lost,
}

impl Lease {
    pub fn new(app: &App, source: &str) -> Lease {
        Lease {
            source: source.to_string(),
            owner: format!(
                "{}:{}",
                crate::jobs::run::task_run::worker_name(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            length: app.settings.workers.heartbeat_timeout(),
            renewed: None,
        }
    }

    /// How often the holder renews (and a waiting process tries to take it).
    pub fn renew_every(&self) -> Duration {
        (self.length / 4).clamp(Duration::from_secs(1), Duration::from_secs(5))
    }

    pub fn held(&self) -> bool {
        self.renewed.is_some()
    }

    /// Takes the lease when it is free or expired. `true` when this process holds it now.
    pub fn try_take(&mut self, app: &App) -> Result<bool> {
        let now = crate::db::now();
        let expired_before = now - chrono::Duration::from_std(self.length).unwrap_or_default();
        let started = Instant::now();
        let taken = WalStreamer::try_take(
            &mut *app.conn()?,
            &self.source,
            &self.owner,
            now,
            expired_before,
        )?;
        self.renewed = taken.then_some(started);
        Ok(taken)
    }

    /// Renews the lease, recording whether `pg_receivewal` runs (and why not). A database
    /// error is logged and tolerated until the lease would have expired.
    pub fn renew(&mut self, app: &App, streaming: bool, error: Option<&str>) -> Renewal {
        let Some(last) = self.renewed else {
            return Renewal::Lost;
        };
        let started = Instant::now();
        let renewed = app.conn().and_then(|mut conn| {
            Ok(WalStreamer::renew(
                &mut conn,
                &self.source,
                &self.owner,
                crate::db::now(),
                streaming,
                error,
            )?)
        });
        match renewed {
            Ok(true) => {
                self.renewed = Some(started);
                Renewal::Held
            }
            Ok(false) => {
                self.renewed = None;
                Renewal::Lost
            }
            Err(e) if last.elapsed() < self.length => {
                tracing::warn!(
                    "WAL of `{}`: cannot renew the streaming lease: {e}",
                    self.source
                );
                Renewal::Held
            }
            Err(e) => {
                tracing::error!(
                    "WAL of `{}`: the streaming lease expired unrenewed ({e}): stopping",
                    self.source
                );
                self.renewed = None;
                Renewal::Lost
            }
        }
    }

    /// Gives the lease up so another process may take it at once (a clean stop).
    pub fn release(&mut self, app: &App) {
        if self.renewed.take().is_none() {
            return;
        }
        let released = app
            .conn()
            .and_then(|mut conn| Ok(WalStreamer::release(&mut conn, &self.source, &self.owner)?));
        if let Err(e) = released {
            tracing::warn!(
                "WAL of `{}`: cannot give the lease up ({e}); it expires",
                self.source
            );
        }
    }
}
