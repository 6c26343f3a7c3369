//! Writes one archive as a stream: tar → parallel gzip → AES-256-GCM STREAM (when a key is
//! given) → SHA-256 tee → the sink. Nothing is held whole in memory: each file is read once,
//! hashed on the way into the tar, and the manifest goes last.
//!
//! Incremental backups compare each file's size, mtime and mode with the parent manifest and
//! only archive what changed; unchanged files are listed with the backup that holds them.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::compress::{looks_compressed, ParallelGzipWriter};
use super::crypt::EncryptingWriter;
use super::digest::HashingWriter;
use super::manifest::{EntryKind, FileEntry, Manifest, Sha256Sum, MANIFEST_ENTRY};
use super::parent_index::ParentIndex;
use super::progress::{CountingReader, Progress, ProgressSink};
use super::restorable::check_restorable;
use crate::domain::BackupKind;
use crate::engine::planned::{mtime_ns, PlannedEntry, PlannedSource, StreamedEntry};
use crate::engine::restorable::check_path;
use crate::error::{Error, IoContext, Result};

/// Files at least this large that are already compressed (by their name, or as the source
/// says) are stored, not deflated again.
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
    /// The manifest as written into the archive (serialised once, stored as it is; its
    /// parsed form is freed as soon as the text exists).
    pub manifest_json: String,
    /// Regular files in the manifest.
    pub file_count: u64,
    pub stored_bytes: u64,
    pub sha256: String,
    pub warnings: Vec<String>,
}

