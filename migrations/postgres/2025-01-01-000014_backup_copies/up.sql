-- Where each backup's archive is kept: the primary storage target and every replica, with
-- the state of that copy as last seen (copying, healthy, failed, missing, corrupt).
CREATE TABLE backup_copies (
    backup_id TEXT NOT NULL REFERENCES backup_records (id) ON DELETE CASCADE,
    storage TEXT NOT NULL,
    state TEXT NOT NULL,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    checked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (backup_id, storage)
);
