//! Continuous WAL archiving of PITR sources (`pitr = true`). `pg_receivewal` streams each
//! source's WAL through a physical replication slot into a spool folder; every finished
//! segment and timeline history file becomes one object `pitr/<source>/wal/<name>.gz[.enc]`
//! (gzip, then the archive crypto of backups) in the primary storage and every replica,
//! recorded in `pitr_wal_segments` with the plain file's size and SHA-256. The segment being
//! received is stored as `<name>.partial.gz[.enc]` every `wal_flush_seconds`, so the RPO
//! does not wait for a segment to fill. One process across all streams each source
//! (`lease.rs`). The restore side reads the archive back, verified, with [`fetch_wal`].
//!
//! ```text
//! pg_receivewal ─▶ <data_dir>/pitr/<source>/spool ─▶ store.rs: gzip → AES-256-GCM ─▶ storage
//!                  (finished: stored, then removed;      └─▶ pitr_wal_segments row
//!                   .partial: stored when changed)
//! ```

mod fetch;
mod lease;
mod names;
mod prune;
mod spool;
mod store;
mod streamer;

pub use fetch::{archived_window, fetch_wal, read_verified, FetchedWal};
pub use names::WalName;
pub use prune::prune_wal;
pub use store::object_key;
pub use streamer::{is_streaming, WalStreamers};