/// Writes the archive of `sources` into `sink` and returns the sink once everything is
/// flushed into it. On error the sink is dropped (an uncommitted object is thereby aborted).
pub fn write_archive<W: Write + Send + 'static, S: PlannedSource>(
    sink: W,
    identity: ArchiveIdentity,
    sources: Vec<S>,
    parent_manifest: Option<Manifest>,
    options: &ArchiveOptions,
    progress: &dyn ProgressSink,
) -> Result<(W, ArchiveSummary)> {
    // What a restore would refuse is never written (the walk already skips what it cannot
    // archive, such as devices and unusable names; this stops anything else).
    let names: Vec<&str> = sources.iter().map(|s| s.entry().name.as_str()).collect();
    check_restorable(&names, sources.iter().flat_map(|s| s.entries())).map_err(|problem| {
        Error::Refused(format!(
            "{problem} (a restore would refuse it, so no backup is written)"
        ))
    })?;
    let mut parent = parent_manifest.as_ref().map(ParentIndex::new);
    // Whether a planned file is the same as the parent's entry, so its content is taken
    // over instead of archived again.
    let unchanged = |entry: &PlannedEntry, previous: &FileEntry| {
        !entry.always_archive
            && previous.kind == EntryKind::File
            && entry.kind == EntryKind::File
            && previous.size == entry.size
            && previous.mtime_ns == entry.mtime_ns
            && previous.sha256.is_some()
    };

    // Files means regular files here, as in the record's `file_count`, the manifest's
    // `file_count()` and a restore's progress: folders and links are entries, not files
    // (counting them made a page say "Files 335 of 335" beside "Files 325").
    let mut state = Progress {
        phase: "archiving".into(),
        files_total: sources
            .iter()
            .flat_map(|s| s.entries())
            .filter(|e| e.kind == EntryKind::File)
            .count() as u64,
        ..Progress::default()
    };
    state.bytes_total += sources.iter().map(|s| s.streamed_estimate()).sum::<u64>();
    for entry in sources.iter().flat_map(|s| s.entries()) {
        let previous = parent.as_mut().and_then(|p| p.find(&entry.archive_path));
        if entry.kind == EntryKind::File && !previous.is_some_and(|(_, p)| unchanged(entry, p)) {
            state.bytes_total += entry.size;
        }
    }
    if let Some(parent) = parent.as_mut() {
        parent.rewind();
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
        parent: parent_manifest.as_ref().map(|p| p.backup_id.clone()),
        created_at: identity.created_at,
        scope: identity.scope.to_string(),
        sources: sources.iter().map(|s| s.entry().clone()).collect(),
        files: Vec::with_capacity(sources.iter().map(|s| s.entries().len()).sum()),
        deleted: Vec::new(),
    };
    let mut warnings = Vec::new();

    // Planned entries are consumed as they are archived, so a large tree's plan and its
    // manifest are never both whole in memory.
    let covered: HashSet<String> = sources.iter().map(|s| s.entry().name.clone()).collect();
    for (position, mut snapshot) in sources.into_iter().enumerate() {
        // The snapshot (and a database copy's scratch folder) lives until its entries are in.
        for entry in snapshot.take_entries() {
            if progress.should_stop() {
                return Err(Error::Cancelled);
            }
            let previous = parent.as_mut().and_then(|p| p.find(&entry.archive_path));
            let is_file = entry.kind == EntryKind::File;
            let mut sha256 = None;
            let mut stored_in = None;
            let mut header = header_for(&entry);
            let written = match entry.kind {
                EntryKind::Dir => tar.append_data(&mut header, &*entry.archive_path, io::empty()),
                EntryKind::Symlink => {
                    let target = entry.link_target.as_deref().unwrap_or_default();
                    tar.append_link(&mut header, &*entry.archive_path, target)
                }
                EntryKind::File => match (previous, &parent) {
                    (Some((_, old)), Some(index)) if unchanged(&entry, old) => {
                        sha256 = old.sha256;
                        stored_in = Some(index.holder_of(old));
                        Ok(())
                    }
                    _ => {
                        let disk_path = snapshot.disk_path(&entry);
                        let file = PlannedFile {
                            entry: &entry,
                            disk_path: &disk_path,
                        };
                        let before = state.bytes_done;
                        let appended = append_file(
                            &mut tar,
                            &mut header,
                            &file,
                            &mut warnings,
                            Reporting {
                                state: &mut state,
                                sink: progress,
                            },
                        );
                        // Stopped inside a large file: cancelled, not an I/O failure.
                        if appended.is_err() && progress.should_stop() {
                            return Err(Error::Cancelled);
                        }
                        match appended? {
                            Some(sha) => {
                                sha256 = Some(sha);
                                state.bytes_done = before + entry.size;
                                progress.report(&state);
                                Ok(())
                            }
                            None => {
                                state.bytes_done = before;
                                state.files_done += 1;
                                continue; // vanished before it could be read
                            }
                        }
                    }
                },
            };
            written.ctx(|| format!("writing {} into the archive", entry.archive_path))?;
            if let (Some((index, _)), Some(parent)) = (previous, parent.as_mut()) {
                parent.keep(index);
            }
            // The plan's strings move into the manifest: nothing is copied per entry.
            manifest.files.push(FileEntry {
                path: entry.archive_path,
                kind: entry.kind,
                size: entry.size,
                mode: entry.mode,
                mtime_ns: entry.mtime_ns,
                sha256,
                link_target: entry.link_target,
                stored_in,
            });
            if is_file {
                state.files_done += 1;
            }
            progress.report(&state);
        }
        let name = snapshot.entry().name.clone();
        let mut streamed = StreamedArchiving {
            source: &name,
            seen: HashSet::new(),
            state: &mut state,
            progress,
            files: &mut manifest.files,
        };
        snapshot.stream(&mut |entry| streamed.append(&mut tar, entry))?;
        manifest.sources[position] = snapshot.entry().clone();
    }

    if let Some(parent) = &parent {
        manifest.deleted = parent.not_kept(|f| covered.contains(f.source()));
    }

    // The parent's manifest is not needed past this point; free it before the new one is
    // serialised (both are tens of MiB for a large tree).
    drop(parent);
    drop(parent_manifest);
    crate::memory::release_free_memory();

    state.phase = "finishing".into();
    progress.report(&state);
    let json = manifest.to_json_sized();
    let file_count = manifest.file_count() as u64;
    drop(manifest);
    crate::memory::release_free_memory();
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
            manifest_json: json,
            file_count,
            stored_bytes,
            sha256,
            warnings,
        },
    ))
}

/// Archives the entries of a streamed source as they arrive: each path checked as a
/// restore would check it, each file hashed on its way into the tar.
struct StreamedArchiving<'a> {
    source: &'a str,
    seen: HashSet<String>,
    state: &'a mut Progress,
    progress: &'a dyn ProgressSink,
    files: &'a mut Vec<FileEntry>,
}

