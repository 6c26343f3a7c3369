//! How records read outside the process: the JSON shapes scripts rely on (the API and the
//! CLI's `--json` alike) and figures written as people read them. Shared by `cli` and `web`,
//! so neither imports the other; nothing here does I/O.

mod json;
mod text;
mod timing;

pub use json::{
    backup_json, drill_json, queued_backup, task_json, BackupView, DrillView, QueuedBackup,
    ScheduleView, TaskView, UtcTime,
};
pub use text::{duration_text, human_bytes, where_it_is};
pub use timing::{span_text, Timing};
