//! A Redis restore, staged in a temporary server and switched in by copying keys across.
//!
//! How a replace stays undoable: before the first key of the target changes, every key the
//! restore may overwrite or remove (the target database's keys, or those matching `--keys`)
//! is written with DUMP + PTTL to an undo journal on disk. Then the snapshot's keys are
//! copied in (`RESTORE … REPLACE`), and in replace mode the target's keys that the snapshot
//! lacks are removed. Undo removes the keys the restore wrote and restores the journal.
//! This works the same for a whole database, a key pattern, `--merge` and another server,
//! and needs no spare database number (SWAPDB into a spare database would be atomic for
//! readers, but only for a whole database on one server, and a database that looks empty
//! may still belong to another application). Readers see the copy as it happens; the
//! safety backup taken before the restore is the second line of defence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::conn::{open, Conn};
use super::copy::{
    dump_keys, existing, read_journal, restore_keys, unlink, JournalWriter, KeyDump, Scanner,
};
use super::stage::TempServer;
use crate::error::Result;
use crate::sources::server::ServerAddress;
use crate::sources::StagedRestore;

/// How long one pipelined batch may take once connected: big keys take a while to
/// serialise and load, and connect_timeout_seconds is about reaching the server.
const BATCH_WAIT: Duration = Duration::from_secs(120);

pub struct StagedRedis {
    pub server: TempServer,
    /// The database of the snapshot to restore (the source's).
    pub source_db: u32,
    /// The target server, with its database number in the URL's path.
    pub target: ServerAddress,
    pub pattern: Option<String>,
    pub merge: bool,
    pub journal: PathBuf,
    pub timeout: Duration,
    /// Whether the target may have been changed (so undo has work to do).
    pub touched: bool,
    pub warnings: Vec<String>,
}

impl StagedRedis {
    fn source_conn(&self) -> Result<Conn> {
        let mut conn = self.server.connect()?;
        conn.set_read_timeout(BATCH_WAIT)?;
        conn.select(self.source_db)?;
        Ok(conn)
    }

    fn target_conn(&self) -> Result<Conn> {
        let mut conn = open(&self.target, self.timeout)?;
        conn.set_read_timeout(BATCH_WAIT.max(self.timeout))?;
        conn.select(self.target.redis_db())?;
        Ok(conn)
    }

    fn copy_in(&mut self) -> Result<()> {
        let mut from = self.source_conn()?;
        let mut to = self.target_conn()?;
        let pattern = self.pattern.as_deref();
        let mut journal = JournalWriter::create(&self.journal)?;
        if !self.merge {
            let mut keys = Scanner::new(pattern);
            while let Some(batch) = keys.next(&mut to)? {
                journal.append(&dump_keys(&mut to, batch)?)?;
            }
        }
        // Saved before anything changes: from here on, undo has work to do.
        journal.flush()?;
        self.touched = true;
        crate::faults::point("redis:journaled");
        let mut keys = Scanner::new(pattern);
        while let Some(batch) = keys.next(&mut from)? {
            let copies = dump_keys(&mut from, batch)?;
            let names: Vec<Vec<u8>> = copies.iter().map(|k| k.key.clone()).collect();
            // Keys the target lacks are marked, so that putting back removes them again
            // without needing the snapshot (which a killed restore's server no longer holds).
            let present = existing(&mut to, &names)?;
            let absent: Vec<Vec<u8>> = names
                .iter()
                .zip(&present)
                .filter(|(_, present)| !**present)
                .map(|(k, _)| k.clone())
                .collect();
            journal.append_absent(&absent)?;
            if self.merge {
                journal.append(&dump_keys(&mut to, names)?)?;
            }
            journal.flush()?;
            restore_keys(&mut to, &copies)?;
            crate::faults::point("redis:batch");
        }
        if !self.merge {
            // The target's keys the snapshot does not hold go (only matching ones with --keys).
            let mut keys = Scanner::new(pattern);
            while let Some(batch) = keys.next(&mut to)? {
                let present = existing(&mut from, &batch)?;
                let extra: Vec<Vec<u8>> = batch
                    .into_iter()
                    .zip(present)
                    .filter(|(_, present)| !present)
                    .map(|(k, _)| k)
                    .collect();
                unlink(&mut to, &extra)?;
            }
        }
        Ok(())
    }

    fn put_back(&mut self) -> Result<()> {
        put_back(&self.target, self.timeout, &self.journal)?;
        self.touched = false;
        Ok(())
    }
}

