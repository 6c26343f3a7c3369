//! What a PostgreSQL base backup (a PITR source's full backup, `pg_basebackup`) records
//! beside its files: where in the WAL it starts and ends, on which timeline, when, and the
//! server's major version. A point-in-time restore starts from it and replays WAL from its
//! end; the recoverable window of a base backup starts at its stop point.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BaseBackupFacts {
    /// `START WAL LOCATION` of its `backup_label` (`0/2000028`).
    pub start_lsn: String,
    /// The WAL segment holding the start (`000000010000000000000002`).
    pub start_segment: String,
    /// `START TIMELINE` of its `backup_label`.
    pub timeline: u32,
    /// The WAL end point `pg_basebackup` reported: the first point the copy is consistent.
    pub stop_lsn: String,
    /// Taken just before `pg_basebackup` started (no later than the backup's start).
    pub start_time: DateTime<Utc>,
    /// Taken once its stream ended (no earlier than its stop point): a target time from
    /// here on is past the point where the copy is consistent.
    pub stop_time: DateTime<Utc>,
    /// The server's major version (`PG_VERSION` of the copied data directory): the local
    /// programs a restore runs must be of this version.
    pub server_major: u32,
    /// The server's `wal_segment_size` in bytes (WAL file names count in segments of it).
    pub wal_segment_size: u64,
    /// How the WAL it needs to be consistent came along (`fetch`: in its own `pg_wal`).
    pub wal_method: String,
}
