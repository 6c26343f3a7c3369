-- Restore drills: one row per drill (what it restored, whether every source was proven,
-- how long it took, the whole report as JSON), one row per source for the recoverability
-- figures (proven RPO is the age of the newest backup of a source whose drill passed).
-- No foreign keys: a drill's history outlives its task and its backup (the RTO trend).
CREATE TABLE drills (
    task_id TEXT PRIMARY KEY NOT NULL,
    backup_id TEXT NOT NULL,
    backup_name TEXT NOT NULL,
    backup_size BIGINT NOT NULL,
    passed BOOLEAN NOT NULL,
    rto_ms BIGINT NOT NULL,
    report TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
);
CREATE INDEX drills_by_time ON drills (finished_at);

CREATE TABLE drill_sources (
    task_id TEXT NOT NULL REFERENCES drills (task_id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    service TEXT NOT NULL,
    backup_id TEXT NOT NULL,
    passed BOOLEAN NOT NULL,
    rto_ms BIGINT NOT NULL,
    -- When the backup's snapshot of this source was taken: what a passed drill proves.
    taken_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, source)
);
CREATE INDEX drill_sources_by_source ON drill_sources (source, finished_at);
