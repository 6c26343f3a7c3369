//! Whether this process's worker pool can run jobs right now, as `/ready` and `/metrics`
//! report it. The pool is up while its worker keeps registering or beating in the queue (a
//! write there succeeds); down from the moment it stopped until a restarted pool beats, or
//! while it has been silent for longer than the heartbeat timeout (its database is gone and
//! apalis still waits for a connection).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A pool that ran this long after being restarted counts as recovered: the next stop is a
/// new outage, with its own alert and a back-off that starts short again.
pub const RECOVERED_AFTER: Duration = Duration::from_secs(60);

/// Shared between the supervisor and the web console; cheap to clone.
#[derive(Debug, Clone)]
pub struct PoolHealth(Arc<Mutex<State>>);

#[derive(Debug)]
struct State {
    /// A pool that wrote nothing to its queue for this long cannot take jobs (its queue
    /// waits for a database that is gone), even if apalis has not given up on it yet.
    stale_after: Duration,
    /// The last successful register or beat (or the start of the process).
    last_beat: Instant,
    /// Why the pool stopped, and since when; `None` while one runs.
    stopped: Option<(Instant, String)>,
    /// The current silence was noticed (see [`PoolHealth::noticed_stall`]).
    stall_noticed: bool,
    /// When the pool beat first after its last start or silence.
    up_since: Option<Instant>,
    /// Restarts since the process started.
    restarts: u64,
    /// The current outage was announced (cleared once the pool has recovered).
    alerted: bool,
}

/// What [`PoolHealth::status`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolStatus {
    pub up: bool,
    pub restarts: u64,
    /// Why it cannot take jobs, while it cannot.
    pub error: Option<String>,
    pub down_for: Option<Duration>,
}

impl PoolHealth {
    /// `stale_after`: `[workers] heartbeat_timeout_seconds` (the pool beats three times in it).
    pub fn new(stale_after: Duration) -> PoolHealth {
        PoolHealth(Arc::new(Mutex::new(State {
            stale_after,
            last_beat: Instant::now(),
            stopped: None,
            stall_noticed: false,
            up_since: None,
            restarts: 0,
            alerted: false,
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The pool's worker wrote to the queue (registered or beat): it can take jobs.
    pub fn beat(&self) {
        let mut state = self.state();
        let now = Instant::now();
        if state.stopped.take().is_some() || state.stall_noticed {
            tracing::info!(
                "the worker pool runs again after {}s without a heartbeat",
                (now - state.last_beat).as_secs()
            );
        }
        state.last_beat = now;
        state.stall_noticed = false;
        let up_since = *state.up_since.get_or_insert(now);
        if state.alerted && up_since.elapsed() >= RECOVERED_AFTER {
            state.alerted = false;
        }
    }

    /// The pool stopped with `error`. Returns true when this outage should be announced
    /// (the first stop or silence since the pool last recovered).
    pub fn stopped(&self, error: &str) -> bool {
        let mut state = self.state();
        if state.stopped.is_none() {
            state.stopped = Some((Instant::now(), error.to_string()));
        }
        state.outage_starts()
    }

    /// True, once per silence, when the running pool has not beaten for longer than
    /// `stale_after` and this outage should be announced.
    pub fn noticed_stall(&self) -> bool {
        let mut state = self.state();
        let silent = state.stopped.is_none() && state.last_beat.elapsed() > state.stale_after;
        if !silent || state.stall_noticed {
            return false;
        }
        state.stall_noticed = true;
        state.outage_starts()
    }

    /// True when the last run had recovered (see [`RECOVERED_AFTER`]) before it stopped:
    /// asked right before [`stopped`](Self::stopped).
    pub fn had_recovered(&self) -> bool {
        self.state()
            .up_since
            .is_some_and(|since| since.elapsed() >= RECOVERED_AFTER)
    }

    /// A new pool is being started after a stop.
    pub fn restarting(&self) {
        self.state().restarts += 1;
    }

    pub fn status(&self) -> PoolStatus {
        let state = self.state();
        let silent_for = state.last_beat.elapsed();
        let (error, down_for) = match &state.stopped {
            Some((since, error)) => (Some(error.clone()), Some(since.elapsed())),
            None if silent_for > state.stale_after => (
                Some(format!(
                    "no heartbeat in the job queue for {}s",
                    silent_for.as_secs()
                )),
                Some(silent_for),
            ),
            None => (None, None),
        };
        PoolStatus {
            up: error.is_none(),
            restarts: state.restarts,
            error,
            down_for,
        }
    }
}

impl State {
    /// An outage starts: announce it unless the last one was announced and the pool did
    /// not recover since.
    fn outage_starts(&mut self) -> bool {
        let recovered = self
            .up_since
            .is_some_and(|since| since.elapsed() >= RECOVERED_AFTER);
        if recovered {
            self.alerted = false;
        }
        self.up_since = None;
        !std::mem::replace(&mut self.alerted, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_announced_once_until_the_pool_recovered() {
        let health = PoolHealth::new(Duration::from_secs(60));
        assert!(health.status().up);
        assert!(health.stopped("disk full"));
        assert!(!health.status().up);
        assert_eq!(health.status().error.as_deref(), Some("disk full"));
        health.restarting();
        health.beat();
        assert!(health.status().up);
        assert_eq!(health.status().restarts, 1);
        // Up again, but not for long: the same outage, not a second alert.
        assert!(!health.stopped("disk full again"));
        assert_eq!(health.status().error.as_deref(), Some("disk full again"));
    }

    #[test]
    fn a_silent_pool_is_down_and_announced_once() {
        // Long enough that a busy machine does not stall the first check past it.
        let health = PoolHealth::new(Duration::from_millis(500));
        assert!(!health.noticed_stall());
        std::thread::sleep(Duration::from_millis(700));
        assert!(!health.status().up);
        assert!(health.status().error.unwrap().contains("no heartbeat"));
        assert!(health.noticed_stall());
        assert!(!health.noticed_stall());
        // It stops after all: the same outage.
        assert!(!health.stopped("pool timed out"));
        health.beat();
        assert!(health.status().up);
    }
}
