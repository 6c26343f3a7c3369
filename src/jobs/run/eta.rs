//! The "time left" of a running task, and the rate it is based on. The average since the
//! start is a poor guess: a task's phases (waiting, dumping a database, archiving) move at
//! different speeds, and the first seconds of a phase say little. So the estimate starts
//! over with each phase, is not given before [`MIN_MEASURED`] of measured
//! progress and [`MIN_FRACTION`] of the work (or [`LONG_ENOUGH`] of measuring, for large
//! jobs), and follows an exponentially weighted rate: a short stall or burst moves it a
//! little, a lasting change of speed moves it within a few seconds.

use std::time::{Duration, Instant};

use crate::engine::progress::Progress;

/// Measured progress in a phase before any estimate.
pub const MIN_MEASURED: Duration = Duration::from_secs(3);
/// Share of the phase's bytes done before any estimate...
pub const MIN_FRACTION: f64 = 0.05;
/// ...unless the phase has been measured this long (5 % of a large job takes minutes).
pub const LONG_ENOUGH: Duration = Duration::from_secs(30);
/// The time constant of the weighted rate: a sample this old counts 1/e of a new one.
const SMOOTHING: Duration = Duration::from_secs(5);
/// Samples closer together than this are not used for the rate (too noisy).
const MIN_SAMPLE_GAP: Duration = Duration::from_millis(100);

/// Feeds on a task's progress reports; tells the smoothed rate and the time left.
#[derive(Debug, Clone, Default)]
pub struct Eta {
    phase: String,
    total: u64,
    /// When this phase was first seen, and its bytes done then.
    since: Option<(Instant, u64)>,
    /// The last sample used for the rate.
    last: Option<(Instant, u64)>,
    /// Bytes per second, weighted towards recent samples; `None` before [`MIN_MEASURED`].
    rate: Option<f64>,
}

impl Eta {
    pub fn new() -> Eta {
        Eta::default()
    }

    /// Takes the progress seen at `now` and returns the seconds left, when known well enough.
    pub fn update(&mut self, progress: &Progress, now: Instant) -> Option<i64> {
        // A new phase, or a count that went back, is new work at its own speed. A total
        // that changes within a phase (an estimate refined) keeps the rate measured so far.
        let went_back = self
            .last
            .is_some_and(|(_, done)| progress.bytes_done < done);
        if progress.phase != self.phase || went_back {
            *self = Eta {
                phase: progress.phase.clone(),
                ..Eta::default()
            };
        }
        self.total = progress.bytes_total;
        let done = progress.bytes_done.min(self.total);
        let (since, done_then) = *self.since.get_or_insert((now, done));
        let (last_at, last_done) = *self.last.get_or_insert((now, done));
        let measured = now.saturating_duration_since(since);
        if measured >= MIN_MEASURED {
            let gap = now.saturating_duration_since(last_at);
            match self.rate {
                // The first rate is the phase's average so far, not one noisy sample.
                None => {
                    self.rate =
                        Some(done.saturating_sub(done_then) as f64 / measured.as_secs_f64());
                    self.last = Some((now, done));
                }
                Some(rate) if gap >= MIN_SAMPLE_GAP => {
                    let sample = done.saturating_sub(last_done) as f64 / gap.as_secs_f64();
                    let weight = 1.0 - (-gap.as_secs_f64() / SMOOTHING.as_secs_f64()).exp();
                    self.rate = Some(rate + weight * (sample - rate));
                    self.last = Some((now, done));
                }
                Some(_) => {}
            }
        }
        self.seconds_left(done, measured)
    }

    /// The smoothed rate in bytes per second, once measured.
    pub fn rate(&self) -> Option<u64> {
        self.rate.map(|r| r.max(0.0) as u64)
    }

