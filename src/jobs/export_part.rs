//! One file or one folder out of a backup, streamed into any writer (the console's file
//! browser downloads). The catalogue's manifest says what exists and where its content is
//! (an incremental's unchanged file lives in an older archive of its chain); the archive is
//! read as a stream and only the wanted entries are copied out.
//!
//! Every file's bytes are hashed on their way out and compared with the manifest's SHA-256
//! (and size): a mismatch is an error once the file has gone by, so the caller must hold
//! back the end of what it sends until this returns (`web/backups/body_channel.rs` does) —
//! a wrong file then never arrives complete. Reading stops as soon as everything wanted has
//! gone by, so a small file from the front of a large archive does not read the rest.
//! Memory stays flat: entries are copied through, never held, whatever the archive's size.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::app::App;
use crate::db::{Backup, NewLogEntry};
use crate::domain::{LogLevel, Status};
use crate::engine::archive_reader::{walk_archive, EntryInfo, Plain};
use crate::engine::archive_writer::tar_header;
use crate::engine::compress::ParallelGzipWriter;
use crate::engine::digest::{HashingReader, HashingWriter};
use crate::engine::extract::ArchiveSource;
use crate::engine::manifest::{EntryKind, FileEntry, Manifest};
use crate::engine::restorable::{check_path, shown};
use crate::error::{Error, IoContext, Result};
use crate::jobs::archives::{load_manifest, StoredArchives};
use crate::present::human_bytes;

/// Longest path a request may name (manifest paths are far shorter in practice).
const MAX_PATH: usize = 4096;

/// What a path names in a backup.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// A regular file: its bytes.
    File(FileEntry),
    /// A folder (a source's root, a recorded folder, or one implied by the paths below
    /// it): everything under it as `.tar.gz`, with the paths the backup gives them.
    Folder {
        path: String,
        files: usize,
        bytes: u64,
    },
}

impl Part {
    pub fn path(&self) -> &str {
        match self {
            Part::File(entry) => &entry.path,
            Part::Folder { path, .. } => path,
        }
    }
}

/// A successful backup and its manifest, ready to have parts taken out of it.
pub struct Exportable {
    pub backup: Backup,
    pub manifest: Manifest,
}

/// Loads backup `id` for a part download: it must exist (`NotFound`) and have succeeded
/// (`Refused`: only a successful backup has an archive to read).
pub fn open_exportable(app: &App, id: &str) -> Result<Exportable> {
    let mut conn = app.conn()?;
    let backup = super::find_backup(&mut conn, id)?;
    if backup.status() != Status::Succeeded {
        return Err(Error::Refused(format!(
            "Backup `{}` is {}: only a successful backup has files to download.",
            backup.name,
            backup.status()
        )));
    }
    let manifest = load_manifest(&mut conn, &backup.id)?;
    Ok(Exportable { backup, manifest })
}

/// Whether `entry` is `folder` itself or lies below it.
fn under(entry: &FileEntry, folder: &str) -> bool {
    entry
        .path
        .strip_prefix(folder)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What `path` names in `manifest`: a bad path is `Invalid` (400), one the backup does not
/// hold is `NotFound` (404), a link is `Invalid` (it has no content of its own). Nothing
/// here touches a filesystem: the path is only compared with the manifest's paths.
pub fn locate(manifest: &Manifest, path: &str) -> Result<Part> {
    let path = path.trim().trim_end_matches('/');
    if path.is_empty() {
        return Err(Error::Invalid(
            "name the file or folder to download (`path`, e.g. `files/docs/report.pdf`)".into(),
        ));
    }
    if path.len() > MAX_PATH {
        return Err(Error::Invalid(format!(
            "the path is longer than {MAX_PATH} characters"
        )));
    }
    check_path(path).map_err(|problem| Error::Invalid(format!("bad path: {problem}")))?;
    if let Some(entry) = manifest.files.iter().find(|e| &*e.path == path) {
        match entry.kind {
            EntryKind::File => return Ok(Part::File(entry.clone())),
            EntryKind::Symlink => {
                return Err(Error::Invalid(format!(
                    "`{}` is a link to `{}`: it has no content of its own to download",
                    shown(path),
                    shown(entry.link_target.as_deref().unwrap_or_default())
                )))
            }
            EntryKind::Dir => {}
        }
    }
    let (mut found, mut files, mut bytes) = (false, 0, 0u64);
    for entry in manifest.files.iter().filter(|e| under(e, path)) {
        found = true;
        if entry.kind == EntryKind::File {
            files += 1;
            bytes = bytes.saturating_add(entry.size);
        }
    }
    if !found {
        return Err(Error::not_found("file or folder", path));
    }
    Ok(Part::Folder {
        path: path.to_string(),
        files,
        bytes,
    })
}

/// Writes `part` of `source` into `out` (a file's bytes, a folder's `.tar.gz`) and returns
/// `out`; on success the audit log says who downloaded what. An error means `out` holds an
/// unusable partial copy: the caller must not present it as complete.
pub fn export_part<W: Write + Send + 'static>(
    app: &App,
    source: &Exportable,
    part: &Part,
    out: W,
    by: &str,
) -> Result<W> {
    let archives = StoredArchives::new(app);
    let out = match part {
        Part::File(entry) => copy_file(app, &archives, &source.manifest, entry, out)?,
        Part::Folder { path, .. } => tar_folder(app, &archives, &source.manifest, path, out)?,
    };
    let what = match part {
        Part::File(entry) => format!("file `{}` ({})", entry.path, human_bytes(entry.size)),
        Part::Folder { path, files, bytes } => format!(
            "folder `{path}` ({files} files, {}) as .tar.gz",
            human_bytes(*bytes)
        ),
    };
    app.audit(
        NewLogEntry::new(
            LogLevel::Info,
            "download",
            format!("downloaded {what} of backup `{}`", source.backup.name),
        )
        .for_backup(&source.backup.id)
        .by(by),
    );
    Ok(out)
}

