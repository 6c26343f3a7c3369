//! What a drill found, as stored (the `report` JSON of its row), shown on its page and
//! printed by `coffer drill --json`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::SourceKind;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrillReport {
    pub task_id: String,
    pub backup_id: String,
    pub backup_name: String,
    /// Stored bytes of the backup (and the parents it needs): what had to be fetched.
    pub backup_size: u64,
    /// Every chosen source was restored and proven against its backup-time facts.
    pub passed: bool,
    /// From the drill's start until every source was proven (or the drill failed).
    pub rto_ms: u64,
    pub phases: Vec<PhaseTime>,
    pub sources: Vec<SourceProof>,
    /// The largest gap between two sources' snapshot times in the backup: how close to one
    /// moment the restored service set is.
    pub snapshot_spread_ms: Option<u64>,
    /// Why the drill stopped before it could prove everything (a damaged archive, a
    /// server away); each source then says what it could not prove.
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// How long one phase took.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhaseTime {
    pub phase: String,
    pub ms: u64,
    /// A stage that ran alongside the phase before it (fetch, check and decrypt while files
    /// were unpacked): its busy time, part of that phase's wall time, not added to it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alongside: bool,
}

impl PhaseTime {
    /// The busy time of each stage below the tar walk, as phases alongside file restoring.
    pub fn stages(times: &crate::engine::stage_clock::StageTimes) -> Vec<PhaseTime> {
        [
            ("fetch from storage", times.fetch),
            ("check SHA-256 of the stored bytes", times.check),
            ("decrypt", times.decrypt),
        ]
        .into_iter()
        .map(|(phase, took)| PhaseTime {
            phase: phase.to_string(),
            ms: took.as_millis() as u64,
            alongside: true,
        })
        .collect()
    }
}

/// One source of the drill.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceProof {
    pub source: String,
    pub service: String,
    pub kind: SourceKind,
    pub passed: bool,
    /// What was checked and matched.
    pub proven: Vec<String>,
    /// What could not be checked (no facts recorded by the backup, say): the drill passes
    /// without it, and says so.
    pub unproven: Vec<String>,
    /// What did not match, or failed.
    pub failed: Vec<String>,
    /// From the drill's start until this source was proven (or failed).
    pub rto_ms: u64,
    /// When the backup's snapshot of this source was taken.
    pub taken_at: Option<DateTime<Utc>>,
}

impl SourceProof {
    pub fn new(source: &crate::engine::manifest::SourceEntry) -> SourceProof {
        SourceProof {
            source: source.name.clone(),
            service: source.service.clone(),
            kind: source.kind,
            passed: false,
            proven: Vec::new(),
            unproven: Vec::new(),
            failed: Vec::new(),
            rto_ms: 0,
            taken_at: source.snapshot_at,
        }
    }

    /// Passed when nothing failed and something was proven.
    pub fn settle(&mut self, rto_ms: u64) {
        self.passed = self.failed.is_empty() && !self.proven.is_empty();
        self.rto_ms = rto_ms;
    }
}

impl DrillReport {
    /// One line: "passed: 3 sources proven in 4.2 s" or what failed first.
    pub fn summary(&self) -> String {
        let seconds = self.rto_ms as f64 / 1000.0;
        if self.passed {
            let unproven: usize = self.sources.iter().map(|s| s.unproven.len()).sum();
            let mut line = format!(
                "drill of backup `{}` passed: {} source(s) restored and proven in {seconds:.1} s",
                self.backup_name,
                self.sources.len()
            );
            if unproven > 0 {
                line.push_str(&format!(" ({unproven} check(s) could not be made)"));
            }
            return line;
        }
        let first = self
            .error
            .clone()
            .or_else(|| {
                self.sources.iter().find(|s| !s.passed).map(|s| {
                    let what = s
                        .failed
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "nothing could be proven".to_string());
                    format!("source `{}`: {what}", s.source)
                })
            })
            .unwrap_or_else(|| "nothing was proven".into());
        format!(
            "drill of backup `{}` FAILED after {seconds:.1} s: {first}",
            self.backup_name
        )
    }
}
