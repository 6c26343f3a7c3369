-- One run of work with its progress. Like logs, tasks outlive the backups they name,
-- so backup_id carries no foreign key.
CREATE TABLE backup_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled')),
    backup_id TEXT,
    params TEXT,
    percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    phase TEXT NOT NULL DEFAULT '',
    bytes_done BIGINT NOT NULL DEFAULT 0,
    bytes_total BIGINT NOT NULL DEFAULT 0,
    files_done BIGINT NOT NULL DEFAULT 0,
    files_total BIGINT NOT NULL DEFAULT 0,
    eta_seconds BIGINT,
    heartbeat_at TIMESTAMP,
    worker TEXT,
    error TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX backup_tasks_status_idx ON backup_tasks (status);
CREATE INDEX backup_tasks_created_at_idx ON backup_tasks (created_at);
CREATE INDEX backup_tasks_backup_id_idx ON backup_tasks (backup_id);
