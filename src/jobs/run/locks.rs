//! Two jobs never work on the same source at once, also across processes and hosts. Where
//! the lock lives follows the metadata:
//! - SQLite (one host): a lock file per source under `<data_dir>/locks/`, held (flock) for
//!   the job's whole run and released by the kernel if the process dies.
//! - PostgreSQL (workers on several hosts): a session-level advisory lock per source, taken
//!   on a connection of its own that the job holds for its whole run. PostgreSQL releases it
//!   when that connection ends — at once when the process is killed (its socket closes), and
//!   within about a minute when its host vanishes (the connection asks the server for TCP
//!   keepalives: 30 s idle, then 3 probes 10 s apart).

use std::fs::{self, File, TryLockError};
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel::PgConnection;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::{redact_url, Backend, DbConnection};
use crate::domain::check_plain_name;
use crate::error::{Error, IoContext, Result};

/// Held locks; dropping releases them.
pub struct SourceLocks {
    held: Held,
}

enum Held {
    Nothing,
    /// Held open for their flock; released when closed.
    Files {
        _files: Vec<File>,
    },
    Advisory(PgConnection),
}

impl SourceLocks {
    /// No locks, for work that only reads archives (verify).
    pub fn none() -> SourceLocks {
        SourceLocks {
            held: Held::Nothing,
        }
    }
}

impl Drop for SourceLocks {
    fn drop(&mut self) {
        if let Held::Advisory(conn) = &mut self.held {
            // Closing the connection would release them too, but the server notices a
            // closed connection a moment later; a waiting job should not have to.
            if let Err(e) = conn.batch_execute("SELECT pg_advisory_unlock_all()") {
                tracing::warn!("releasing source locks: {e} (they end with the connection)");
            }
        }
    }
}

/// Locks every source in `names`, or refuses at once naming the busy one (the CLI's way).
pub fn lock_sources(settings: &Settings, names: &[String]) -> Result<SourceLocks> {
    try_lock_sources(settings, names)?.map_err(|busy| {
        Error::Refused(format!(
            "source `{busy}` is busy: another backup or restore of it is running; try again when it has finished"
        ))
    })
}

/// Locks every source in `names`, or, when one is held by another job, releases what it
/// took and returns that source's name (`Ok(Err(name))`) so the caller can wait and retry.
pub fn try_lock_sources(
    settings: &Settings,
    names: &[String],
) -> Result<std::result::Result<SourceLocks, String>> {
    if names.is_empty() {
        return Ok(Ok(SourceLocks::none()));
    }
    match Backend::of_url(&settings.database_url) {
        Backend::Sqlite => try_lock_files(&settings.data_dir, names),
        Backend::Postgres => try_lock_advisory(&settings.database_url, names),
    }
}

fn try_lock_files(
    data_dir: &Path,
    names: &[String],
) -> Result<std::result::Result<SourceLocks, String>> {
    // A name becomes a file name: only plain ones, checked before anything is created.
    for name in names {
        check_plain_name(name).map_err(|m| Error::Refused(format!("source {m}: refused")))?;
    }
    let dir = data_dir.join("locks");
    fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(format!("{name}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx(|| format!("opening lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => files.push(file),
            Err(TryLockError::WouldBlock) => return Ok(Err(name.clone())),
            Err(TryLockError::Error(e)) => {
                return Err(e).ctx(|| format!("locking {}", path.display()))
            }
        }
    }
    Ok(Ok(SourceLocks {
        held: Held::Files { _files: files },
    }))
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

fn try_lock_advisory(
    url: &str,
    names: &[String],
) -> Result<std::result::Result<SourceLocks, String>> {
    let shown = redact_url(url);
    let DbConnection::Pg(mut conn) = DbConnection::connect(url)? else {
        return Err(Error::Refused(format!(
            "{shown} did not open as PostgreSQL"
        )));
    };
    // Keepalives from the server's side: a lock whose holder's host vanished (no FIN ever
    // comes) is released once the probes go unanswered, not after the kernel's 2 hours.
    conn.batch_execute(
        "SET application_name = 'coffer source locks'; \
         SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; \
         SET tcp_keepalives_count = 3",
    )
    .map_err(|e| Error::Refused(format!("preparing source locks in {shown}: {e}")))?;
    for name in names {
        let Taken { taken } = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind::<BigInt, _>(advisory_key(name))
            .get_result(&mut conn)
            .map_err(|e| Error::Refused(format!("locking source `{name}` in {shown}: {e}")))?;
        if !taken {
            // Dropping `SourceLocks` unlocks what was taken so far.
            drop(SourceLocks {
                held: Held::Advisory(conn),
            });
            return Ok(Err(name.clone()));
        }
    }
    Ok(Ok(SourceLocks {
        held: Held::Advisory(conn),
    }))
}

/// The advisory lock key of a source: the first 8 bytes of SHA-256("coffer-source:" + name),
/// the same in every process and version (Rust's own hasher is randomised per process).
pub fn advisory_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("coffer-source:{name}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::TestDatabase;

    fn settings(data_dir: &Path, database_url: &str) -> Settings {
        let text = format!(
            "data_dir = \"{}\"\ndatabase_url = \"{database_url}\"\n",
            data_dir.display()
        );
        Settings::from_toml(&text, "test", &|_| None).unwrap()
    }

    fn second_lock_is_refused(settings: &Settings) {
        let held = lock_sources(settings, &["db".into()]).unwrap();
        let err = lock_sources(settings, &["db".into()]).err().unwrap();
        assert!(err.to_string().contains("busy"), "{err}");
        assert!(lock_sources(settings, &["uploads".into()]).is_ok());
        // A refused set keeps none of its sources.
        let busy = try_lock_sources(settings, &["other".into(), "db".into()]).unwrap();
        assert_eq!(busy.err().as_deref(), Some("db"));
        assert!(lock_sources(settings, &["other".into()]).is_ok());
        drop(held);
        assert!(lock_sources(settings, &["db".into()]).is_ok());
    }

    #[test]
    fn a_second_lock_on_the_same_source_is_refused_with_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("coffer.db").display().to_string();
        second_lock_is_refused(&settings(dir.path(), &url));
    }

    #[test]
    fn a_second_lock_on_the_same_source_is_refused_with_advisory_locks() {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDatabase::postgres().unwrap();
        let settings = settings(dir.path(), db.url());
        second_lock_is_refused(&settings);
        assert!(
            !dir.path().join("locks").exists(),
            "PostgreSQL locks need no lock files"
        );
    }

    #[test]
    fn advisory_keys_are_stable_and_distinct() {
        // Pinned: another version or host must compute the same key for the same source.
        assert_eq!(advisory_key("db"), advisory_key("db"));
        assert_ne!(advisory_key("db"), advisory_key("db2"));
        let digest = Sha256::digest(b"coffer-source:db");
        assert_eq!(
            advisory_key("db").to_be_bytes().as_slice(),
            &digest[..8],
            "the key is the digest's first 8 bytes"
        );
    }
}
