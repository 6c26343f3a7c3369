//! A backup's manifest as the catalogue keeps it (`backup_manifests`), parsed.

use crate::db;
use crate::engine::manifest::Manifest;
use crate::error::{Error, Result};

pub fn load_manifest(conn: &mut db::DbConnection, backup_id: &str) -> Result<Manifest> {
    load_manifest_with_digest(conn, backup_id).map(|(manifest, _)| manifest)
}

/// The catalogue's manifest and the SHA-256 of its text (the very bytes in the archive).
pub fn load_manifest_with_digest(
    conn: &mut db::DbConnection,
    backup_id: &str,
) -> Result<(Manifest, String)> {
    use sha2::{Digest, Sha256};
    let text = db::Manifest::load(conn, backup_id)?.ok_or_else(|| {
        Error::Archive(format!(
            "backup {backup_id} has no manifest in the catalogue"
        ))
    })?;
    let manifest = Manifest::from_json(&text)
        .map_err(|e| Error::Archive(format!("backup {backup_id}: {e}")))?;
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    // The text (and the database's copy of it) was as large as the parsed manifest or
    // larger; without this the process would keep that memory for the rest of the job.
    drop(text);
    crate::memory::release_free_memory();
    Ok((manifest, digest))
}
