//! The restore journal: a durable record, per restore task, of what the restore is about to
//! change, so that a process killed at any moment leaves nothing that the next start (or
//! `coffer recover`) cannot settle.
//!
//! One file per restore, `<data_dir>/journal/<task>.json`, replaced atomically (temporary
//! file, fsync, rename, fsync of the folder) at each phase:
//!
//! - `staging`: nothing live has changed; staging folders and databases may exist.
//!   Recovery removes them.
//! - `switching`: written before the first switch step, with everything needed to tell, for
//!   each item, whether it was switched (the staged item's inode, the databases' names).
//!   Recovery **rolls back** every source: all old.
//! - `committed`: written after the last switch step succeeded. Recovery **rolls forward**:
//!   removes what was replaced and the staging leftovers; every source stays new.
//!
//! The owner holds an exclusive `flock` on `<task>.lock` for as long as the restore runs; the
//! kernel drops it when the process dies, which is how recovery tells a dead restore from a
//! live one (on this host: the targets of a restore are local paths, or databases reached
//! from this host with this host's configuration). The journal is removed only after the
//! task's end is recorded, so recovery also knows whether the task row still needs settling.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::SourceKind;
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Staging,
    Switching,
    Committed,
}

/// What the restore of one task changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub task_id: String,
    pub backup_id: String,
    /// Every source of the restore (recovery locks them, and a new restore of one of them
    /// waits until this one is settled).
    #[serde(default)]
    pub sources: Vec<String>,
    pub phase: Phase,
    /// Recovery could not settle it and has said so once (task and audit log).
    #[serde(default)]
    pub unsettled_reported: bool,
    /// Staging folders (and files) to remove whatever happens.
    pub staging: Vec<PathBuf>,
    /// Path-based switches (directories, files, SQLite), in switch order.
    pub paths: Vec<PathItem>,
    /// Database server sources, in switch order.
    pub databases: Vec<DatabaseItem>,
    /// A drill's journal: it never switches, and recovery only removes its scratch copies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
}

impl Journal {
    /// The journal of a restore about to stage `placements` (nothing live changed yet).
    pub(crate) fn new(
        task_id: &str,
        backup_id: &str,
        placements: &[crate::jobs::restore::plan::Placement],
    ) -> Journal {
        Journal {
            task_id: task_id.into(),
            backup_id: backup_id.into(),
            sources: placements.iter().map(|p| p.source.name.clone()).collect(),
            phase: Phase::Staging,
            unsettled_reported: false,
            staging: placements.iter().map(|p| p.staging.clone()).collect(),
            paths: Vec::new(),
            databases: Vec::new(),
            drill: false,
        }
    }
}

/// One live path replaced by a staged one. The staged item is recognised by its inode, which
/// a rename or exchange keeps: wherever it is found tells how far the switch got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathItem {
    pub source: String,
    pub target: PathBuf,
    /// Whether something was at `target` before the switch (only then is one put back).
    pub had_target: bool,
    pub staged: PathBuf,
    /// `(device, inode)` of the staged item.
    pub staged_id: (u64, u64),
    /// Where the previous item goes once swapped out.
    pub aside: PathBuf,
    /// Files beside the target moved into `aside` first (a SQLite database's `-wal`,
    /// `-shm`, `-journal`), as (live path, aside path).
    pub sides: Vec<(PathBuf, PathBuf)>,
    /// Folders the switch creates on the way to `target` (a path-filtered restore).
    pub created: Vec<PathBuf>,
    /// Left-out entries of the live tree could not be carried into the staged one: what is
    /// replaced stays in `aside` rather than being removed.
    pub keep_aside: bool,
}

/// One database server source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseItem {
    pub source: String,
    pub kind: SourceKind,
    /// Names what staging creates (`<db>_coffer_staging_<tag>`).
    pub tag: String,
    /// The target server as a URL without password, when it is not the source's own (a
    /// target URL): recovery looks there for what staging created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The kind's own record of its switch, once staged (`StagedRestore::recovery_record`).
    pub record: Option<serde_json::Value>,
}

/// The journal of a running restore, and the lock that says its owner is alive.
pub struct JournalFile {
    path: PathBuf,
    lock: PathBuf,
    _held: File,
    /// Left for recovery: `remove` does nothing.
    kept: bool,
    pub journal: Journal,
}

pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

impl JournalFile {
    /// Creates the journal of `journal.task_id`, locked by this process.
    pub fn create(data_dir: &Path, journal: Journal) -> Result<JournalFile> {
        let dir = folder(data_dir);
        fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        // It names every path a recovery may move or remove: Coffer's user alone writes it.
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .ctx(|| format!("securing {}", dir.display()))?;
        let lock = dir.join(format!("{}.lock", journal.task_id));
        let held = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .ctx(|| format!("creating {}", lock.display()))?;
        if !try_lock(&held) {
            return Err(Error::Refused(format!(
                "restore task {} is being run by another process",
                journal.task_id
            )));
        }
        let file = JournalFile {
            path: dir.join(format!("{}.json", journal.task_id)),
            lock,
            _held: held,
            kept: false,
            journal,
        };
        file.write()?;
        Ok(file)
    }

    /// Records `phase` durably; the caller changes nothing live before this returns.
    pub fn advance(&mut self, phase: Phase) -> Result<()> {
        self.journal.phase = phase;
        self.write()
    }

    fn write(&self) -> Result<()> {
        write_durably(&self.path, &encode(&self.journal)?)
    }

    /// The restore could not put everything back: the journal stays for recovery, which
    /// takes it over once this process lets go of it.
    pub fn keep(&mut self) {
        self.kept = true;
    }

