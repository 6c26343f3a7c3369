//! `coffer catalog rebuild --storage NAME`: recreates the catalogue's backup records from what
//! a storage target holds, for when the console's own database is lost. Every archive
//! `<YYYY>/<MM>/<id>.tar.gz[.enc]` with its manifest beside it becomes a `success` record
//! again: kind, parent, scope, sources and time from the manifest (decrypted with the
//! keyring), size and SHA-256 from reading the archive whole, its key id from the archive's
//! header. Records that exist are left alone; nothing in storage is changed.
//!
//! Storage is not trusted: anyone who can write to the folder can plant objects in it. With
//! encryption on, unencrypted archives and manifests are refused unless the operator passes
//! `--allow-plain`; the manifest beside an archive must be byte for byte the one inside it
//! (read whole, decrypted, so authenticated when encrypted); its source and service names
//! must be plain and its entries pass the restore's checks before it enters the catalogue.
//!
//! What storage does not keep cannot come back: the original name and description (the
//! record is named like an unnamed backup of its scope and says where it came from), who made
//! it, its verification and restore history, and the audit log.

use std::collections::HashMap;
use std::io::Read;

use crate::app::{App, NamedStorage};
use crate::db::{Backup, BackupCopy, BackupOutcome, CopyState, DbError, NewBackup, NewLogEntry};
use crate::domain::{check_plain_name, BackupKind, LogLevel, Scope};
use crate::engine::archive_reader::{walk_archive, Plain};
use crate::engine::crypt::{is_encrypted, read_header, DecryptingReader};
use crate::engine::manifest::Manifest;
use crate::engine::restorable::check_manifest;
use crate::error::{Error, Result};
use crate::jobs::archives::manifest_key;

/// What a rebuild found and did.
#[derive(Debug, Default, serde::Serialize)]
pub struct RebuildReport {
    pub storage: String,
    /// Archives found in the target.
    pub archives: usize,
    /// Ids of the records recreated, oldest first.
    pub added: Vec<String>,
    /// Archives the catalogue already knew.
    pub known: usize,
    /// Archives that could not be recorded, with the reason.
    pub problems: Vec<String>,
}

/// A manifest read from beside an archive, with its exact text (what the catalogue keeps and
/// what must hash like the manifest inside the archive).
struct Sidecar {
    manifest: Manifest,
    text: String,
}

/// Recreates the records of every archive in `storage_name` that the catalogue lacks.
/// `allow_plain` takes unencrypted archives and manifests although encryption is on.
pub fn rebuild_catalog(
    app: &App,
    storage_name: &str,
    allow_plain: bool,
    by: Option<&str>,
) -> Result<RebuildReport> {
    let plain = Plain::policy(app.settings.archive.encryption, allow_plain);
    let target = app
        .storage_targets()
        .into_iter()
        .find(|t| t.name == storage_name)
        .ok_or_else(|| {
            let names: Vec<String> = app.storage_targets().into_iter().map(|t| t.name).collect();
            Error::Invalid(format!(
                "no storage target is named `{storage_name}` (configured: {})",
                names.join(", ")
            ))
        })?;
    let objects = target
        .storage
        .list("")
        .map_err(|e| Error::Refused(format!("cannot list {}: {e}", target.storage.describe())))?;
    let sizes: HashMap<&str, u64> = objects.iter().map(|o| (o.key.as_str(), o.size)).collect();
    let mut report = RebuildReport {
        storage: target.name.clone(),
        ..RebuildReport::default()
    };
    let mut found = Vec::new();
    for object in &objects {
        let Some(id) = archive_id(&object.key) else {
            continue;
        };
        report.archives += 1;
        if Backup::find_by_id(&mut *app.conn()?, id).is_ok() {
            report.known += 1;
            continue;
        }
        if !sizes.contains_key(manifest_key(&object.key).as_str()) {
            report.problems.push(format!(
                "{}: its manifest {} is missing",
                object.key,
                manifest_key(&object.key)
            ));
            continue;
        }
        match read_manifest(app, &target, &object.key, id, plain) {
            Ok(sidecar) => found.push((object.key.clone(), sidecar)),
            Err(e) => report.problems.push(format!("{}: {e}", object.key)),
        }
    }
    // Parents before their incrementals (the catalogue's foreign key wants them first).
    found.sort_by_key(|(_, s)| s.manifest.created_at);
    for (key, sidecar) in found {
        match recreate(app, &target, &key, &sidecar, plain) {
            Ok(()) => report.added.push(sidecar.manifest.backup_id.clone()),
            Err(e) => report.problems.push(format!("{key}: {e}")),
        }
    }
    let mut entry = NewLogEntry::new(
        if report.problems.is_empty() {
            LogLevel::Info
        } else {
            LogLevel::Warning
        },
        "catalog",
        format!(
            "catalogue rebuilt from storage `{}`: {} archive(s), {} recreated, {} already known, {} problem(s)",
            report.storage,
            report.archives,
            report.added.len(),
            report.known,
            report.problems.len()
        ),
    );
    if let Some(by) = by {
        entry = entry.by(by);
    }
    app.audit(entry);
    Ok(report)
}

