//! The jobs the worker pool runs. Every kind of queued work is one variant here, and this
//! is the only place that maps a job to its code. A job carries the id of its task and
//! nothing else: what to do is in the task row (written by `prepare_*`), and running a
//! task that is no longer pending does nothing, so a job pushed or delivered twice is
//! harmless.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::db::Task;
use crate::domain::TaskKind;
use crate::error::{Error, Result};
use crate::jobs::run::execution::{Execution, Interrupt};
use crate::jobs::run::live::LiveProgress;
use crate::jobs::{backup, drill, restore, verify};

/// One queued piece of work. Serialized as `{"job": "<name>", "task_id": "…"}`; the names
/// are stable: jobs already in a queue must still be read after an upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    Backup { task_id: String },
    Verify { task_id: String },
    Restore { task_id: String },
    Drill { task_id: String },
}

impl Job {
    /// The job that runs `task` (a backup, verify or restore task).
    pub fn for_task(task: &Task) -> Result<Job> {
        let task_id = task.id.clone();
        match task.kind()? {
            TaskKind::Backup => Ok(Job::Backup { task_id }),
            TaskKind::Verify => Ok(Job::Verify { task_id }),
            TaskKind::Restore => Ok(Job::Restore { task_id }),
            TaskKind::Drill => Ok(Job::Drill { task_id }),
            other => Err(Error::Refused(format!(
                "{other} tasks are not run by the worker pool"
            ))),
        }
    }

    /// The stable name of the job's kind.
    pub fn name(&self) -> &'static str {
        match self {
            Job::Backup { .. } => "backup",
            Job::Verify { .. } => "verify",
            Job::Restore { .. } => "restore",
            Job::Drill { .. } => "drill",
        }
    }

    pub fn task_id(&self) -> &str {
        match self {
            Job::Backup { task_id }
            | Job::Verify { task_id }
            | Job::Restore { task_id }
            | Job::Drill { task_id } => task_id,
        }
    }
}

/// Runs `job` on this thread (blocking), publishing its progress to `live`. Returns whether
/// the task ran (`false`: it was no longer pending, or waiting was interrupted).
pub fn execute_job(
    app: &App,
    job: &Job,
    live: &LiveProgress,
    interrupt: &Interrupt,
) -> Result<bool> {
    execute_job_then(app, job, live, interrupt).map(|(ran, _)| ran)
}

/// [`execute_job`], also returning the tasks the job recorded for the queue to run next
/// (the drill after a schedule's `drill_every`-th backup).
pub fn execute_job_then(
    app: &App,
    job: &Job,
    live: &LiveProgress,
    interrupt: &Interrupt,
) -> Result<(bool, Vec<Task>)> {
    let task_id = job.task_id();
    let how = || {
        let waiting = live.clone();
        let id = task_id.to_string();
        Execution::waiting(
            Some(live.display_for(task_id)),
            Some(Box::new(move |phase: &str| {
                waiting.publish_waiting(&id, phase)
            })),
            interrupt.clone(),
        )
    };
    let mut next = Vec::new();
    let result = match job {
        Job::Backup { .. } => backup::execute_backup_job(app, task_id, how()).map(|done| {
            next.extend(done.as_ref().and_then(|d| d.drill.clone()));
            done.is_some()
        }),
        Job::Verify { .. } => verify::execute_verify(app, task_id, how()).map(|v| v.is_some()),
        Job::Restore { .. } => restore::execute_restore(app, task_id, how()).map(|r| r.is_some()),
        // A drill that found its backup wanting is a finished task like any other: its
        // report is recorded, and the task says it failed.
        Job::Drill { .. } => drill::execute_drill(app, task_id, how()).map(|r| r.is_some()),
    };
    // Whatever happened, subscribers get the outcome the row holds.
    if let Ok(task) = Task::find_by_id(&mut *app.conn()?, task_id) {
        if task.status().is_finished() {
            live.publish_final(&task);
        }
    }
    result.map(|ran| (ran, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_and_wire_form_are_stable() {
        let job = Job::Restore {
            task_id: "t1".into(),
        };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(text, r#"{"job":"restore","task_id":"t1"}"#);
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
        assert_eq!(job.name(), "restore");
    }
}