/// Puts the target back as the undo journal at `journal` recorded it: the keys it held are
/// restored, the keys it lacked removed. Needs only the journal, so recovery after a kill
/// (`Redis::recover`) does the same.
pub fn put_back(target: &ServerAddress, timeout: Duration, journal: &Path) -> Result<()> {
    let mut to = open(target, timeout)?;
    to.set_read_timeout(BATCH_WAIT.max(timeout))?;
    to.select(target.redis_db())?;
    // Two passes: the added keys go first, so that the memory they hold is free before the
    // old keys come back (a target that ran out of memory mid-restore must still be put
    // back).
    read_journal(journal, |keys| {
        let absent: Vec<Vec<u8>> = keys
            .into_iter()
            .filter(|k| k.payload.is_empty())
            .map(|k| k.key)
            .collect();
        unlink(&mut to, &absent)
    })?;
    read_journal(journal, |keys| {
        let held: Vec<KeyDump> = keys.into_iter().filter(|k| !k.payload.is_empty()).collect();
        restore_keys(&mut to, &held)
    })
}

/// What the journal holds for a Redis restore: the target (a URL without password: the
/// source's is used, as for any target) and where its undo journal is.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub target: String,
    pub undo_journal: PathBuf,
}

impl StagedRestore for StagedRedis {
    /// The source's database of the restored snapshot, read as the backup read it.
    fn facts(&self) -> Result<crate::engine::manifest::SourceFacts> {
        super::facts::read(&self.server, self.source_db)
    }

    fn destination(&self) -> String {
        self.target.redacted()
    }

    fn recovery_record(&mut self) -> Result<serde_json::Value> {
        serde_json::to_value(Record {
            target: self.target.redacted(),
            undo_journal: self.journal.clone(),
        })
        .map_err(|e| crate::error::Error::Archive(format!("recording the switch: {e}")))
    }

    /// Copies the snapshot's keys in; a failure part-way puts the target back as it was.
    fn switch(&mut self) -> Result<()> {
        let copied = self.copy_in();
        if let Err(e) = copied {
            if self.touched {
                if let Err(undo) = self.put_back() {
                    tracing::error!(
                        "putting back {} after a failed restore failed: {undo}",
                        self.target.redacted()
                    );
                }
            }
            return Err(e);
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        if self.touched {
            self.put_back()?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Vec<String> {
        let _ = std::fs::remove_file(&self.journal);
        self.warnings
    }

    fn discard(self: Box<Self>) {
        let _ = std::fs::remove_file(&self.journal);
    }
}

/// Against the local server (127.0.0.1:6379), database 13, which no other test uses.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::SourceConfig;
    use crate::engine::progress::Silent;

    fn local(db: u32) -> ServerAddress {
        ServerAddress::of(
            &SourceConfig::from_toml(&format!(
                "name = 'cache'\nkind = 'redis'\nurl = 'redis://127.0.0.1:6379/{db}'\n\
                 connect_timeout_seconds = 5"
            ))
            .unwrap(),
        )
        .unwrap()
    }

    fn contents(conn: &mut Conn) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut all = BTreeMap::new();
        let mut keys = Scanner::new(None);
        while let Some(batch) = keys.next(conn).unwrap() {
            for k in dump_keys(conn, batch).unwrap() {
                all.insert(k.key, k.payload);
            }
        }
        all
    }

    #[test]
    fn undo_puts_back_what_the_switch_replaced() {
        let target = local(13);
        let timeout = Duration::from_secs(5);
        let mut conn = open(&target, timeout).unwrap();
        conn.select(13).unwrap();
        let run = |conn: &mut Conn, text: &str| {
            let args: Vec<&[u8]> = text.split(' ').map(str::as_bytes).collect();
            conn.ok(&args).unwrap();
        };
        for merge in [false, true] {
            run(&mut conn, "FLUSHDB");
            run(&mut conn, "SET a 1");
            run(&mut conn, "SET b 2");
            run(&mut conn, "HSET h f v");
            let snapshot = contents(&mut conn);
            let dir = tempfile::tempdir().unwrap();
            let mut sync = open(&target, timeout).unwrap();
            super::super::sync::download_rdb(&mut sync, &dir.path().join("dump.rdb"), &Silent)
                .unwrap();
            run(&mut conn, "SET a changed");
            run(&mut conn, "DEL b");
            run(&mut conn, "SET c new");
            let changed = contents(&mut conn);

            let mut staged = StagedRedis {
                server: TempServer::start(dir.path(), 16, &Silent).unwrap(),
                source_db: 13,
                target: target.clone(),
                pattern: None,
                merge,
                journal: dir.path().join("journal"),
                timeout,
                touched: false,
                warnings: vec![],
            };
            staged.switch().unwrap();
            let mut expected = snapshot.clone();
            if merge {
                expected.insert(b"c".to_vec(), changed[b"c".as_slice()].clone());
            }
            assert_eq!(contents(&mut conn), expected, "switched (merge: {merge})");
            staged.undo().unwrap();
            assert_eq!(contents(&mut conn), changed, "undone (merge: {merge})");
            Box::new(staged).discard();
        }
        run(&mut conn, "FLUSHDB");
    }
}
