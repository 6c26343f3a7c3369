//! Export: a backup as a plain `.tar.gz` that GNU tar opens, streamed into any writer (a
//! file for the CLI, an HTTP body for downloads). A full backup's gzip stream is passed
//! through as it is (only decrypted); an incremental is re-assembled from its chain into a
//! new tar holding the complete state, with the manifest last.

use std::io::{self, Read, Write};

use crate::app::App;
use crate::db::NewLogEntry;
use crate::domain::{LogLevel, Status};
use crate::engine::archive_reader::{open_gzip_layer, walk_archive, DigestTap, Plain};
use crate::engine::archive_writer::tar_header;
use crate::engine::compress::ParallelGzipWriter;
use crate::engine::extract::{check_digest, ArchiveSource};
use crate::engine::manifest::{EntryKind, FileEntry, Manifest, MANIFEST_ENTRY};
use crate::error::{Error, IoContext, Result};
use crate::jobs::archives::load_manifest;
use crate::jobs::archives::StoredArchives;

/// Writes the backup as `.tar.gz` into `out` and returns it. Every byte read is checked
/// (authentication, stored checksum); an error means `out` holds an unusable partial file.
pub fn export_backup<W: Write + Send + 'static>(
    app: &App,
    backup_id: &str,
    out: W,
    by: Option<&str>,
) -> Result<W> {
    let backup = super::find_backup(&mut *app.conn()?, backup_id)?;
    if backup.status() != Status::Succeeded {
        return Err(Error::Refused(format!(
            "backup {} is {}: only successful backups can be exported",
            backup.id,
            backup.status()
        )));
    }
    let manifest = load_manifest(&mut *app.conn()?, &backup.id)?;
    let archives = StoredArchives::new(app);
    let out = if manifest.chain().len() == 1 {
        pass_through(app, &archives, &backup.id, out)?
    } else {
        reassemble(app, &archives, &manifest, out)?
    };
    let mut entry = NewLogEntry::new(
        LogLevel::Info,
        "download",
        format!("exported backup `{}` as .tar.gz", backup.name),
    )
    .for_backup(&backup.id);
    if let Some(by) = by {
        entry = entry.by(by);
    }
    app.audit(entry);
    Ok(out)
}

fn pass_through<W: Write>(app: &App, archives: &StoredArchives, id: &str, mut out: W) -> Result<W> {
    let (stored, expected) = archives.open(id)?;
    let (gzip_stream, tap) = open_gzip_stream(app, stored)?;
    let mut gzip_stream = gzip_stream;
    io::copy(&mut gzip_stream, &mut out).ctx(|| format!("exporting backup {id}"))?;
    let actual = tap
        .result()
        .ok_or_else(|| Error::Archive("the archive stream did not reach its end".into()))?;
    check_digest(id, &actual, &expected)?;
    out.flush().ctx(|| "flushing the export".into())?;
    Ok(out)
}

/// The decrypted (still gzip-compressed) bytes of an archive.
fn open_gzip_stream(
    app: &App,
    stored: Box<dyn Read + Send>,
) -> Result<(Box<dyn Read + Send>, DigestTap)> {
    open_gzip_layer(stored, &app.keyring())
}

fn reassemble<W: Write + Send + 'static>(
    app: &App,
    archives: &StoredArchives,
    manifest: &Manifest,
    out: W,
) -> Result<W> {
    let settings = &app.settings.archive;
    let gzip = ParallelGzipWriter::new(out, settings.compression_level, settings.thread_count());
    let mut tar = tar::Builder::new(gzip);
    for entry in manifest.files.iter().filter(|e| e.kind != EntryKind::File) {
        let mut header = tar_header(entry.kind, entry.mode, entry.mtime_ns, entry.size);
        let written = match &entry.link_target {
            Some(target) => tar.append_link(&mut header, &*entry.path, &**target),
            None => tar.append_data(&mut header, &*entry.path, io::empty()),
        };
        written.ctx(|| format!("exporting {}", entry.path))?;
    }
    for holder in manifest.chain() {
        let mut wanted: std::collections::HashMap<&str, &FileEntry> = manifest
            .files
            .iter()
            .filter(|e| e.kind == EntryKind::File && manifest.holder_of(e) == holder)
            .map(|e| (&*e.path, e))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let (stored, expected) = archives.open(&holder)?;
        // A download hands the operator the bytes as recorded; it restores nothing.
        let (_, digest) = walk_archive(stored, &app.keyring(), Plain::Allow, |info, content| {
            if let Some(entry) = wanted.remove(info.path.as_str()) {
                let mut header = tar_header(entry.kind, entry.mode, entry.mtime_ns, entry.size);
                tar.append_data(&mut header, &*entry.path, content)
                    .ctx(|| format!("exporting {}", entry.path))?;
            }
            Ok(())
        })?;
        check_digest(&holder, &digest, &expected)?;
        if let Some(missing) = wanted.keys().next() {
            return Err(Error::Archive(format!(
                "archive of backup {holder} lacks `{missing}`"
            )));
        }
    }
    let json = manifest.to_json();
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(manifest.created_at.timestamp().max(0) as u64);
    tar.append_data(&mut header, MANIFEST_ENTRY, json.as_bytes())
        .ctx(|| "exporting the manifest".into())?;
    let gzip = tar.into_inner().ctx(|| "finishing the export".into())?;
    let (out, _) = gzip.finish().ctx(|| "finishing the export".into())?;
    Ok(out)
}