/// The backup id of an archive key `<YYYY>/<MM>/<id>.tar.gz[.enc]`; `None` for other objects.
fn archive_id(key: &str) -> Option<&str> {
    let mut parts = key.split('/');
    let (year, month, file) = (parts.next()?, parts.next()?, parts.next()?);
    let numeric = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !numeric(year, 4) || !numeric(month, 2) {
        return None;
    }
    let id = file
        .strip_suffix(".tar.gz.enc")
        .or_else(|| file.strip_suffix(".tar.gz"))?;
    uuid::Uuid::parse_str(id).ok().map(|_| id)
}

fn read_manifest(
    app: &App,
    target: &NamedStorage,
    key: &str,
    id: &str,
    plain: Plain,
) -> Result<Sidecar> {
    let sidecar = manifest_key(key);
    let mut stored = target
        .storage
        .open(&sidecar)
        .map_err(|e| Error::Archive(format!("cannot read {sidecar}: {e}")))?;
    let mut bytes = Vec::new();
    stored
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Archive(format!("cannot read {sidecar}: {e}")))?;
    let text = if is_encrypted(&bytes) {
        let mut plain = String::new();
        DecryptingReader::new(bytes.as_slice(), &app.keyring())
            .and_then(|mut reader| reader.read_to_string(&mut plain))
            .map_err(|e| Error::Archive(format!("cannot decrypt {sidecar}: {e}")))?;
        plain
    } else {
        plain.check(false, &format!("the manifest {sidecar}"))?;
        String::from_utf8(bytes).map_err(|_| Error::Archive(format!("{sidecar} is not text")))?
    };
    let manifest =
        Manifest::from_json(&text).map_err(|e| Error::Archive(format!("{sidecar}: {e}")))?;
    if manifest.backup_id != id {
        return Err(Error::Archive(format!(
            "{sidecar} belongs to backup {}, not {id}",
            manifest.backup_id
        )));
    }
    // Source and service names become lock files, staging folders and archive paths.
    for source in &manifest.sources {
        check_plain_name(&source.name)
            .and_then(|()| check_plain_name(&source.service))
            .map_err(|m| Error::Archive(format!("{sidecar}: source {m}: refused")))?;
    }
    let names: Vec<&str> = manifest.sources.iter().map(|s| s.name.as_str()).collect();
    check_manifest(&manifest, &names).map_err(|e| Error::Archive(format!("{sidecar}: {e}")))?;
    Ok(Sidecar { manifest, text })
}

