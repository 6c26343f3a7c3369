//! Extracts chosen entries of a backup into staging folders, checking everything on the way:
//! each archive's stored SHA-256, each file's SHA-256 against the manifest, and the plan
//! itself (`restorable.rs`) before anything is created. Content for an incremental comes from
//! whichever archive of the chain holds it; each archive is read once. Nothing here touches
//! the restore target itself.
//!
//! No write ever goes through a link: `staging.rs` creates everything relative to opened
//! folders without following links. Links themselves are restored exactly as stored.
//!
//! The manifest that drives a restore comes from the catalogue, which may have been rebuilt
//! from storage, and storage is not trusted. The backup's own archive is read first, in the
//! same pass that extracts its files, and at its end the SHA-256 of the manifest inside it
//! (its last entry) is compared with the catalogue's copy ([`authenticate`]): until then
//! only folders and files inside the staging folders exist, written without setuid, setgid
//! or sticky bits, each file checked against the manifest; no link is created and no folder
//! sealed, and a mismatch fails the restore, whose caller removes the staging folders.
//! (Reading the archive once more before extracting, as earlier versions did, cost a
//! restore as much as a deep verify.) Setuid, setgid and sticky bits are granted only from
//! a manifest read from an authenticated (encrypted) archive, and only by root; otherwise
//! they are dropped.

mod staging;
#[cfg(test)]
mod tests;
mod writers;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::archive_reader::{walk_archive_timed, EmbeddedManifest, Plain, StoredDigest};
use super::keyring::Keyring;
use super::manifest::{sum_sizes, EntryKind, FileEntry, Manifest};
use super::progress::{CountingReader, Progress, ProgressSink};
use super::restorable::check_manifest;
use super::stage_clock::StageClock;
use crate::error::{Error, Result};
use staging::Staging;
use writers::{FileWriters, Shared};

/// One archive of the chain: how to open it and what its stored bytes must hash to.
pub trait ArchiveSource {
    fn open(&self, backup_id: &str) -> Result<(Box<dyn Read + Send>, StoredDigest)>;

    /// Where the busy time of fetching, checking and decrypting the archives is counted,
    /// for a caller that reports it (a drill's phases); none by default.
    fn stage_clock(&self) -> Option<&StageClock> {
        None
    }
}

/// Which entries of `manifest` to extract, and where each source's staging folder is.
pub struct ExtractPlan<'a> {
    pub manifest: &'a Manifest,
    pub wanted: Vec<&'a FileEntry>,
    pub staging: HashMap<String, PathBuf>,
}

/// What the stored bytes must prove before a restore creates anything.
#[derive(Debug, Clone, Copy)]
pub struct Trust<'a> {
    /// SHA-256 of the catalogue's manifest text (the one `ExtractPlan::manifest` was read from).
    pub manifest_sha256: &'a str,
    /// Whether unencrypted archives may be read (`--allow-plain`, or encryption off).
    pub plain: Plain,
    /// Whether this process may grant setuid/setgid/sticky bits at all (it runs as root).
    pub may_grant_special_bits: bool,
}

impl Trust<'_> {
    /// Whether the running process is root, the only one that may grant setuid and setgid.
    pub fn running_as_root() -> bool {
        rustix::process::geteuid().is_root()
    }
}

/// Checks that the manifest found at the end of the archive of `manifest.backup_id` (already
/// checked to be the recorded object) is byte for byte the catalogue's copy.
fn authenticate(manifest: &Manifest, embedded: &EmbeddedManifest, trust: &Trust) -> Result<()> {
    let own = manifest.backup_id.as_str();
    if embedded.backup_id != own || embedded.sha256 != trust.manifest_sha256 {
        return Err(Error::Archive(format!(
            "the manifest of backup {own} in the catalogue differs from the one inside its \
             archive (it was altered or replaced, e.g. a planted manifest beside the archive): \
             refused, nothing was restored"
        )));
    }
    Ok(())
}

impl<'a> ExtractPlan<'a> {
    /// Entries of the chosen sources whose path matches `glob` (all when `None`), plus the
    /// folders that lead to them. Every entry of the chosen sources (not only the matching
    /// ones) passes the restore's checks first, the same checks deep verify makes.
    pub fn select(
        manifest: &'a Manifest,
        sources: &[String],
        glob: Option<&globset::GlobMatcher>,
        staging: HashMap<String, PathBuf>,
    ) -> Result<ExtractPlan<'a>> {
        let names: Vec<&str> = sources.iter().map(String::as_str).collect();
        check_manifest(manifest, &names)?;
        let mut wanted: Vec<&FileEntry> = Vec::new();
        let mut chosen: HashSet<&str> = HashSet::new();
        let mut folders: HashSet<&str> = HashSet::new();
        for entry in manifest
            .files
            .iter()
            .filter(|e| names.contains(&e.source()))
        {
            if !glob.is_none_or(|g| g.is_match(&*entry.path)) {
                continue;
            }
            wanted.push(entry);
            chosen.insert(&entry.path);
            let mut path: &str = &entry.path;
            while let Some((parent, _)) = path.rsplit_once('/') {
                folders.insert(parent);
                path = parent;
            }
        }
        // Folders on the way to a wanted entry keep their recorded modes and times too.
        for entry in &manifest.files {
            if entry.kind == EntryKind::Dir
                && folders.contains(&*entry.path)
                && !chosen.contains(&*entry.path)
            {
                wanted.push(entry);
            }
        }
        Ok(ExtractPlan {
            manifest,
            wanted,
            staging,
        })
    }

    pub fn file_count(&self) -> u64 {
        self.wanted
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .count() as u64
    }
}

