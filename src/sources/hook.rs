//! Running one of a source's hook commands (`before`, `after`): `sh -c <command>` in a
//! process group of its own, stopped whole at its time-out or when the task is cancelled,
//! and gone with Coffer (`tool.rs`). It learns which source and which hook from
//! `COFFER_SOURCE` and `COFFER_HOOK`. A hook that exits non-zero or runs out of time fails.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::config::SourceConfig;
use crate::engine::progress::ProgressSink;
use crate::error::{Error, Result};
use crate::sources::tool::{run_group_for, ToolRun};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    Before,
    After,
}

impl HookPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            HookPoint::Before => "before",
            HookPoint::After => "after",
        }
    }
}

/// What a hook that ran printed, and how long it took.
#[derive(Debug, Clone)]
pub struct HookRan {
    pub output: String,
    pub took: Duration,
}

/// Runs `source`'s hook at `point`, if it has one. `Ok(None)`: no such hook. An error says
/// which hook failed and how, with the end of its output.
pub fn run_hook(
    source: &SourceConfig,
    point: HookPoint,
    progress: &dyn ProgressSink,
) -> Result<Option<HookRan>> {
    let command_text = match point {
        HookPoint::Before => source.hooks.before.as_deref(),
        HookPoint::After => source.hooks.after.as_deref(),
    };
    let Some(command_text) = command_text else {
        return Ok(None);
    };
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(command_text)
        .env("COFFER_SOURCE", &source.name)
        .env("COFFER_HOOK", point.as_str());
    let run = ToolRun {
        tool: "sh",
        phase: format!("{} hook of {}", point.as_str(), source.name),
        estimate: 0,
        progress,
    };
    run.report(0);
    let limit = Duration::from_secs(source.hooks.timeout_seconds.into());
    let started = Instant::now();
    let (status, output) = run_group_for(&run, command, limit)?;
    let took = started.elapsed();
    let failed = |how: String| {
        let mut message = format!(
            "source `{}`: its {} hook {how}",
            source.name,
            point.as_str()
        );
        if !output.is_empty() {
            message.push_str(&format!(": {output}"));
        }
        Err(Error::Source(message))
    };
    match status {
        None => failed(format!(
            "did not finish within {} s and was stopped",
            source.hooks.timeout_seconds
        )),
        Some(status) if !status.success() => failed(format!("failed ({status})")),
        Some(_) => Ok(Some(HookRan { output, took })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Hooks;
    use crate::engine::progress::Silent;

    fn source(before: &str, timeout_seconds: u32) -> SourceConfig {
        let mut source =
            SourceConfig::from_toml("name = 'up'\nkind = 'directory'\npath = '/srv/up'").unwrap();
        source.hooks = Hooks {
            before: Some(before.into()),
            after: None,
            timeout_seconds,
        };
        source
    }

    #[test]
    fn a_hook_sees_its_source_and_its_output_is_kept() {
        let ran = run_hook(
            &source("echo $COFFER_SOURCE $COFFER_HOOK; echo oops >&2", 5),
            HookPoint::Before,
            &Silent,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ran.output, "up before\noops");
        assert!(run_hook(&source("true", 5), HookPoint::After, &Silent)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_failing_or_slow_hook_fails_and_its_whole_group_is_stopped() {
        let error = run_hook(
            &source("echo paused; exit 3", 5),
            HookPoint::Before,
            &Silent,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "source `up`: its before hook failed (exit status: 3): paused"
        );
        let marker = std::env::temp_dir().join(format!("coffer-hook-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // A grandchild that would outlive a plain kill of `sh`.
        let slow = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let started = Instant::now();
        let error = run_hook(&source(&slow, 1), HookPoint::Before, &Silent)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("did not finish within 1 s and was stopped"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !marker.exists(),
            "the hook's whole process group was stopped"
        );
    }
}