    fn seconds_left(&self, done: u64, measured: Duration) -> Option<i64> {
        let rate = self.rate.filter(|r| *r > 0.0)?;
        if self.total == 0 || measured < MIN_MEASURED {
            return None;
        }
        let fraction = done as f64 / self.total as f64;
        if fraction < MIN_FRACTION && measured < LONG_ENOUGH {
            return None;
        }
        let left = (self.total - done) as f64 / rate;
        (left.is_finite() && left < i64::MAX as f64).then(|| left.ceil() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(phase: &str, done: u64, total: u64) -> Progress {
        Progress {
            phase: phase.into(),
            bytes_done: done,
            bytes_total: total,
            ..Progress::default()
        }
    }

    /// Feeds `rate_of(t)` bytes per second in 200 ms ticks from `from` to `to` seconds.
    fn run(
        eta: &mut Eta,
        start: Instant,
        done: &mut u64,
        total: u64,
        (from, to): (u64, u64),
        rate_of: impl Fn(f64) -> f64,
    ) -> Vec<(f64, Option<i64>)> {
        let mut seen = Vec::new();
        for tick in (from * 5)..(to * 5) {
            let t = tick as f64 / 5.0;
            *done = (*done + (rate_of(t) / 5.0) as u64).min(total);
            let now = start + Duration::from_millis(tick * 200);
            seen.push((t, eta.update(&at("archiving", *done, total), now)));
        }
        seen
    }

    #[test]
    fn nothing_is_promised_before_three_seconds_and_five_percent() {
        let mut eta = Eta::new();
        let start = Instant::now();
        let mut done = 0;
        // 1 MiB/s of 100 MiB: 3 % after 3 s, 5 % after 5 s.
        let seen = run(&mut eta, start, &mut done, 100 << 20, (0, 8), |_| 1048576.0);
        for (t, left) in &seen {
            if *t < 5.0 {
                assert_eq!(*left, None, "at {t} s");
            }
        }
        let (_, last) = seen.last().unwrap();
        let left = last.expect("an estimate after 5 %");
        assert!((90..=95).contains(&left), "{left}");
    }

    #[test]
    fn a_large_job_gets_an_estimate_after_half_a_minute() {
        let mut eta = Eta::new();
        let start = Instant::now();
        let mut done = 0;
        // 1 MiB/s of 10 GiB: 5 % would take almost nine minutes.
        let seen = run(&mut eta, start, &mut done, 10 << 30, (0, 31), |_| 1048576.0);
        assert!(seen.iter().all(|(t, l)| *t >= 30.0 || l.is_none()));
        assert!(seen.last().unwrap().1.is_some());
    }

    #[test]
    fn a_slow_start_does_not_make_the_estimate_run_away() {
        // A 10 s job whose first 4 s move almost nothing (opening, a slow first file),
        // then 10 MiB/s: the old average-since-start estimate climbed for seconds on end.
        let mut eta = Eta::new();
        let start = Instant::now();
        let mut done = 0;
        let total = 64 << 20;
        let slow_then_fast = |t: f64| if t < 4.0 { 100_000.0 } else { 10.0 * 1048576.0 };
        let seen = run(&mut eta, start, &mut done, total, (0, 10), slow_then_fast);
        let estimates: Vec<(f64, i64)> = seen
            .iter()
            .filter_map(|(t, l)| l.map(|l| (*t, l)))
            .collect();
        assert!(!estimates.is_empty());
        for pair in estimates.windows(2) {
            let ((_, a), (t, b)) = (pair[0], pair[1]);
            assert!(b <= a + 1, "time left rose from {a} to {b} s at {t} s");
        }
        assert!(
            estimates.iter().all(|(_, l)| *l < 120),
            "never hundreds of seconds for a ten-second job: {estimates:?}"
        );
    }

    #[test]
    fn a_refined_total_keeps_the_rate() {
        let mut eta = Eta::new();
        let start = Instant::now();
        let mut done = 0;
        run(&mut eta, start, &mut done, 10 << 20, (0, 6), |_| 1048576.0);
        let rate = eta.rate().unwrap();
        // The same moment as the last sample: only the total changed.
        let same = start + Duration::from_millis(5800);
        let left = eta.update(&at("archiving", done, 20 << 20), same).unwrap();
        assert_eq!(eta.rate(), Some(rate));
        assert!((13..=15).contains(&left), "{left}");
    }

    #[test]
    fn a_new_phase_starts_over() {
        let mut eta = Eta::new();
        let start = Instant::now();
        let mut done = 0;
        let seen = run(&mut eta, start, &mut done, 10 << 20, (0, 6), |_| 1048576.0);
        assert!(seen.last().unwrap().1.is_some());
        let later = start + Duration::from_secs(6);
        assert_eq!(eta.update(&at("restoring", 0, 50 << 20), later), None);
        assert_eq!(eta.rate(), None);
    }

    #[test]
    fn a_stall_slows_the_estimate_down_gradually() {
        let mut eta = Eta::new();
        let start = Instant::now();
        let mut done = 0;
        let total = 200 << 20;
        run(&mut eta, start, &mut done, total, (0, 20), |_| {
            4.0 * 1048576.0
        });
        let before = eta.rate().unwrap();
        // Half a second without a byte (a large file's header, a slow disk).
        run(&mut eta, start, &mut done, total, (20, 21), |_| 0.0);
        let after = eta.rate().unwrap();
        assert!(after < before && after > before / 2, "{before} → {after}");
    }
}
