-- When a running task's progress last moved (the heartbeat beats even when it does not):
-- stall detection compares this with `[monitor] stall_minutes`.
ALTER TABLE backup_tasks ADD COLUMN progress_at TIMESTAMP;
-- Alerts raised and not yet over (`rpo:<source>`, `stall:<task>`, `storage`): an alert is
-- raised by whoever inserts its row, once, and can be raised again after its row is removed.
CREATE TABLE monitor_alerts (
    subject TEXT PRIMARY KEY NOT NULL,
    raised_at TIMESTAMP NOT NULL
);
-- Monotonic counters for /metrics that no catalogue row keeps (bytes written by backups).
CREATE TABLE monitor_counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL DEFAULT 0
);
