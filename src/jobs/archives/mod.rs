//! A backup's stored objects, in one place: where they live in storage (`keys`), its
//! manifest from the catalogue (`manifest`), its archives opened for reading (`stored`), and
//! its copies in every storage target (`copies`: replicated and read back after a backup,
//! and the healthy one chosen for each read). Backup, verify, restore, export, delete and
//! recovery all go through here.

pub mod copies;
mod keys;
mod manifest;
mod stored;

pub use keys::{archive_key, manifest_key};
pub use manifest::{load_manifest, load_manifest_with_digest};
pub use stored::StoredArchives;
