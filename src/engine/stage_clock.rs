//! How long each stage below the tar walk was busy while an archive was read: fetching the
//! stored bytes, checking their SHA-256, decrypting them.
//!
//! The stages run alongside each other (storage, digest and decryption on the read-ahead
//! thread, inflate and writes on others), so their times overlap and do not add up to the
//! wall time: each says how much of the restore one stage cost, which tells an operator
//! whose RTO is too long whether storage, the CPU or the target is the bottleneck.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared counters; clones count into the same ones. Cheap to keep when nobody reads them.
#[derive(Debug, Clone, Default)]
pub struct StageClock(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    /// Nanoseconds inside reads of the stored bytes (storage: a file, S3).
    fetch: AtomicU64,
    /// Nanoseconds hashing the stored bytes.
    check: AtomicU64,
    /// Nanoseconds inside reads of the decrypted stream, fetch and check included.
    below_gzip: AtomicU64,
}

/// Busy time of each stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageTimes {
    pub fetch: Duration,
    pub check: Duration,
    /// Zero for a plain archive.
    pub decrypt: Duration,
}

/// Which counter a [`Timed`] reader adds to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    Fetch,
    Check,
    BelowGzip,
}

impl StageClock {
    /// What was counted so far.
    pub fn times(&self) -> StageTimes {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (fetch, check) = (read(&self.0.fetch), read(&self.0.check));
        let decrypt = read(&self.0.below_gzip).saturating_sub(fetch + check);
        StageTimes {
            fetch: Duration::from_nanos(fetch),
            check: Duration::from_nanos(check),
            decrypt: Duration::from_nanos(decrypt),
        }
    }

    /// Adds the time `work` took to `stage`.
    pub(crate) fn time<T>(&self, stage: Stage, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = work();
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counter(stage).fetch_add(nanos, Ordering::Relaxed);
        result
    }

    fn counter(&self, stage: Stage) -> &AtomicU64 {
        match stage {
            Stage::Fetch => &self.0.fetch,
            Stage::Check => &self.0.check,
            Stage::BelowGzip => &self.0.below_gzip,
        }
    }

    /// `inner`, with the time spent in its reads added to `stage`.
    pub(crate) fn timed<R: Read>(&self, stage: Stage, inner: R) -> Timed<R> {
        Timed {
            inner,
            clock: self.clone(),
            stage,
        }
    }
}

pub(crate) struct Timed<R> {
    inner: R,
    clock: StageClock,
    stage: Stage,
}

impl<R: Read> Read for Timed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Timed {
            inner,
            clock,
            stage,
        } = self;
        clock.time(*stage, || inner.read(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that takes `pause` per read.
    struct Slow(Duration, usize);

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 == 0 {
                return Ok(0);
            }
            self.1 -= 1;
            std::thread::sleep(self.0);
            buf[0] = 1;
            Ok(1)
        }
    }

    #[test]
    fn decrypt_is_the_time_below_gzip_that_neither_fetch_nor_check_took() {
        let clock = StageClock::default();
        let fetched = clock.timed(Stage::Fetch, Slow(Duration::from_millis(20), 3));
        let mut outer = clock.timed(
            Stage::BelowGzip,
            Slow(Duration::from_millis(10), 2).chain(fetched),
        );
        std::io::copy(&mut outer, &mut std::io::sink()).unwrap();
        let times = clock.times();
        assert!(times.fetch >= Duration::from_millis(60), "{times:?}");
        assert!(times.decrypt >= Duration::from_millis(20), "{times:?}");
        // Counted twice, fetch would make decrypt at least as long as itself.
        assert!(times.decrypt < times.fetch, "{times:?}");
        assert_eq!(times.check, Duration::ZERO);
    }
}