    /// The restore's end is recorded: nothing is left to recover (unless kept).
    pub fn remove(self) {
        if !self.kept {
            remove_journal(&self.path, &self.lock);
        }
    }
}

/// Journals on this host whose owner died, each with its lock held by the caller until the
/// journal is settled. A journal that cannot be read is reported, not skipped silently.
pub fn abandoned(data_dir: &Path) -> Vec<(Result<Journal>, Abandoned)> {
    let dir = folder(data_dir);
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(&dir) else {
        return found;
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let lock = path.with_extension("lock");
        let Ok(held) = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
        else {
            continue;
        };
        if !try_lock(&held) {
            continue; // its restore is running
        }
        if !path.exists() {
            // Settled between the listing and the lock by its owner or another recovery.
            let _ = fs::remove_file(&lock);
            continue;
        }
        let journal = fs::read(&path)
            .ctx(|| format!("reading {}", path.display()))
            .and_then(|bytes| {
                serde_json::from_slice::<Journal>(&bytes).map_err(|e| {
                    Error::Archive(format!(
                        "restore journal {} is unreadable: {e}",
                        path.display()
                    ))
                })
            });
        found.push((
            journal,
            Abandoned {
                path,
                lock,
                _held: held,
            },
        ));
    }
    found
}

/// The restores (task ids) whose journals are still in the folder and name one of
/// `sources`: a new restore of those sources must wait until they are settled.
pub fn pending_for(data_dir: &Path, sources: &[String]) -> Vec<String> {
    let mut tasks = Vec::new();
    for entry in fs::read_dir(folder(data_dir))
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.path().extension().is_none_or(|x| x != "json") {
            continue;
        }
        let journal = fs::read(entry.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Journal>(&bytes).ok());
        if let Some(journal) = journal {
            if journal.sources.iter().any(|s| sources.contains(s)) {
                tasks.push(journal.task_id);
            }
        }
    }
    tasks
}

/// Refuses work on `sources` while a restore of one of them is in the journal folder (running,
/// or dead and not settled yet): its target may be half-replaced, so a new restore must not
/// start over it and a backup must not record it. `then`: what to do once it is settled.
pub fn refuse_unsettled(data_dir: &Path, sources: &[String], then: &str) -> Result<()> {
    let pending = pending_for(data_dir, sources);
    if pending.is_empty() {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "an interrupted restore of these sources is not settled yet (task {}): run `coffer \
         recover` and {then} once it says settled",
        pending.join(", ")
    )))
}

/// Staging paths named by any journal still in the folder (a running restore, or one not
/// settled yet): the sweep of old scratch files must leave them (a Redis undo journal
/// lives there).
pub fn staging_in_use(data_dir: &Path) -> std::collections::HashSet<PathBuf> {
    let mut paths = std::collections::HashSet::new();
    for entry in fs::read_dir(folder(data_dir))
        .into_iter()
        .flatten()
        .flatten()
    {
        let journal = fs::read(entry.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Journal>(&bytes).ok());
        if let Some(journal) = journal {
            paths.extend(journal.staging);
        }
    }
    paths
}

/// A dead restore's journal, locked by the recovering process.
pub struct Abandoned {
    path: PathBuf,
    lock: PathBuf,
    _held: File,
}

impl Abandoned {
    /// Records how far recovery got (a recovery killed in turn resumes from here).
    pub fn rewrite(&self, journal: &Journal) -> Result<()> {
        write_durably(&self.path, &encode(journal)?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn remove(self) {
        remove_journal(&self.path, &self.lock);
    }
}

fn encode(journal: &Journal) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(journal)
        .map_err(|e| Error::Archive(format!("encoding the restore journal: {e}")))
}

fn remove_journal(path: &Path, lock: &Path) {
    if let Err(e) = fs::remove_file(path) {
        tracing::warn!("cannot remove restore journal {}: {e}", path.display());
    }
    let _ = fs::remove_file(lock);
    if let Some(dir) = path.parent() {
        let _ = sync_folder(dir);
    }
}

fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Replaces `path` with `bytes` so that a crash leaves the old or the new content, never a
/// mix: temporary file, fsync, rename, fsync of the folder.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension("json.tmp");
    let mut file = File::create(&temp).ctx(|| format!("creating {}", temp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .ctx(|| format!("writing {}", temp.display()))?;
    fs::rename(&temp, path).ctx(|| format!("renaming {}", temp.display()))?;
    sync_folder(path.parent().unwrap_or(Path::new(".")))
}

/// Makes the renames inside `dir` durable.
pub fn sync_folder(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("syncing {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(task: &str) -> Journal {
        Journal {
            task_id: task.into(),
            backup_id: "b".into(),
            sources: vec![],
            phase: Phase::Staging,
            unsettled_reported: false,
            staging: vec![],
            paths: vec![],
            databases: vec![],
            drill: false,
        }
    }

    #[test]
    fn a_live_journal_is_not_abandoned_and_a_dropped_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = JournalFile::create(dir.path(), journal("t1")).unwrap();
        live.advance(Phase::Switching).unwrap();
        assert!(abandoned(dir.path()).is_empty(), "its owner holds the lock");
        drop(live); // as the kernel does when the owner dies
        let found = abandoned(dir.path());
        assert_eq!(found.len(), 1);
        let (journal, lock) = found.into_iter().next().unwrap();
        assert_eq!(journal.unwrap().phase, Phase::Switching);
        lock.remove();
        assert!(abandoned(dir.path()).is_empty());
        assert_eq!(fs::read_dir(folder(dir.path())).unwrap().count(), 0);
    }

    #[test]
    fn a_second_owner_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = JournalFile::create(dir.path(), journal("t2")).unwrap();
        assert!(JournalFile::create(dir.path(), journal("t2")).is_err());
    }
}
