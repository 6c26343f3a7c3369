//! A backup's copies: its archive (and manifest) in the primary storage target and in each
//! replica (`[[storage.replicas]]`, for 3-2-1). Each copy is verified by reading it back and
//! comparing size and SHA-256 with the record; its state is kept in `backup_copies`.
//! Reads go to a healthy copy: when a backup has more than one, the copy is checked before
//! use, so a missing or corrupt primary falls back to a replica instead of failing.

mod choose;
mod replicate;

pub use choose::{check_copy, open_healthy};
pub use replicate::{copy_backup, replicate_new};

use std::io::Read;

use crate::engine::archive_reader::StoredDigest;

/// Size and SHA-256 of a stored object, read whole.
pub(crate) fn hash_stream(mut stored: impl Read) -> std::io::Result<StoredDigest> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = stored.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(StoredDigest {
        sha256: hex::encode(hasher.finalize()),
        bytes,
    })
}
