//! Writes one archive as a stream: tar → parallel gzip → AES-256-GCM STREAM (when a key is
//! given) → SHA-256 tee → the sink. Nothing is held whole in memory: each file is read once,
//! hashed on the way into the tar, and the manifest goes last.
//!
//! Incremental backups compare each file's size, mtime and mode with the parent manifest and
//! only archive what changed; unchanged files are listed with the backup that holds them.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::compress::{looks_compressed, ParallelGzipWriter};
use super::crypt::EncryptingWriter;
use super::digest::HashingWriter;
use super::links::LinkMap;
use super::manifest::{EntryKind, FileEntry, Manifest, MANIFEST_ENTRY};
use super::progress::{Progress, ProgressSink};
use crate::domain::BackupKind;
use crate::error::{Error, IoContext, Result};
use crate::sources::{PlannedEntry, SourceSnapshot};

/// Files at least this large that are already compressed are stored, not deflated again.
const STORE_ONLY_MIN: u64 = 64 * 1024;

pub struct ArchiveOptions<'a> {
    pub level: u32,
    pub threads: usize,
    /// `(key id, key)`; `None` writes a plain `.tar.gz`.
    pub key: Option<(&'a str, &'a [u8; 32])>,
}

/// Identity of the backup being written, copied into its manifest.
pub struct ArchiveIdentity<'a> {
    pub backup_id: &'a str,
    pub kind: BackupKind,
    pub scope: &'a str,
    pub created_at: DateTime<Utc>,
}

pub struct ArchiveSummary {
    pub manifest: Manifest,
    /// The manifest as written into the archive (serialised once, stored as it is).
    pub manifest_json: String,
    pub stored_bytes: u64,
    pub sha256: String,
    pub warnings: Vec<String>,
}