/// Writes every wanted entry under its staging folder: folders first, then files (each with
/// its mode and time as soon as it is written), then links, then the folders' modes and
/// times, deepest first, so a read-only folder is sealed after everything inside it. On any
/// failure the staging folders are removed again: a refused archive leaves nothing.
pub fn extract(
    plan: &ExtractPlan,
    archives: &dyn ArchiveSource,
    keyring: &Keyring,
    trust: &Trust,
    progress: &dyn ProgressSink,
) -> Result<()> {
    let result = extract_all(plan, archives, keyring, trust, progress);
    if result.is_err() {
        for root in plan.staging.values() {
            let _ = remove_tree(root);
        }
    }
    result
}

fn extract_all(
    plan: &ExtractPlan,
    archives: &dyn ArchiveSource,
    keyring: &Keyring,
    trust: &Trust,
    progress: &dyn ProgressSink,
) -> Result<()> {
    let mut state = Progress {
        phase: "restoring".into(),
        files_total: plan.file_count(),
        bytes_total: sum_sizes(plan.wanted.iter().copied()),
        ..Progress::default()
    };
    progress.report(&state);
    // No special bits until the manifest is authenticated (see the module note).
    let mut staging = Staging::open(&plan.staging, false)?;
    for entry in plan.wanted.iter().filter(|e| e.kind == EntryKind::Dir) {
        staging.folder(&entry.path)?;
    }

    // Files grouped by the archive that holds their content.
    let mut by_holder: HashMap<&str, HashMap<&str, &FileEntry>> = HashMap::new();
    for entry in plan.wanted.iter().filter(|e| e.kind == EntryKind::File) {
        by_holder
            .entry(plan.manifest.holder_of(entry))
            .or_default()
            .insert(&entry.path, entry);
    }
    // The backup's own archive first, also when none of its files is wanted: its end
    // authenticates the manifest that everything here follows.
    let own = plan.manifest.backup_id.as_str();
    let mut holders: Vec<&str> = by_holder.keys().copied().filter(|h| *h != own).collect();
    holders.sort();
    holders.insert(0, own);
    let mut written_before_authentication: Vec<&FileEntry> = Vec::new();
    let lanes = std::thread::available_parallelism().map_or(2, |n| n.get());
    let clock = archives.stage_clock().cloned().unwrap_or_default();
    for holder in holders {
        let mut pending = by_holder.remove(holder).unwrap_or_default();
        let (stored, expected) = archives.open(holder)?;
        let shared = Shared::default();
        let (embedded, digest) = std::thread::scope(|scope| {
            let mut writers = FileWriters::start(scope, &shared, lanes)?;
            let walked =
                walk_archive_timed(stored, keyring, trust.plain, &clock, |info, content| {
                    if progress.should_stop() {
                        return Err(Error::Cancelled);
                    }
                    let Some(entry) = pending.remove(info.path.as_str()) else {
                        return Ok(()); // not wanted, or not a file: its content is skipped
                    };
                    let before = state.bytes_done;
                    let mut counted = CountingReader::new(content, &mut state, progress);
                    let written = staging
                        .file_job(entry)
                        .and_then(|job| writers.write(job, &mut counted));
                    // Stopped inside a large file: cancelled, not an I/O failure.
                    if written.is_err() && progress.should_stop() {
                        return Err(Error::Cancelled);
                    }
                    written?;
                    if holder == own {
                        written_before_authentication.push(entry);
                    }
                    state.files_done += 1;
                    state.bytes_done = before + entry.size;
                    progress.report(&state);
                    Ok(())
                });
            // Every file is checked before the walk's result counts, also on failure (the
            // lanes stop with the walk; the caller removes the staging folders).
            let written = writers.finish();
            let walked = walked?;
            written.map(|()| walked)
        })?;
        check_digest(holder, &digest, &expected)?;
        if holder == own {
            authenticate(plan.manifest, &embedded, trust)?;
            if embedded.authenticated && trust.may_grant_special_bits {
                staging.grant_special_bits();
                for entry in written_before_authentication.drain(..) {
                    staging.set_file_mode(entry)?;
                }
            }
        }
        if embedded.backup_id != holder {
            return Err(Error::Archive(format!(
                "the archive stored for backup {holder} belongs to backup {}",
                embedded.backup_id
            )));
        }
        if let Some(missing) = pending.keys().next() {
            return Err(Error::Archive(format!(
                "archive of backup {holder} lacks `{missing}`"
            )));
        }
    }

    for entry in plan.wanted.iter().filter(|e| e.kind == EntryKind::Symlink) {
        staging.create_link(entry)?;
    }
    let mut folders: Vec<&&FileEntry> = plan
        .wanted
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .collect();
    folders.sort_by_key(|e| std::cmp::Reverse(e.path.matches('/').count()));
    for entry in folders {
        staging.seal_folder(entry)?;
    }
    Ok(())
}

/// Compares what was read with what the record says the stored object hashes to.
pub fn check_digest(backup_id: &str, actual: &StoredDigest, expected: &StoredDigest) -> Result<()> {
    if actual != expected {
        return Err(Error::Archive(format!(
            "archive of backup {backup_id} does not match its checksum (stored {} bytes, sha256 {}; expected {} bytes, sha256 {})",
            actual.bytes, actual.sha256, expected.bytes, expected.sha256
        )));
    }
    Ok(())
}

/// Removes a staging folder even when it holds read-only folders.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match fs::symlink_metadata(path) {
        Err(_) => return Ok(()),
        // A link (or file) is removed itself: never walked into, never chmod'ed through.
        Ok(meta) if !meta.is_dir() => return fs::remove_file(path),
        Ok(_) => {}
    }
    for entry in walkdir::WalkDir::new(path).into_iter().flatten() {
        if entry.file_type().is_dir() {
            let _ = fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o700));
        }
    }
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}
