//! The recoverable window of one base backup with a folder of WAL files: from the backup's
//! end (its first consistent point) to the newest commit in the WAL that follows it without
//! a gap. A target outside it, or WAL with a gap, is refused before anything is restored.
//!
//! Only the base backup's timeline is followed here (a WAL folder holding a later timeline
//! after a failover is recovered by PostgreSQL itself with `recovery_target_timeline =
//! latest`, but the window does not count it yet).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::target::RecoveryTarget;
use crate::engine::manifest::BaseBackupFacts;
use crate::error::{Error, IoContext, Result};
use crate::sources::postgres::lsn::{format_lsn, parse_lsn, parse_segment, segment_file};
use crate::sources::tool;

/// How many of the newest WAL files are searched for the last commit.
const COMMIT_SEARCH: u64 = 4;

#[derive(Debug, Clone)]
pub struct Window {
    pub from_time: DateTime<Utc>,
    pub from_lsn: u64,
    pub to_time: DateTime<Utc>,
    /// The end of the newest WAL file (or the base backup's end without one).
    pub to_lsn: u64,
}

impl Window {
    pub fn describe(&self) -> String {
        format!(
            "from {} (WAL {}) to {} (WAL {})",
            self.from_time.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
            format_lsn(self.from_lsn),
            self.to_time.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
            format_lsn(self.to_lsn)
        )
    }

    /// Refuses a target outside the window, naming it.
    pub fn check(&self, target: &RecoveryTarget) -> Result<()> {
        let outside = match target {
            RecoveryTarget::Time(time) => {
                let time = time.with_timezone(&Utc);
                time < self.from_time || time > self.to_time
            }
            RecoveryTarget::Lsn(text) => {
                let lsn = parse_lsn(text).unwrap_or(0);
                lsn < self.from_lsn || lsn > self.to_lsn
            }
            RecoveryTarget::Latest | RecoveryTarget::Backup => false,
        };
        if outside {
            return Err(Error::Refused(format!(
                "{} is outside the recoverable window {}",
                target.describe(),
                self.describe()
            )));
        }
        Ok(())
    }
}

/// The window of `facts` with the WAL files in `wal_dir` (none: the base backup's end
/// alone). A missing file between the backup's end and the newest file is an error naming it.
pub fn window(facts: &BaseBackupFacts, wal_dir: Option<&Path>, programs: &Path) -> Result<Window> {
    let bad = |what: &str| Error::Archive(format!("the base backup's {what} cannot be read"));
    let stop = parse_lsn(&facts.stop_lsn).ok_or_else(|| bad("end point"))?;
    let size = facts.wal_segment_size;
    if !size.is_power_of_two() {
        return Err(bad("WAL segment size"));
    }
    let alone = Window {
        from_time: facts.stop_time,
        from_lsn: stop,
        to_time: facts.stop_time,
        to_lsn: stop,
    };
    let Some(wal_dir) = wal_dir else {
        return Ok(alone);
    };
    let first = stop / size;
    let mut held = BTreeSet::new();
    for entry in std::fs::read_dir(wal_dir).ctx(|| format!("reading {}", wal_dir.display()))? {
        let entry = entry.ctx(|| format!("reading {}", wal_dir.display()))?;
        let name = entry.file_name();
        let Some((timeline, segment)) = name.to_str().and_then(|n| parse_segment(n, size)) else {
            continue;
        };
        if timeline == facts.timeline && segment >= first {
            held.insert(segment);
        }
    }
    let Some(&newest) = held.last() else {
        return Ok(alone);
    };
    let name = |segment: u64| segment_file(facts.timeline, segment, size);
    if let Some(missing) = (first..=newest).find(|s| !held.contains(s)) {
        return Err(Error::Refused(format!(
            "WAL file {} is missing from {}: the WAL from the base backup's end ({}) to the \
             newest file there ({}) must be complete; without it the recoverable window ends \
             at {}",
            name(missing),
            wal_dir.display(),
            name(first),
            name(newest),
            Window {
                to_lsn: missing * size,
                to_time: facts.stop_time,
                ..alone.clone()
            }
            .describe()
        )));
    }
    let to_time = (0..COMMIT_SEARCH)
        .filter_map(|back| newest.checked_sub(back).filter(|s| *s >= first))
        .find_map(|segment| last_commit(programs, wal_dir, &name(segment)))
        .unwrap_or(facts.stop_time)
        .max(facts.stop_time);
    Ok(Window {
        to_time,
        to_lsn: (newest + 1) * size,
        ..alone
    })
}