/// Records one archive as a successful backup, read whole (decrypted and unpacked) for its
/// size and SHA-256 and to prove the manifest beside it is the one inside it.
fn recreate(
    app: &App,
    target: &NamedStorage,
    key: &str,
    sidecar: &Sidecar,
    plain: Plain,
) -> Result<()> {
    use sha2::{Digest, Sha256};
    let manifest = &sidecar.manifest;
    let id = &manifest.backup_id;
    let stored = target
        .storage
        .open(key)
        .map_err(|e| Error::Archive(format!("reading the archive: {e}")))?;
    let (embedded, digest) = walk_archive(stored, &app.keyring(), plain, |_, _| Ok(()))?;
    if embedded.backup_id != *id
        || embedded.sha256 != hex::encode(Sha256::digest(sidecar.text.as_bytes()))
    {
        return Err(Error::Archive(format!(
            "the manifest beside the archive differs from the one inside it (replaced or \
             planted): refused; the archive's own manifest says backup {}",
            embedded.backup_id
        )));
    }
    let key_id = archive_key_id(target, key)?;
    let scope: Scope = manifest
        .scope
        .parse()
        .map_err(|e| Error::Archive(format!("the manifest's scope: {e}")))?;
    let sources: Vec<&str> = manifest.sources.iter().map(|s| s.name.as_str()).collect();
    let stamp = manifest.created_at.format("%Y%m%d-%H%M%S");
    let name = match &scope {
        Scope::All => format!("all-{stamp}"),
        Scope::Service(s) => format!("{s}-{stamp}"),
        Scope::Sources(names) => format!("{}-{stamp}", names.join("+")),
    };
    let base = match (&manifest.kind, &manifest.parent) {
        (BackupKind::Incremental, Some(parent)) => {
            NewBackup::incremental(&name, parent, &scope, &sources)
        }
        _ => NewBackup::full(&name, &scope, &sources),
    };
    let record = NewBackup {
        id: id.clone(),
        created_at: manifest.created_at.naive_utc(),
        ..base
    }
    .with_description(&format!(
        "recovered from storage `{}` by catalog rebuild",
        target.name
    ));
    let json = &sidecar.text;
    let outcome = BackupOutcome {
        storage_key: key.to_string(),
        size_bytes: digest.bytes as i64,
        sha256: digest.sha256,
        key_id,
        file_count: manifest.file_count() as i64,
        warnings: Vec::new(),
    };
    let mut conn = app.conn()?;
    crate::db::write_transaction(&mut conn, |conn| {
        Backup::insert(conn, &record)?;
        Backup::mark_running(conn, id)?;
        Backup::mark_succeeded(conn, id, &outcome)?;
        crate::db::Manifest::store(conn, id, json)?;
        BackupCopy::record(
            conn,
            id,
            &target.name,
            CopyState::Healthy,
            digest.bytes,
            None,
        )?;
        Ok::<_, DbError>(())
    })
    .map_err(|e| match e {
        e if e.is_foreign_key_violation() => Error::Archive(format!(
            "its parent backup {} is neither in the catalogue nor in this storage",
            manifest.parent.as_deref().unwrap_or("?")
        )),
        e => e.into(),
    })
}

/// The key id in an encrypted archive's header; `None` for an unencrypted archive.
fn archive_key_id(target: &NamedStorage, key: &str) -> Result<Option<String>> {
    let mut stored = target
        .storage
        .open(key)
        .map_err(|e| Error::Archive(format!("reading the archive: {e}")))?;
    let mut prefix = [0u8; 16];
    let mut filled = 0;
    while filled < prefix.len() {
        match stored.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(Error::Archive(format!("reading the archive: {e}"))),
        }
    }
    if !is_encrypted(&prefix[..filled]) {
        return Ok(None);
    }
    let mut whole = (&prefix[..filled]).chain(stored);
    let header = read_header(&mut whole)
        .map_err(|e| Error::Archive(format!("the archive's header: {e}")))?;
    Ok(Some(header.key_id))
}

#[cfg(test)]
mod tests {
    use super::archive_id;

    #[test]
    fn only_archive_keys_name_a_backup() {
        let id = "01930d4e-8c2a-7b3e-9f00-123456789abc";
        assert_eq!(archive_id(&format!("2026/11/{id}.tar.gz.enc")), Some(id));
        assert_eq!(archive_id(&format!("2026/11/{id}.tar.gz")), Some(id));
        for other in [
            format!("2026/11/{id}.manifest.json.enc"),
            format!("2026/11/{id}.tar.gz.partial-abc"),
            format!("x/2026/11/{id}.tar.gz"),
            "2026/11/not-a-uuid.tar.gz".to_string(),
            format!("2026/1/{id}.tar.gz"),
        ] {
            assert_eq!(archive_id(&other), None, "{other}");
        }
    }
}