/// The one file's bytes, hashed as they go through, from the archive that holds them.
fn copy_file<W: Write>(
    app: &App,
    archives: &StoredArchives,
    manifest: &Manifest,
    entry: &FileEntry,
    out: W,
) -> Result<W> {
    let holder = manifest.holder_of(entry).to_string();
    let (stored, _) = archives.open(&holder)?;
    let mut out = Some(out);
    let mut done = false;
    let walked = walk_archive(stored, &app.keyring(), Plain::Allow, |info, content| {
        if info.path != *entry.path {
            return Ok(());
        }
        check_header(info, entry)?;
        let mut hashing = HashingWriter::new(out.take().expect("the file is met once"));
        io::copy(content, &mut hashing).ctx(|| format!("sending {}", entry.path))?;
        let (writer, sha256, bytes) = hashing.finish();
        check_content(entry, &sha256, bytes)?;
        out = Some(writer);
        done = true;
        Err(Error::Cancelled) // everything wanted has gone by: stop reading
    });
    finish_walk(walked, done, &holder, &entry.path)?;
    Ok(out.expect("a finished copy gives its writer back"))
}

/// Everything under `folder` as a `.tar.gz`: folders and links from the manifest, then the
/// files of each archive of the chain that holds some, each checked against the manifest.
fn tar_folder<W: Write + Send + 'static>(
    app: &App,
    archives: &StoredArchives,
    manifest: &Manifest,
    folder: &str,
    out: W,
) -> Result<W> {
    let settings = &app.settings.archive;
    let gzip = ParallelGzipWriter::new(out, settings.compression_level, settings.thread_count());
    let mut tar = tar::Builder::new(gzip);
    let wanted_entries = || manifest.files.iter().filter(move |e| under(e, folder));
    for entry in wanted_entries().filter(|e| e.kind != EntryKind::File) {
        let mut header = tar_header(entry.kind, entry.mode, entry.mtime_ns, entry.size);
        let written = match &entry.link_target {
            Some(target) => tar.append_link(&mut header, &*entry.path, &**target),
            None => tar.append_data(&mut header, &*entry.path, io::empty()),
        };
        written.ctx(|| format!("packing {}", entry.path))?;
    }
    for holder in manifest.chain() {
        let mut wanted: HashMap<&str, &FileEntry> = wanted_entries()
            .filter(|e| e.kind == EntryKind::File && manifest.holder_of(e) == holder)
            .map(|e| (&*e.path, e))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let (stored, _) = archives.open(&holder)?;
        let walked = walk_archive(stored, &app.keyring(), Plain::Allow, |info, content| {
            let Some(entry) = wanted.remove(info.path.as_str()) else {
                return Ok(());
            };
            check_header(info, entry)?;
            let mut header = tar_header(entry.kind, entry.mode, entry.mtime_ns, entry.size);
            let mut hashing = HashingReader::new(content);
            tar.append_data(&mut header, &*entry.path, &mut hashing)
                .ctx(|| format!("packing {}", entry.path))?;
            let (_, sha256, bytes) = hashing.finish();
            check_content(entry, &sha256, bytes)?;
            if wanted.is_empty() {
                return Err(Error::Cancelled); // the rest of this archive is not wanted
            }
            Ok(())
        });
        let missing = wanted.keys().next().map(|p| p.to_string());
        finish_walk(
            walked,
            missing.is_none(),
            &holder,
            missing.as_deref().unwrap_or(folder),
        )?;
    }
    let gzip = tar
        .into_inner()
        .ctx(|| "finishing the folder's tar".into())?;
    let (out, _) = gzip.finish().ctx(|| "finishing the folder's gzip".into())?;
    Ok(out)
}

