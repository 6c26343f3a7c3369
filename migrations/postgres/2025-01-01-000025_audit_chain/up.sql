-- The audit log as a hash chain (db/models/log_entry.rs, domain/audit_chain.rs): each entry's
-- position, the hash of the entry before it and its own hash. NULL until chained: entries
-- written before this migration are chained once, right after it (db/models/audit_head.rs);
-- after that an unchained entry is a forgery.
ALTER TABLE backup_logs ADD COLUMN seq BIGINT;
ALTER TABLE backup_logs ADD COLUMN prev_hash TEXT;
ALTER TABLE backup_logs ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX backup_logs_seq_idx ON backup_logs (seq);

-- The chain's head, one row: every append updates it first, which serialises writers
-- (SQLite's write lock, PostgreSQL's row lock). Also when the head was last published to
-- storage and when the monitor last verified the chain. `start_*`: where the chain begins
-- once retention removed its oldest entries (position 0 and the genesis hash until then).
CREATE TABLE audit_chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    start_seq BIGINT NOT NULL,
    start_hash TEXT NOT NULL,
    legacy_sealed BOOLEAN NOT NULL,
    published_seq BIGINT,
    published_at TIMESTAMP,
    checked_at TIMESTAMP
);
INSERT INTO audit_chain_head (id, seq, hash, start_seq, start_hash, legacy_sealed)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
        0, '0000000000000000000000000000000000000000000000000000000000000000', FALSE);
