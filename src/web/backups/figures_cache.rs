//! A short-lived cache for aggregate figures (list totals, stats) that can cost a scan.
//!
//! Measured over 100,000 records, a page of the list takes about 1 ms, but the totals of what
//! a filter matches (one GROUP BY) take 18–120 ms depending on the filter and the backend —
//! too slow to run on every view at 50 concurrent users. So the cost decides: a figure that
//! took less than [`CHEAP`] to compute (any small catalogue, every test) is never cached and
//! always exact; a costlier one is reused for [`REUSE_FOR`]. When it has expired, the first
//! request recomputes it while the others keep answering with the previous figures (for at
//! most one computation), so no request waits behind a scan and the same scan is never piled
//! onto the database by many requests at once.
//! Keys include the database URL, so consoles on different databases never share figures.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Figures computed faster than this are not cached.
pub const CHEAP: Duration = Duration::from_millis(10);
/// How long a costly figure is reused.
pub const REUSE_FOR: Duration = Duration::from_secs(5);
/// More distinct keys than this (many different filters) and the cache starts afresh.
const MAX_KEYS: usize = 1024;

type Value = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
struct Slot {
    value: Option<(Instant, Value)>,
    /// A request is recomputing the figures right now.
    refreshing: bool,
}

type Slots = Mutex<HashMap<String, Arc<Mutex<Slot>>>>;

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(Default::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The figures under `key`: fresh ones from the cache, stale ones while another request
/// refreshes them, else `compute()`'s (kept when they were costly).
pub fn cached<T, E>(key: String, compute: impl FnOnce() -> Result<T, E>) -> Result<T, E>
where
    T: Clone + Send + Sync + 'static,
{
    let slot = {
        let mut all = lock(slots());
        if all.len() >= MAX_KEYS && !all.contains_key(&key) {
            all.clear();
        }
        all.entry(key).or_default().clone()
    };
    {
        let mut current = lock(&slot);
        if let Some((until, value)) = &current.value {
            if let Some(value) = value.downcast_ref::<T>() {
                if Instant::now() < *until || current.refreshing {
                    return Ok(value.clone());
                }
            }
        }
        current.refreshing = true;
    }
    // Cleared however the computation ends (error or panic included).
    struct Refreshing<'a>(&'a Mutex<Slot>);
    impl Drop for Refreshing<'_> {
        fn drop(&mut self) {
            lock(self.0).refreshing = false;
        }
    }
    let _refreshing = Refreshing(&slot);
    let started = Instant::now();
    let value = compute()?;
    let took = started.elapsed();
    lock(&slot).value =
        (took >= CHEAP).then(|| (Instant::now() + REUSE_FOR, Arc::new(value.clone()) as Value));
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_figures_are_always_fresh_and_costly_ones_reused() {
        let mut calls = 0;
        for _ in 0..2 {
            let v: Result<u32, ()> = cached("test|cheap".into(), || {
                calls += 1;
                Ok(calls)
            });
            assert_eq!(v, Ok(calls));
        }
        assert_eq!(calls, 2);
        let slow = || {
            std::thread::sleep(CHEAP + Duration::from_millis(2));
            Ok::<_, ()>(7u32)
        };
        assert_eq!(cached("test|costly".into(), slow), Ok(7));
        assert_eq!(
            cached("test|costly".into(), || Ok::<_, ()>(8u32)),
            Ok(7),
            "reused"
        );
    }

    #[test]
    fn stale_figures_answer_while_one_request_refreshes_them() {
        let key = "test|stale".to_string();
        let slow = || {
            std::thread::sleep(CHEAP + Duration::from_millis(2));
            Ok::<_, ()>(1u32)
        };
        assert_eq!(cached(key.clone(), slow), Ok(1));
        // Expire it, then refresh slowly on another thread.
        let slot = lock(slots()).get(&key).unwrap().clone();
        if let Some((until, _)) = &mut lock(&slot).value {
            *until = Instant::now();
        }
        let refresher = std::thread::spawn({
            let key = key.clone();
            move || {
                cached(key, || {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok::<_, ()>(2u32)
                })
            }
        });
        while !lock(&slot).refreshing {
            std::thread::sleep(Duration::from_millis(1));
        }
        let during = cached(key.clone(), || Ok::<_, ()>(99u32));
        assert_eq!(
            during,
            Ok(1),
            "the previous figures, without waiting or recomputing"
        );
        assert_eq!(refresher.join().unwrap(), Ok(2));
        assert_eq!(
            cached(key, || Ok::<_, ()>(99u32)),
            Ok(2),
            "then the new ones"
        );
    }
}
