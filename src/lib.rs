//! Coffer: self-hosted backup and restore for an application's data.
//!
//! Data flow of a backup: `sources` read files and database snapshots → `engine` builds
//! the archive stream (tar → parallel gzip → AES-256-GCM STREAM → SHA-256) → `storage`
//! commits it atomically → `db` records it. Restore and verify run the same pipeline
//! backwards. The CLI (`cli`) and, later, the web console only orchestrate these rooms.

pub mod domain;
