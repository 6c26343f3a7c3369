//! The machinery every task runs on, whatever its kind: claiming a pending task and taking
//! its source locks (`execution`, `locks`), the running task's row, heartbeat and progress
//! (`task_run`, published to the live hub `live`; `eta` the smoothed time left), cancelling from outside (`cancel`), and
//! failing the tasks of a process that died (`recovery` at start-up, `reaper` every few
//! seconds in every serve and worker process).

pub mod cancel;
pub mod eta;
pub mod execution;
pub mod live;
pub mod locks;
pub mod reaper;
pub mod recovery;
pub mod task_run;
