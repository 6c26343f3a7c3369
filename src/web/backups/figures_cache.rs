//! A short-lived cache for aggregate figures (list totals, stats) that can cost a scan.
//!
//! Measured over 100,000 records, a page of the list takes about 1 ms, but the totals of what
//! a filter matches (one GROUP BY) take 18–120 ms depending on the filter and the backend —
//! too slow to run on every view at 50 concurrent users. So the cost decides: a figure that
//! took less than [`CHEAP`] to compute (any small catalogue, every test) is never cached and
//! always exact; a costlier one is reused for [`REUSE_FOR`]. One computation per key runs at
//! a time (the others wait for its result instead of piling the same scan onto the database).
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
}

fn slots() -> &'static Mutex<HashMap<String, Arc<Mutex<Slot>>>> {
    static SLOTS: OnceLock<Mutex<HashMap<String, Arc<Mutex<Slot>>>>> = OnceLock::new();
    SLOTS.get_or_init(Default::default)
}

/// The figure under `key`: reused while fresh, else computed by `compute` (on the calling
/// thread, which must be a blocking one).
pub fn cached<T, E>(key: String, compute: impl FnOnce() -> Result<T, E>) -> Result<T, E>
where
    T: Clone + Send + Sync + 'static,
{
    let slot = {
        let mut all = slots().lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= MAX_KEYS && !all.contains_key(&key) {
            all.clear();
        }
        all.entry(key).or_default().clone()
    };
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((until, value)) = &slot.value {
        if Instant::now() < *until {
            if let Some(value) = value.downcast_ref::<T>() {
                return Ok(value.clone());
            }
        }
    }
    let started = Instant::now();
    let value = compute()?;
    let took = started.elapsed();
    slot.value =
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
}