impl StreamedArchiving<'_> {
    fn append<W: Write + Send + 'static>(
        &mut self,
        tar: &mut tar::Builder<ParallelGzipWriter<W>>,
        entry: StreamedEntry<'_>,
    ) -> Result<()> {
        if self.progress.should_stop() {
            return Err(Error::Cancelled);
        }
        let path = format!("{}/{}", self.source, entry.relative);
        check_path(&path).map_err(|problem| {
            Error::Refused(format!(
                "{problem} (a restore would refuse it, so no backup is written)"
            ))
        })?;
        if !self.seen.insert(path.clone()) {
            return Err(Error::Refused(format!(
                "entry `{path}` came twice in the stream of source `{}`: refused",
                self.source
            )));
        }
        let mut header = tar_header(entry.kind, entry.mode, entry.mtime_ns, entry.size);
        let written = match entry.kind {
            EntryKind::Dir => tar
                .append_data(&mut header, &path, io::empty())
                .map(|()| None),
            EntryKind::Symlink => {
                let target = entry.link_target.as_deref().unwrap_or_default();
                tar.append_link(&mut header, &path, target).map(|()| None)
            }
            EntryKind::File => {
                self.state.files_total += 1;
                let mut hashing = HashingRead {
                    inner: entry.reader,
                    hasher: Sha256::new(),
                    read: 0,
                };
                let counted = CountingReader::new(&mut hashing, self.state, self.progress);
                let appended = tar.append_data(&mut header, &path, counted);
                if appended.is_ok() && hashing.read != entry.size {
                    return Err(Error::Source(format!(
                        "{path}: the stream ended after {} of its {} bytes",
                        hashing.read, entry.size
                    )));
                }
                appended.map(|()| Some(Sha256Sum::of(hashing.hasher)))
            }
        };
        if written.is_err() && self.progress.should_stop() {
            return Err(Error::Cancelled);
        }
        let sha256 = written.ctx(|| format!("writing {path} into the archive"))?;
        if entry.kind == EntryKind::File {
            self.state.files_done += 1;
            self.state.bytes_total = self.state.bytes_total.max(self.state.bytes_done);
        }
        self.progress.report(self.state);
        self.files.push(FileEntry {
            path: path.into_boxed_str(),
            kind: entry.kind,
            size: if entry.kind == EntryKind::File {
                entry.size
            } else {
                0
            },
            mode: entry.mode,
            mtime_ns: entry.mtime_ns,
            sha256,
            link_target: entry.link_target.map(String::into_boxed_str),
            stored_in: None,
        });
        Ok(())
    }
}

/// Hashes and counts what is read through it.
struct HashingRead<'r> {
    inner: &'r mut dyn Read,
    hasher: Sha256,
    read: u64,
}

impl Read for HashingRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
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

/// A planned file and where it is read from.
struct PlannedFile<'a> {
    entry: &'a PlannedEntry,
    disk_path: &'a Path,
}

/// Where the bytes of a file being read are counted and reported.
struct Reporting<'a> {
    state: &'a mut Progress,
    sink: &'a dyn ProgressSink,
}

/// Appends one file's content, reporting its bytes as they are read. Returns its SHA-256,
/// or `None` when it vanished first.
fn append_file<W>(
    tar: &mut tar::Builder<ParallelGzipWriter<W>>,
    header: &mut tar::Header,
    file: &PlannedFile,
    warnings: &mut Vec<String>,
    reporting: Reporting,
) -> Result<Option<Sha256Sum>>
where
    W: Write + Send + 'static,
{
    let PlannedFile { entry, disk_path } = *file;
    let opened = match open_planned(file) {
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
        Err(e) => return Err(e).ctx(|| format!("opening {}", disk_path.display())),
    };
    let store_only =
        entry.size >= STORE_ONLY_MIN && (entry.store_only || looks_compressed(disk_path));
    if store_only {
        tar.get_mut().set_store_only(true);
    }
    let mut reader = ExactSizeReader::new(opened, entry.size);
    let counted = CountingReader::new(&mut reader, reporting.state, reporting.sink);
    tar.append_data(header, &*entry.archive_path, counted)
        .ctx(|| format!("archiving {}", disk_path.display()))?;
    if store_only {
        tar.get_mut().set_store_only(false);
    }
    if let Some(problem) = reader.problem.take().or_else(|| changed_since(file)) {
        warnings.push(format!("{}: {problem}", entry.archive_path));
    }
    Ok(Some(Sha256Sum::of(reader.hasher)))
}

/// Opens a planned file without following a symlink or blocking on a FIFO that replaced
/// it since the walk, and checks it is still the same regular file (device and inode).
fn open_planned(planned: &PlannedFile) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(planned.disk_path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::other("was replaced by a symlink since it was listed"),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() || (meta.dev(), meta.ino()) != planned.entry.identity {
        return Err(io::Error::other(
            "was replaced by another file since it was listed",
        ));
    }
    Ok(file)
}

/// A file that changed while being read is kept (its content as read) with a warning.
fn changed_since(planned: &PlannedFile) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let entry = planned.entry;
    let meta = std::fs::symlink_metadata(planned.disk_path).ok()?;
    let mtime_ns = mtime_ns(meta.mtime(), meta.mtime_nsec());
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
