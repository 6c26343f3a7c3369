//! Around a backup's snapshots: every chosen source's `before` hook in order, then the
//! snapshots, then the `after` hook of every source whose turn came (newest first) — also
//! when a `before` hook or a snapshot failed, so writers paused are always resumed. An
//! operator pauses every writer this way, and the sources of one backup describe one
//! moment. Each hook's output goes to the audit log, tied to the task; a failing hook fails
//! the backup.

use crate::app::App;
use crate::config::SourceConfig;
use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::engine::progress::ProgressSink;
use crate::error::Result;
use crate::sources::{run_hook, HookPoint};

/// Which backup and task the hooks' log entries belong to.
pub struct HookContext<'a> {
    pub app: &'a App,
    pub backup_id: &'a str,
    pub task_id: &'a str,
    pub progress: &'a dyn ProgressSink,
}

/// Runs `snapshots` between the chosen sources' `before` and `after` hooks.
pub fn around<T>(
    context: &HookContext,
    chosen: &[&SourceConfig],
    snapshots: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let mut entered = 0;
    let mut result = Ok(());
    for source in chosen {
        // Counted before it runs: a `before` that failed half-way may have paused something.
        entered += 1;
        result = hook(context, source, HookPoint::Before);
        if result.is_err() {
            break;
        }
    }
    let outcome = result.and_then(|()| snapshots());
    let mut resumed = Ok(());
    for source in chosen[..entered].iter().rev() {
        let after = hook(context, source, HookPoint::After);
        if resumed.is_ok() {
            resumed = after;
        }
    }
    let outcome = outcome?;
    resumed?;
    Ok(outcome)
}

fn hook(context: &HookContext, source: &SourceConfig, point: HookPoint) -> Result<()> {
    let ran = run_hook(source, point, context.progress);
    let (level, message) = match &ran {
        Ok(None) => return Ok(()),
        Ok(Some(ran)) => (
            LogLevel::Info,
            format!(
                "source `{}`: {} hook ran in {:.1} s{}",
                source.name,
                point.as_str(),
                ran.took.as_secs_f64(),
                if ran.output.is_empty() {
                    String::new()
                } else {
                    format!(": {}", ran.output)
                }
            ),
        ),
        Err(e) => (LogLevel::Error, e.to_string()),
    };
    context.app.audit(
        NewLogEntry::new(level, "hook", message)
            .for_backup(context.backup_id)
            .for_task(context.task_id),
    );
    ran.map(drop)
}