/// The archive's entry must be the regular file of the manifest's size: anything else would
/// make the copy (or the tar header written from the manifest) wrong.
fn check_header(info: &EntryInfo, entry: &FileEntry) -> Result<()> {
    if info.kind != EntryKind::File || info.size != entry.size {
        return Err(Error::Archive(format!(
            "`{}` in the archive is a {:?} of {} bytes, the manifest records a file of {} bytes",
            entry.path, info.kind, info.size, entry.size
        )));
    }
    Ok(())
}

/// The bytes that went out must hash to the manifest's SHA-256.
fn check_content(entry: &FileEntry, sha256: &str, bytes: u64) -> Result<()> {
    let expected = entry.sha256.map(|s| s.to_string());
    if expected.as_deref() != Some(sha256) || bytes != entry.size {
        return Err(Error::Archive(format!(
            "`{}` read back as {bytes} bytes with SHA-256 {sha256}, the manifest records {} \
             bytes with {}: the download was stopped",
            entry.path,
            entry.size,
            expected.as_deref().unwrap_or("no checksum")
        )));
    }
    Ok(())
}

/// A walk stopped on purpose (everything wanted was sent) is a success; one that reached the
/// end without sending everything means the archive lacks what its manifest promises.
fn finish_walk<T>(walked: Result<T>, done: bool, holder: &str, path: &str) -> Result<()> {
    match walked {
        Err(Error::Cancelled) | Ok(_) if done => Ok(()),
        Err(Error::Cancelled) | Ok(_) => Err(Error::Archive(format!(
            "the archive of backup {holder} lacks `{path}`"
        ))),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BackupKind;
    use crate::engine::manifest::{SourceEntry, FORMAT_VERSION};

    fn entry(path: &str, kind: EntryKind) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind,
            size: if kind == EntryKind::File { 3 } else { 0 },
            mode: 0o644,
            mtime_ns: 0,
            sha256: None,
            link_target: (kind == EntryKind::Symlink).then(|| "elsewhere".into()),
            stored_in: None,
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            backup_id: "b".into(),
            kind: BackupKind::Full,
            parent: None,
            created_at: chrono::Utc::now(),
            scope: "all".into(),
            sources: vec![SourceEntry {
                name: "files".into(),
                service: "app".into(),
                kind: crate::domain::SourceKind::Directory,
                origin: "/srv".into(),
                snapshot_at: None,
                facts: None,
                base_backup: None,
            }],
            files: vec![
                entry("files", EntryKind::Dir),
                entry("files/a.txt", EntryKind::File),
                entry("files/sub/b.txt", EntryKind::File),
                entry("files/subway.txt", EntryKind::File),
                entry("files/link", EntryKind::Symlink),
            ],
            deleted: vec![],
        }
    }

    #[test]
    fn paths_name_files_folders_or_nothing() {
        let m = manifest();
        assert!(
            matches!(locate(&m, "files/a.txt"), Ok(Part::File(e)) if &*e.path == "files/a.txt")
        );
        // `files/sub` is implied by the file below it; `files/subway.txt` is not in it.
        assert_eq!(
            locate(&m, "files/sub/").unwrap(),
            Part::Folder {
                path: "files/sub".into(),
                files: 1,
                bytes: 3
            }
        );
        assert_eq!(
            locate(&m, "files").unwrap(),
            Part::Folder {
                path: "files".into(),
                files: 3,
                bytes: 9
            }
        );
        assert!(matches!(
            locate(&m, "files/nope"),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            locate(&m, "files/su"),
            Err(Error::NotFound { .. })
        ));
        for bad in [
            "",
            "/etc/passwd",
            "files/../etc",
            "files/./a.txt",
            "a\0b",
            "files//a.txt",
        ] {
            assert!(matches!(locate(&m, bad), Err(Error::Invalid(_))), "{bad:?}");
        }
        assert!(matches!(locate(&m, "files/link"), Err(Error::Invalid(m)) if m.contains("link")));
    }
}
