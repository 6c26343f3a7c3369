//! One spool file into the WAL archive: gzip, then the archive crypto of backups (plain
//! `.gz` with encryption off), committed whole to the primary storage target and then to
//! every replica, and recorded in `pitr_wal_segments` with the plain file's size and
//! SHA-256. A segment is 16 MiB at most (compressed far smaller), so it is sealed once in
//! memory and the same bytes go to every target.

use std::io::Write;

use sha2::{Digest, Sha256};

use super::names::WalName;
use crate::app::App;
use crate::db::WalSegment;
use crate::engine::crypt::EncryptingWriter;
use crate::error::{Error, IoContext, Result};

/// `pitr/<source>/wal/<name>[.partial].gz[.enc]`.
pub fn object_key(source: &str, name: &str, partial: bool, encrypted: bool) -> String {
    format!(
        "pitr/{source}/wal/{name}{}.gz{}",
        if partial { ".partial" } else { "" },
        if encrypted { ".enc" } else { "" }
    )
}

/// Stores `plain`, the content of WAL file `name` of `source` (its partial segment when
/// `partial`), and, for a finished segment, removes the partial object it replaces.
pub fn store_wal(
    app: &App,
    source: &str,
    name: &str,
    partial: bool,
    plain: &[u8],
) -> Result<WalSegment> {
    let parsed = WalName::parse(name)
        .ok_or_else(|| Error::Invalid(format!("`{name}` is not a WAL file name")))?;
    let cipher = app.archive_key()?;
    let sealed = seal(plain, cipher.as_ref()).ctx(|| format!("compressing WAL file {name}"))?;
    let storage_key = object_key(source, name, partial, cipher.is_some());
    for (i, target) in app.storage_targets().into_iter().enumerate() {
        let written = put(&*target.storage, &storage_key, &sealed)
            .ctx(|| format!("storing {storage_key} in `{}`", target.name));
        match written {
            Ok(()) => {}
            // The primary holds the archive: without it the file stays in the spool.
            Err(e) if i == 0 => return Err(e),
            Err(e) => tracing::warn!("WAL of `{source}`: replica copy failed: {e}"),
        }
    }
    let row = WalSegment {
        source: source.to_string(),
        name: name.to_string(),
        partial,
        timeline: i64::from(parsed.timeline()),
        start_lsn: parsed
            .segment_no(plain.len() as u64)
            .map(|n| (n * plain.len() as u64) as i64),
        size_bytes: plain.len() as i64,
        stored_bytes: sealed.len() as i64,
        sha256: hex::encode(Sha256::digest(plain)),
        key_id: cipher.map(|(id, _)| id),
        storage_key,
        stored_at: crate::db::now(),
    };
    let mut conn = app.conn()?;
    let before = WalSegment::find(&mut conn, source, name, partial)?;
    WalSegment::upsert(&mut conn, &row)?;
    if let Some(old) = before.filter(|old| old.storage_key != row.storage_key) {
        // Encryption was switched since: the object under the other name is stale.
        delete_everywhere(app, &old.storage_key);
    }
    if !partial {
        if let Some(replaced) = WalSegment::find(&mut conn, source, name, true)? {
            WalSegment::delete(&mut conn, source, name, true)?;
            delete_everywhere(app, &replaced.storage_key);
        }
    }
    Ok(row)
}

/// gzip (fast level: WAL is mostly page images and zeros), then encrypted with `cipher`.
fn seal(plain: &[u8], cipher: Option<&(String, [u8; 32])>) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(plain)?;
    let compressed = gz.finish()?;
    match cipher {
        None => Ok(compressed),
        Some((id, key)) => {
            let mut writer = EncryptingWriter::new(Vec::new(), key, id)?;
            writer.write_all(&compressed)?;
            writer.finish()
        }
    }
}

fn put(storage: &dyn crate::storage::Storage, key: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut object = storage.create(key)?;
    object.write_all(bytes)?;
    object.commit()
}

/// Removes `key` from every target; a failure leaves an orphan object, logged.
pub fn delete_everywhere(app: &App, key: &str) {
    for target in app.storage_targets() {
        if let Err(e) = target.storage.delete(key) {
            tracing::warn!("cannot delete {key} from `{}`: {e}", target.name);
        }
    }
}
