-- One archive in storage. An incremental always names its parent (and only it does);
-- a parent cannot be deleted while an incremental still depends on it.
CREATE TABLE backup_records (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
    parent_id TEXT REFERENCES backup_records (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled')),
    scope TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',
    storage_key TEXT,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    sha256 TEXT,
    key_id TEXT,
    file_count BIGINT NOT NULL DEFAULT 0,
    warnings TEXT,
    created_by TEXT,
    automatic BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    error_message TEXT,
    verify_state TEXT NOT NULL DEFAULT 'unverified'
        CHECK (verify_state IN ('unverified', 'passed', 'failed')),
    verified_at TIMESTAMP,
    restore_count BIGINT NOT NULL DEFAULT 0,
    last_restored_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    CHECK ((kind = 'full' AND parent_id IS NULL) OR (kind = 'incremental' AND parent_id IS NOT NULL))
);
CREATE INDEX backup_records_status_idx ON backup_records (status);
CREATE INDEX backup_records_created_at_idx ON backup_records (created_at);
CREATE INDEX backup_records_parent_id_idx ON backup_records (parent_id);
CREATE INDEX backup_records_scope_status_idx ON backup_records (scope, status, created_at);

-- The manifest is kept apart so that list queries stay light.
CREATE TABLE backup_manifests (
    backup_id TEXT PRIMARY KEY NOT NULL REFERENCES backup_records (id) ON DELETE CASCADE,
    manifest TEXT NOT NULL
);
