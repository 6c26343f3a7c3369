//! How a worker pool learns that there is work. A job pushed from this process wakes every
//! pool of the process at once ([`Wakeups`]); the queue is also read every `every` (a job
//! pushed by another process: `coffer worker` beside `coffer serve`, a second host on
//! PostgreSQL). Before, only apalis's interval strategy woke a pool, and it replaces a timer
//! that fired with a new one it does not poll: nothing wakes the idle pool until its next
//! queue heartbeat (a third of `heartbeat_timeout_seconds`, 20 s), so jobs sat `pending` up
//! to 20 s. The timer here is polled on every call (tests/it/web/live_pages.rs measures both
//! ways in).

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};

/// The pools of one process that want to hear of pushed jobs; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(super) struct Wakeups {
    pools: Arc<Mutex<Vec<mpsc::UnboundedSender<()>>>>,
}

impl Wakeups {
    /// Tells every listening pool that a job was pushed (pools that ended are forgotten).
    pub(super) fn job_pushed(&self) {
        self.lock().retain(|pool| pool.send(()).is_ok());
    }

    /// The poll strategy of a new pool: woken by pushes, and every `every` in any case.
    pub(super) fn strategy(&self, every: Duration) -> PushedOrEvery {
        let (sender, pushed) = mpsc::unbounded_channel();
        self.lock().push(sender);
        let mut timer = tokio::time::interval(every);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        PushedOrEvery { pushed, timer }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<()>>> {
        self.pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Wakes a pool's poller when a job was pushed in this process or `every` has passed. Both
/// are polled on every call, so both always hold the poller's waker.
#[derive(Debug)]
pub(super) struct PushedOrEvery {
    pushed: mpsc::UnboundedReceiver<()>,
    timer: Interval,
}

impl PollStrategy for PushedOrEvery {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut due = false;
        // Several pushes since the last look need one look.
        while let Poll::Ready(Some(())) = self.pushed.poll_recv(cx) {
            due = true;
        }
        // A tick that is ready schedules the next one; the second poll arms its waker.
        while self.timer.poll_tick(cx).is_ready() {
            due = true;
        }
        if due {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