/// Writes the archive of `sources` into `sink` and returns the sink once everything is
/// flushed into it. On error the sink is dropped (an uncommitted object is thereby aborted).
pub fn write_archive<W: Write + Send + 'static>(
    sink: W,
    identity: ArchiveIdentity,
    sources: Vec<SourceSnapshot>,
    parent_manifest: Option<Manifest>,
    options: &ArchiveOptions,
    progress: &dyn ProgressSink,
) -> Result<(W, ArchiveSummary)> {
    let parent = parent_manifest.as_ref();
    let parent_files = parent.map(Manifest::by_path).unwrap_or_default();
    let unchanged = |entry: &PlannedEntry| -> Option<&FileEntry> {
        let previous = parent_files.get(entry.archive_path.as_str())?;
        let same = !entry.always_archive
            && previous.kind == EntryKind::File
            && entry.kind == EntryKind::File
            && previous.size == entry.size
            && previous.mtime_ns == entry.mtime_ns
            && previous.sha256.is_some();
        same.then_some(*previous)
    };

    let mut state = Progress {
        phase: "archiving".into(),
        files_total: sources.iter().map(|s| s.entries.len() as u64).sum(),
        ..Progress::default()
    };
    for entry in sources.iter().flat_map(|s| &s.entries) {
        if entry.kind == EntryKind::File && unchanged(entry).is_none() {
            state.bytes_total += entry.size;
        }
    }
    progress.report(&state);

    let hashed = HashingWriter::new(sink);
    let cipher = match options.key {
        Some((id, key)) => CipherSink::Encrypted(Box::new(
            EncryptingWriter::new(hashed, key, id).ctx(|| "starting encryption".into())?,
        )),
        None => CipherSink::Plain(hashed),
    };
    let gzip = ParallelGzipWriter::new(cipher, options.level, options.threads);
    let mut tar = tar::Builder::new(gzip);
    tar.follow_symlinks(false);

    let mut manifest = Manifest {
        format_version: super::manifest::FORMAT_VERSION,
        backup_id: identity.backup_id.to_string(),
        kind: identity.kind,
        parent: parent.map(|p| p.backup_id.clone()),
        created_at: identity.created_at,
        scope: identity.scope.to_string(),
        sources: sources.iter().map(|s| s.entry.clone()).collect(),
        files: Vec::with_capacity(state.files_total as usize),
        deleted: Vec::new(),
    };
    let mut warnings = Vec::new();

    // Planned entries are consumed as they are archived, so a large tree's plan and its
    // manifest are never both whole in memory.
    let covered: HashSet<String> = sources.iter().map(|s| s.entry.name.clone()).collect();
    for mut snapshot in sources {
        // The snapshot (and a database copy's scratch folder) lives until its entries are in.
        for entry in std::mem::take(&mut snapshot.entries) {
            let entry = &entry;
            if progress.should_stop() {
                return Err(Error::Cancelled);
            }
            let mut record = FileEntry {
                path: entry.archive_path.clone(),
                kind: entry.kind,
                size: entry.size,
                mode: entry.mode,
                mtime_ns: entry.mtime_ns,
                sha256: None,
                link_target: entry.link_target.clone(),
                stored_in: None,
            };
            let mut header = header_for(entry);
            let written = match entry.kind {
                EntryKind::Dir => tar.append_data(&mut header, &entry.archive_path, io::empty()),
                EntryKind::Symlink => {
                    let target = entry.link_target.as_deref().unwrap_or_default();
                    tar.append_link(&mut header, &entry.archive_path, target)
                }
                EntryKind::File => {
                    if let Some(previous) = unchanged(entry) {
                        record.sha256.clone_from(&previous.sha256);
                        record.stored_in = Some(parent_holder(parent, previous));
                        Ok(())
                    } else {
                        match append_file(
                            &mut tar,
                            &mut header,
                            entry,
                            &mut warnings,
                            &mut state,
                            progress,
                        )? {
                            Some(sha) => {
                                record.sha256 = Some(sha);
                                Ok(())
                            }
                            None => {
                                state.files_done += 1;
                                continue; // vanished before it could be read
                            }
                        }
                    }
                }
            };
            written.ctx(|| format!("writing {} into the archive", entry.archive_path))?;
            manifest.files.push(record);
            state.files_done += 1;
            progress.report(&state);
        }
    }

    if let Some(parent) = parent {
        let present: HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        manifest.deleted = parent
            .files
            .iter()
            .filter(|f| covered.contains(f.source()) && !present.contains(f.path.as_str()))
            .map(|f| f.path.clone())
            .collect();
    }

    // The parent's manifest is not needed past this point; free it before the new one is
    // serialised (both are tens of MiB for a large tree).
    drop(parent_files);
    drop(parent_manifest);

    let links = LinkMap::new(&manifest);
    for entry in manifest
        .files
        .iter()
        .filter(|f| f.kind == EntryKind::Symlink)
    {
        let target = entry.link_target.as_deref().unwrap_or_default();
        if links.escapes(&entry.path, target) {
            warnings.push(format!(
                "{}: link to `{target}` points outside its source; a restore will refuse it",
                entry.path
            ));
        }
    }

    state.phase = "finishing".into();
    progress.report(&state);
    let json = manifest.to_json_sized();
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(identity.created_at.timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    // Tens of MiB for a large tree, on every backup's critical path: compress it quickly.
    tar.get_mut().set_fast(true);
    tar.append_data(&mut header, MANIFEST_ENTRY, json.as_bytes())
        .ctx(|| "writing the manifest into the archive".into())?;

    let gzip = tar.into_inner().ctx(|| "finishing the tar stream".into())?;
    let (cipher, _) = gzip.finish().ctx(|| "finishing compression".into())?;
    let hashed = cipher.finish().ctx(|| "finishing encryption".into())?;
    let (sink, sha256, stored_bytes) = hashed.finish();
    Ok((
        sink,
        ArchiveSummary {
            manifest,
            manifest_json: json,
            stored_bytes,
            sha256,
            warnings,
        },
    ))
}

fn parent_holder(parent: Option<&Manifest>, previous: &FileEntry) -> String {
    match (&previous.stored_in, parent) {
        (Some(id), _) => id.clone(),
        (None, Some(parent)) => parent.backup_id.clone(),
        (None, None) => unreachable!("an unchanged file always has a parent"),
    }
}

fn header_for(entry: &PlannedEntry) -> tar::Header {
    tar_header(entry.kind, entry.mode, entry.mtime_ns, entry.size)
}

/// A tar header carrying an entry's type, mode, whole-second mtime and size.
pub fn tar_header(kind: EntryKind, mode: u32, mtime_ns: i64, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_mode(mode);
    header.set_mtime(mtime_ns.div_euclid(1_000_000_000).max(0) as u64);
    header.set_size(if kind == EntryKind::File { size } else { 0 });
    header.set_entry_type(match kind {
        EntryKind::File => tar::EntryType::Regular,
        EntryKind::Dir => tar::EntryType::Directory,
        EntryKind::Symlink => tar::EntryType::Symlink,
    });
    header
}

/// Appends one file's content. Returns its SHA-256, or `None` when it vanished first.
fn append_file<W>(
    tar: &mut tar::Builder<ParallelGzipWriter<W>>,
    header: &mut tar::Header,
    entry: &PlannedEntry,
    warnings: &mut Vec<String>,
    state: &mut Progress,
    progress: &dyn ProgressSink,
) -> Result<Option<String>>
where
    W: Write + Send + 'static,
{
    let file = match open_planned(entry) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            warnings.push(format!(
                "{}: vanished before it could be read; not in this backup",
                entry.archive_path
            ));
            return Ok(None);
        }
        Err(e) if e.kind() == io::ErrorKind::Other => {
            warnings.push(format!("{}: {e}; not in this backup", entry.archive_path));
            return Ok(None);
        }
        Err(e) => return Err(e).ctx(|| format!("opening {}", entry.disk_path.display())),
    };
    let store_only = entry.size >= STORE_ONLY_MIN && looks_compressed(&entry.disk_path);
    if store_only {
        tar.get_mut().set_store_only(true);
    }
    let mut reader = ExactSizeReader::new(file, entry.size);
    tar.append_data(header, &entry.archive_path, &mut reader)
        .ctx(|| format!("archiving {}", entry.disk_path.display()))?;
    if store_only {
        tar.get_mut().set_store_only(false);
    }
    if let Some(problem) = reader.problem.take().or_else(|| changed_since(entry)) {
        warnings.push(format!("{}: {problem}", entry.archive_path));
    }
    state.bytes_done += entry.size;
    progress.report(state);
    Ok(Some(hex::encode(reader.hasher.finalize())))
}

