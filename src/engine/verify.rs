//! Deep verification of one archive: check the manifest with the restore's own checks
//! (`restorable.rs`, so what verifies restores), decrypt, decompress and read every entry,
//! hash every file and compare it with the manifest, and check the stored bytes' SHA-256. An
//! incremental's whole chain is verified by calling this once per archive of the chain.

use std::collections::HashMap;
use std::io::Read;

use sha2::{Digest, Sha256};

use super::archive_reader::{walk_archive, Plain, StoredDigest};
use super::extract::check_digest;
use super::keyring::Keyring;
use super::manifest::{sum_sizes, EntryKind, FileEntry, Manifest, Sha256Sum};
use super::progress::{CountingReader, Progress, ProgressSink};
use super::restorable::check_manifest;
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DeepReport {
    pub files_checked: u64,
    pub bytes_checked: u64,
}

/// Reads the archive of `manifest.backup_id` whole and checks it against `manifest` (the
/// catalogue's copy, whose text hashes to `manifest_sha256`) and `expected` (the stored bytes' size and SHA-256 on record).
pub fn deep_verify(
    stored: Box<dyn Read + Send>,
    keyring: &Keyring,
    manifest: &Manifest,
    manifest_sha256: &str,
    expected: &StoredDigest,
    plain: Plain,
    progress: &dyn ProgressSink,
) -> Result<DeepReport> {
    let sources: Vec<&str> = manifest.sources.iter().map(|s| s.name.as_str()).collect();
    check_manifest(manifest, &sources)?;
    let own = manifest.backup_id.as_str();
    let mut pending: HashMap<&str, &FileEntry> = manifest
        .files
        .iter()
        .filter(|e| e.kind == EntryKind::File && manifest.holder_of(e) == own)
        .map(|e| (&*e.path, e))
        .collect();
    // Folders and links only (files are in `pending`): a large tree is mostly files.
    let listed: HashMap<&str, EntryKind> = manifest
        .files
        .iter()
        .filter(|e| e.kind != EntryKind::File)
        .map(|e| (&*e.path, e.kind))
        .collect();
    let mut state = Progress {
        phase: "verifying".into(),
        files_total: pending.len() as u64,
        bytes_total: sum_sizes(pending.values().copied()),
        ..Progress::default()
    };
    let mut report = DeepReport::default();
    let mut buf = vec![0u8; 256 * 1024];
    let (embedded, digest) = walk_archive(stored, keyring, plain, |info, content| {
        if progress.should_stop() {
            return Err(Error::Cancelled);
        }
        if info.kind != EntryKind::File {
            return match listed.get(info.path.as_str()) {
                Some(kind) if *kind == info.kind => Ok(()),
                _ => Err(Error::Archive(format!(
                    "archive holds `{}`, which its manifest does not list",
                    info.path
                ))),
            };
        }
        let entry = pending.remove(info.path.as_str()).ok_or_else(|| {
            Error::Archive(format!(
                "archive holds `{}`, which its manifest does not list",
                info.path
            ))
        })?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let before = state.bytes_done;
        // A large file moves the bar while it is read, and a cancel stops inside it.
        let mut counted = CountingReader::new(content, &mut state, progress);
        loop {
            let n = match counted.read(&mut buf) {
                Ok(n) => n,
                Err(_) if progress.should_stop() => return Err(Error::Cancelled),
                Err(e) => return Err(e).ctx(|| format!("reading `{}`", info.path)),
            };
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        state.bytes_done = before;
        if size != entry.size || Some(Sha256Sum::of(hasher)) != entry.sha256 {
            return Err(Error::Archive(format!(
                "`{}` does not match its checksum in the manifest",
                info.path
            )));
        }
        report.files_checked += 1;
        report.bytes_checked += size;
        state.files_done += 1;
        state.bytes_done += size;
        progress.report(&state);
        Ok(())
    })?;
    check_digest(own, &digest, expected)?;
    if embedded.backup_id != own || embedded.sha256 != manifest_sha256 {
        return Err(Error::Archive(format!(
            "the manifest inside the archive of backup {own} differs from the catalogue's copy"
        )));
    }
    if let Some(missing) = pending.keys().next() {
        return Err(Error::Archive(format!(
            "archive of backup {own} lacks `{missing}`"
        )));
    }
    Ok(report)
}
