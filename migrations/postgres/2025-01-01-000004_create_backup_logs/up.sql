-- The audit trail. No foreign keys: log entries outlive the backups and users they name.
CREATE TABLE backup_logs (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('info', 'warning', 'error')),
    operation TEXT NOT NULL,
    username TEXT,
    backup_id TEXT,
    task_id TEXT,
    message TEXT NOT NULL,
    details TEXT
);
CREATE INDEX backup_logs_created_at_idx ON backup_logs (created_at);
CREATE INDEX backup_logs_operation_idx ON backup_logs (operation, created_at);
CREATE INDEX backup_logs_username_idx ON backup_logs (username, created_at);
CREATE INDEX backup_logs_backup_id_idx ON backup_logs (backup_id);