/// Opens a planned file without following a symlink or blocking on a FIFO that replaced
/// it since the walk, and checks it is still the same regular file (device and inode).
fn open_planned(entry: &PlannedEntry) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&entry.disk_path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::other("was replaced by a symlink since it was listed"),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() || (meta.dev(), meta.ino()) != entry.identity {
        return Err(io::Error::other(
            "was replaced by another file since it was listed",
        ));
    }
    Ok(file)
}

/// A file that changed while being read is kept (its content as read) with a warning.
fn changed_since(entry: &PlannedEntry) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(&entry.disk_path).ok()?;
    let mtime_ns = crate::sources::mtime_ns(meta.mtime(), meta.mtime_nsec());
    (meta.len() != entry.size || mtime_ns != entry.mtime_ns)
        .then(|| "changed while being read; the archive holds the content as read".to_string())
}

/// Yields exactly `size` bytes of a file that may grow or shrink while it is read (the tar
/// header already promised `size`), hashing what it yields.
struct ExactSizeReader {
    file: File,
    remaining: u64,
    hasher: Sha256,
    problem: Option<String>,
}

impl ExactSizeReader {
    fn new(file: File, size: u64) -> Self {
        ExactSizeReader {
            file,
            remaining: size,
            hasher: Sha256::new(),
            problem: None,
        }
    }
}

impl Read for ExactSizeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let mut n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            // Shrank under us: pad with zeros so the tar stays well-formed.
            buf[..want].fill(0);
            n = want;
            self.problem = Some("shrank while being read; padded with zeros in the archive".into());
        }
        self.hasher.update(&buf[..n]);
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// The layer under gzip: encrypted or plain, then hashed.
enum CipherSink<W: Write> {
    Plain(HashingWriter<W>),
    // Boxed: the encryptor carries its segment buffer inline.
    Encrypted(Box<EncryptingWriter<HashingWriter<W>>>),
}

impl<W: Write> CipherSink<W> {
    fn finish(self) -> io::Result<HashingWriter<W>> {
        match self {
            CipherSink::Plain(w) => Ok(w),
            CipherSink::Encrypted(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for CipherSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            CipherSink::Plain(w) => w.write(buf),
            CipherSink::Encrypted(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            CipherSink::Plain(w) => w.flush(),
            CipherSink::Encrypted(w) => w.flush(),
        }
    }
}
