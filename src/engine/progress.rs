//! Progress of long work as a plain value, and the small trait the engine reports through.
//! The engine only calls `report` and `should_stop`; throttling, persistence (task rows) and
//! display (CLI bar, SSE) belong to whoever implements the trait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    pub phase: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
}

impl Progress {
    pub fn percent(&self) -> f64 {
        if self.bytes_total == 0 {
            if self.files_total == 0 {
                return 0.0;
            }
            return 100.0 * self.files_done as f64 / self.files_total as f64;
        }
        (100.0 * self.bytes_done as f64 / self.bytes_total as f64).min(100.0)
    }
}

pub trait ProgressSink: Sync {
    fn report(&self, progress: &Progress);
    /// Checked between files; true asks the engine to stop and clean up.
    fn should_stop(&self) -> bool {
        false
    }
}

/// Reports nowhere; for tests and internal work such as safety backups' nested steps.
pub struct Silent;

impl ProgressSink for Silent {
    fn report(&self, _: &Progress) {}
}

/// Keeps the latest progress and a stop flag, shared between the working thread and
/// whoever publishes it (a heartbeat thread, a progress bar).
#[derive(Default)]
pub struct SharedProgress {
    latest: Mutex<Progress>,
    stop: AtomicBool,
}

impl SharedProgress {
    pub fn snapshot(&self) -> Progress {
        self.latest.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl ProgressSink for SharedProgress {
    fn report(&self, progress: &Progress) {
        if let Ok(mut latest) = self.latest.lock() {
            latest.clone_from(progress);
        }
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
