//! A backup's stored objects, in one place: where they live in storage (`keys`), its
//! manifest from the catalogue (`manifest`), and its archives opened for reading from a
//! healthy copy (`stored`). Backup, verify, restore, export, delete and recovery all go
//! through here.

mod keys;
mod manifest;
mod stored;

pub use keys::{archive_key, manifest_key};
pub use manifest::{load_manifest, load_manifest_with_digest};
pub use stored::StoredArchives;
