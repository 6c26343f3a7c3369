//! Proving a drill's scratch copies against what the backup recorded: every file read back
//! from disk against its manifest SHA-256, SQLite files with `PRAGMA integrity_check` and
//! their row counts, database servers' scratch copies against the facts of the dump's own
//! snapshot (`engine/manifest/facts.rs`). Nothing is compared with the live source: a
//! source that changed since the backup does not make a good backup fail.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::report::SourceProof;
use crate::domain::SourceKind;
use crate::engine::manifest::facts::compare;
use crate::engine::manifest::{EntryKind, Manifest, Sha256Sum, SourceEntry, SourceFacts};
use crate::jobs::restore::plan::Placement;
use crate::sources::{sqlite_facts, sqlite_integrity_check, StagedRestore};

/// Differences listed one by one before the rest is counted.
const MAX_LISTED: usize = 10;

/// Reads back every entry of a path source (directory, file, SQLite) from its staging folder.
pub(crate) fn prove_files(manifest: &Manifest, placement: &Placement, proof: &mut SourceProof) {
    let name = &placement.source.name;
    let (mut files, mut bytes, mut folders, mut links) = (0u64, 0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for entry in manifest.files.iter().filter(|f| f.source() == name) {
        let path = placement.staging.join(entry.relative());
        let problem = match entry.kind {
            EntryKind::File => match hash_file(&path) {
                Ok((size, _)) if size != entry.size => Some(format!(
                    "file {} has {size} bytes, {} at backup",
                    entry.path, entry.size
                )),
                Ok((_, digest)) if entry.sha256.is_some_and(|d| d != digest) => {
                    Some(format!("file {} differs from its SHA-256", entry.path))
                }
                Ok((size, _)) => {
                    files += 1;
                    bytes += size;
                    None
                }
                Err(e) => Some(format!("file {} cannot be read back: {e}", entry.path)),
            },
            EntryKind::Dir => match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    folders += 1;
                    None
                }
                _ => Some(format!("folder {} is missing", entry.path)),
            },
            EntryKind::Symlink => match std::fs::read_link(&path) {
                Ok(target)
                    if Some(target.as_os_str())
                        == entry.link_target.as_deref().map(|t| t.as_ref()) =>
                {
                    links += 1;
                    None
                }
                _ => Some(format!("link {} does not point where it did", entry.path)),
            },
        };
        failures.extend(problem);
    }
    let extra = failures.len().saturating_sub(MAX_LISTED);
    proof.failed.extend(failures.into_iter().take(MAX_LISTED));
    if extra > 0 {
        proof.failed.push(format!("and {extra} more entries"));
    }
    if proof.failed.is_empty() {
        let mut line =
            format!("{files} file(s), {bytes} bytes read back from disk match their SHA-256");
        if folders + links > 0 {
            line.push_str(&format!(
                "; {folders} folder(s) and {links} link(s) as recorded"
            ));
        }
        proof.proven.push(line);
    }
    if placement.source.kind == SourceKind::Sqlite && proof.failed.is_empty() {
        prove_sqlite(&placement.staged_item(), &placement.source, proof);
    }
}

fn prove_sqlite(file: &Path, source: &SourceEntry, proof: &mut SourceProof) {
    match sqlite_integrity_check(file) {
        Ok(()) => proof.proven.push("PRAGMA integrity_check: ok".into()),
        Err(e) => {
            proof.failed.push(e);
            return;
        }
    }
    let Some(recorded) = &source.facts else {
        proof.unproven.push(no_facts());
        return;
    };
    match sqlite_facts(file) {
        Ok(found) => add_comparison(recorded, &found, proof),
        Err(e) => proof.failed.push(format!("reading the restored file: {e}")),
    }
}

/// Compares a database server source's scratch copy with the facts of its dump.
pub(crate) fn prove_database(
    source: &SourceEntry,
    staged: &dyn StagedRestore,
    proof: &mut SourceProof,
) {
    proof.proven.push(
        "the dump loaded into a scratch copy beside the original and passed the restore's \
         validation"
            .into(),
    );
    let Some(recorded) = &source.facts else {
        proof.unproven.push(no_facts());
        return;
    };
    match staged.facts() {
        Ok(found) => add_comparison(recorded, &found, proof),
        Err(e) => proof.failed.push(format!("reading the scratch copy: {e}")),
    }
}

fn add_comparison(recorded: &SourceFacts, found: &SourceFacts, proof: &mut SourceProof) {
    let comparison = compare(recorded, found);
    proof.proven.extend(
        comparison
            .proven
            .into_iter()
            .map(|p| format!("as at backup: {p}")),
    );
    proof.failed.extend(comparison.failed);
}

fn no_facts() -> String {
    "row counts and objects: this backup recorded none (made before Coffer recorded them)".into()
}

/// Size and SHA-256 of a regular file, opened without following a link.
fn hash_file(path: &Path) -> std::io::Result<(u64, Sha256Sum)> {
    let mut file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, Sha256Sum::of(hasher)))
}
