//! Named points where a test can kill this process for real (SIGKILL, no unwinding, no
//! clean-up), to prove that what Coffer leaves behind at that moment is recovered.
//!
//! `COFFER_KILL_AT=<point>` kills the process the first time it reaches `<point>`;
//! `<point>#N` the N-th time (1-based), for points reached once per item. Unset (always, in
//! production) a point costs one environment lookup, cached.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The configured point and the hit it kills at.
fn armed() -> Option<&'static (String, u32)> {
    static ARMED: OnceLock<Option<(String, u32)>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let text = std::env::var("COFFER_KILL_AT").ok()?;
            let (name, nth) = match text.split_once('#') {
                Some((name, n)) => (name.to_string(), n.parse().ok()?),
                None => (text, 1),
            };
            Some((name, nth))
        })
        .as_ref()
}

/// Kills this process here if a test asked for it (see the module note).
pub fn point(name: &str) {
    static HITS: AtomicU32 = AtomicU32::new(0);
    let Some((armed, nth)) = armed() else {
        return;
    };
    if armed != name {
        return;
    }
    if HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
        eprintln!("COFFER_KILL_AT: killing this process at `{name}`");
        // SAFETY: sending a signal to ourselves has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
