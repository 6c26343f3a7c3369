//! Progress of long work as a plain value, and the small trait the engine reports through.
//! The engine only calls `report` and `should_stop`; throttling, persistence (task rows) and
//! display (CLI bar, SSE) belong to whoever implements the trait.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Bytes of one file read (backup) or written (restore) between two reports: a 400 MiB file
/// moves the bar about 400 times instead of once at its end. Reports are cheap (the sink
/// keeps the latest value; a heartbeat samples it), so counting bytes is throttle enough.
pub const REPORT_EVERY_BYTES: u64 = 1 << 20;

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

/// A reader that adds what passes through it to `state.bytes_done`, reporting every
/// [`REPORT_EVERY_BYTES`]; and, at each report, stops with [`Cancelled`] (an `io::Error`)
/// when the sink asks to stop, so that cancelling does not wait for the end of a large file.
pub struct CountingReader<'a, R> {
    inner: R,
    state: &'a mut Progress,
    sink: &'a dyn ProgressSink,
    unreported: u64,
}

impl<'a, R: Read> CountingReader<'a, R> {
    pub fn new(inner: R, state: &'a mut Progress, sink: &'a dyn ProgressSink) -> Self {
        CountingReader {
            inner,
            state,
            sink,
            unreported: 0,
        }
    }
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state.bytes_done += n as u64;
        self.unreported += n as u64;
        if self.unreported >= REPORT_EVERY_BYTES {
            self.unreported = 0;
            self.sink.report(self.state);
            if self.sink.should_stop() {
                return Err(io::Error::other(Cancelled));
            }
        }
        Ok(n)
    }
}

/// Why a [`CountingReader`] stopped reading: the work was cancelled.
#[derive(Debug)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for Cancelled {}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Remembers every report.
    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<u64>>,
        stop: AtomicBool,
    }

    impl ProgressSink for Recorder {
        fn report(&self, progress: &Progress) {
            self.seen.lock().unwrap().push(progress.bytes_done);
        }
        fn should_stop(&self) -> bool {
            self.stop.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn a_large_file_reports_while_it_is_read() {
        let recorder = Recorder::default();
        let mut state = Progress {
            bytes_done: 5,
            bytes_total: 5 + 10 * REPORT_EVERY_BYTES,
            ..Progress::default()
        };
        let content = vec![1u8; 10 * REPORT_EVERY_BYTES as usize];
        let mut reader = CountingReader::new(&content[..], &mut state, &recorder);
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(state.bytes_done, 5 + 10 * REPORT_EVERY_BYTES);
        let seen = recorder.seen.lock().unwrap().clone();
        assert!(seen.len() >= 9, "about one report per MiB: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[test]
    fn cancelling_stops_within_a_file() {
        let recorder = Recorder::default();
        recorder.stop.store(true, Ordering::Relaxed);
        let mut state = Progress::default();
        let content = vec![1u8; 4 * REPORT_EVERY_BYTES as usize];
        let mut reader = CountingReader::new(&content[..], &mut state, &recorder);
        let error = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        assert!(error.get_ref().is_some_and(|e| e.is::<Cancelled>()));
        assert!(state.bytes_done <= 2 * REPORT_EVERY_BYTES);
    }
}
