//! Point-in-time recovery of PostgreSQL sources (`pitr = true`).

pub mod wal;
