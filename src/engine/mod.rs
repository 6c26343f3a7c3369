//! The archive engine: byte pipelines, no HTTP and no SQL.
//!
//! Writing: `archive_writer` (tar + manifest) → `compress` (parallel gzip members) →
//! `crypt` (AES-256-GCM STREAM, key from `keyring`) → `digest` (SHA-256 tee) → a sink.
//! Reading: `archive_reader` undoes it and checks every path; `extract` stages a restore;
//! `verify` reads an archive whole against its `manifest`. `key_export` seals the keyring
//! with a passphrase. `restorable` is what a restore
//! accepts, asked by the writer, deep verify and the extractor alike. `planned` is what the
//! writer is given: entries planned by `sources`, which the engine never imports.

pub mod archive_reader;
pub mod archive_writer;
pub mod audit_seal;
pub mod compress;
pub mod crypt;
pub mod digest;
pub mod extract;
pub mod key_export;
pub mod keyring;
pub mod manifest;
pub mod parent_index;
pub mod planned;
pub mod progress;
pub mod read_ahead;
pub mod read_full;
pub mod restorable;
pub mod stage_clock;
pub mod verify;
