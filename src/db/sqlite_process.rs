//! Two process-wide SQLite settings, made once before the first SQLite connection opens.
//!
//! Profiled under `bench/web.sh` (50 connections, 2 cores, a search page per request), two
//! SQLite defaults cost the console more CPU than its queries did:
//!
//! - **Memory statistics** (`SQLITE_CONFIG_MEMSTATUS`, on by default) make every SQLite
//!   allocation take one process-wide mutex to count bytes. With a dozen threads parsing and
//!   stepping statements at once, waking the threads queued on it took about a fifth of the
//!   server's CPU. Coffer never reads those statistics; off, an allocation is a plain malloc.
//! - **Re-preparing on bind**: SQLite marks a statement whose plan might depend on a bound
//!   value (`LIMIT ?`, `MATCH ?`, `LIKE ?`), and binding a new value there compiles the
//!   statement again at its next step. diesel binds every LIMIT, so nearly every query was
//!   compiled twice (17 % of the CPU; even statements diesel caches were recompiled on each
//!   use). The query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) plans without
//!   looking at bound values, once. No Coffer query has a plan that needs them: there is no
//!   `sqlite_stat4` table (no ANALYZE), and no LIKE with a bound pattern has an index it could
//!   range-scan.
//!
//! QPSG is set by an auto-extension, which SQLite runs on every connection the process opens
//! (diesel's, and the queue's through sqlx: one bundled SQLite serves both).

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Applies both settings the first time it is called; later calls do nothing.
pub fn configure_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config takes this option with one int; it only changes global
        // settings, and answers SQLITE_MISUSE (harmless) if SQLite was already initialised.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite was initialised already; memory statistics stay on"
            );
        }
        // SAFETY: the entry point has the signature SQLite calls auto-extensions with.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(plan_without_bound_values)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "cannot register the SQLite connection setup");
        }
    });
}

/// Runs on each new SQLite connection: turns on the query planner stability guarantee.
unsafe extern "C" fn plan_without_bound_values(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection SQLite is opening; this option takes an int and an
    // optional int pointer for the new state (not wanted).
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        );
    }
    // The setting only changes speed: a connection without it is still correct.
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, CString};

    use libsqlite3_sys as ffi;

    /// On a connection opened after the setup, a statement with a bound LIMIT runs with new
    /// values without being compiled again, and each run honours its own value.
    #[test]
    fn statements_are_not_recompiled_for_new_bound_values() {
        super::configure_once();
        // SAFETY: plain use of the SQLite C API on a private in-memory connection; every
        // handle is closed before the end, and pointers come from SQLite itself.
        unsafe {
            let mut db = std::ptr::null_mut();
            let name = CString::new(":memory:").unwrap();
            assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut db), ffi::SQLITE_OK);
            let mut qpsg: c_int = -1;
            ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1 as c_int, &mut qpsg);
            assert_eq!(qpsg, 1, "the auto-extension set QPSG");

            let sql = CString::new(
                "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 9) \
                 SELECT v FROM n LIMIT ?",
            )
            .unwrap();
            let mut stmt = std::ptr::null_mut();
            let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut());
            assert_eq!(rc, ffi::SQLITE_OK);
            for limit in [2, 5, 3] {
                ffi::sqlite3_bind_int(stmt, 1, limit);
                let mut rows = 0;
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {
                    rows += 1;
                }
                ffi::sqlite3_reset(stmt);
                assert_eq!(rows, limit);
            }
            let reprepared = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            assert_eq!(reprepared, 0, "compiled once");
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
        }
    }
}
