//! PostgreSQL point-in-time recovery (`pitr = true` sources): the continuous WAL archive
//! (`wal`), base backups (`base`) and restoring one, with WAL replayed on a temporary server,
//! to a point (`point`).

pub mod base;
pub mod point;
pub mod wal;