/// The time of the last commit recorded in WAL file `name` (`pg_waldump`), if any.
fn last_commit(programs: &Path, wal_dir: &Path, name: &str) -> Option<DateTime<Utc>> {
    let mut command = Command::new(programs.join("pg_waldump"));
    command
        .arg("--path")
        .arg(wal_dir)
        .arg(name)
        .env("TZ", "UTC")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    tool::die_with_coffer(&mut command);
    // The last file usually ends in an unfinished record, which pg_waldump reports as an
    // error after printing everything before it: its output counts, its status not.
    let out = command.output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(commit_time)
}

/// `… desc: COMMIT 2026-12-07 23:02:19.652122 UTC; …` → that time.
fn commit_time(line: &str) -> Option<DateTime<Utc>> {
    let (_, rest) = line.split_once("desc: COMMIT ")?;
    let mut words = rest.split_whitespace();
    let text = format!("{} {}", words.next()?, words.next()?.trim_end_matches(';'));
    if !words.next()?.starts_with("UTC") {
        return None;
    }
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_times_are_read_from_waldump_lines() {
        let line = "rmgr: Transaction len (rec/tot):     82/    82, tx:        726, lsn: \
                    0/01D74438, prev 0/01D743E8, desc: COMMIT 2026-12-07 23:02:19.652122 UTC; \
                    inval msgs: catcache 21";
        assert_eq!(
            commit_time(line).unwrap().to_rfc3339(),
            "2026-12-07T23:02:19.652122+00:00"
        );
        assert!(commit_time("rmgr: XLOG desc: CHECKPOINT_ONLINE redo 0/1D744C8").is_none());
        assert!(commit_time("desc: COMMIT 2026-12-07 23:02:19.6 CET;").is_none());
    }

    fn facts() -> BaseBackupFacts {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        BaseBackupFacts {
            start_lsn: "0/2000028".into(),
            start_segment: "000000010000000000000002".into(),
            timeline: 1,
            stop_lsn: "0/2000100".into(),
            start_time: at("2026-12-07T10:00:00Z"),
            stop_time: at("2026-12-07T10:00:05Z"),
            server_major: 15,
            wal_segment_size: 16 * 1024 * 1024,
            wal_method: "fetch".into(),
        }
    }

    #[test]
    fn gaps_are_named_and_targets_checked() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "000000010000000000000001",
            "000000010000000000000002",
            "000000010000000000000004",
            "00000002.history",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let err = window(&facts(), Some(dir.path()), Path::new("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WAL file 000000010000000000000003 is missing"),
            "{err}"
        );
        std::fs::write(dir.path().join("000000010000000000000003"), "").unwrap();
        let window = window(&facts(), Some(dir.path()), Path::new("/nonexistent")).unwrap();
        assert_eq!(window.to_lsn, 5 * 16 * 1024 * 1024);
        let before = RecoveryTarget::parse_time("2026-12-07 10:00:00+00").unwrap();
        let err = window.check(&before).unwrap_err().to_string();
        assert!(
            err.contains("outside the recoverable window from 2026-12-07 10:00:05"),
            "{err}"
        );
        assert!(window
            .check(&RecoveryTarget::parse_lsn("0/4FFFFFF").unwrap())
            .is_ok());
        assert!(window
            .check(&RecoveryTarget::parse_lsn("0/5000001").unwrap())
            .is_err());
        assert!(window
            .check(&RecoveryTarget::parse_lsn("0/2000000").unwrap())
            .is_err());
    }
}
