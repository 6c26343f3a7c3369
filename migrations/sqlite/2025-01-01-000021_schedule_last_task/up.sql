-- The task a schedule's last run queued (by its time, or by "Run now" in the console), so the
-- schedules list shows that run's result and links to its task. No foreign key: tasks are
-- kept apart from schedules, and a missing task only hides the result.
ALTER TABLE backup_schedules ADD COLUMN last_task_id TEXT;
