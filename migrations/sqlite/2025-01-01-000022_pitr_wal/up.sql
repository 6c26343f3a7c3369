-- The WAL archive of PITR sources: one row per stored object, a finished segment, a
-- timeline history file, or the newest partial segment (replaced on each flush, removed
-- once its finished segment is stored). Sizes and SHA-256 are of the plain file.
CREATE TABLE pitr_wal_segments (
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    partial BOOLEAN NOT NULL,
    timeline BIGINT NOT NULL,
    start_lsn BIGINT,
    size_bytes BIGINT NOT NULL,
    stored_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    key_id TEXT,
    storage_key TEXT NOT NULL,
    stored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, name, partial)
);
CREATE INDEX pitr_wal_segments_stored ON pitr_wal_segments (source, stored_at);

-- Who streams each PITR source's WAL: one process across all that share this database,
-- holding the lease while it renews it; another takes it over once it is older than the
-- lease time ([workers] heartbeat_timeout_seconds).
CREATE TABLE pitr_wal_streamers (
    source TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    renewed_at TIMESTAMP NOT NULL,
    streaming BOOLEAN NOT NULL,
    error TEXT
);
