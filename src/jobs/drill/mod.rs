//! A restore drill: restores one backup into scratch places that never touch the originals,
//! proves the content against what the backup recorded, measures how long that took (the
//! RTO) and cleans up.
//!
//! It runs the restore's own steps up to the switch — the same plan (`restore/plan.rs` with
//! `scratch`), extraction into staging folders under `<data_dir>/tmp/drill-<task>`, database
//! dumps loaded into staging databases (a temporary `redis-server` for Redis) — then proves
//! each source (`prove.rs`) and drops everything instead of switching. Its journal is a
//! restore journal marked `drill`, so a drill killed at any moment leaves nothing after the
//! next start (`restore/recovery.rs` removes the scratch folders and staging databases).
//! A drill holds the locks of its sources: it never runs beside a backup or restore of one.

mod prove;
pub mod report;

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use crate::app::App;
use crate::config::Settings;
use crate::db::{write_transaction, Backup, Drill, DrillSource, LogEntry, NewLogEntry, Task};
use crate::domain::{LogLevel, TaskKind};
use crate::engine::extract::remove_tree;
use crate::engine::stage_clock::StageClock;
use crate::error::{Error, Result};
use crate::jobs::params::{self, DrillParams};
use crate::jobs::requester::Requester;
use crate::jobs::restore::plan::{check_restore, RestorePlan, RestoreRequest};
use crate::jobs::restore::recovery::settle;
use crate::jobs::restore::switch_journal::{Journal, JournalFile};
use crate::jobs::restore::{extract_into_staging, stage_databases, StagedDatabases};
use crate::jobs::run::execution::{acquire_locks, fail_before_start, load_pending, Execution};
use crate::jobs::run::locks::lock_sources;
use crate::jobs::run::task_run::{Display, TaskRun};
use crate::notify::outcomes as notify;
pub use report::{DrillReport, PhaseTime, SourceProof};

/// What to drill.
#[derive(Debug, Clone, Default)]
pub struct DrillRequest {
    /// The backup; `None`: the newest successful backup that holds every chosen source.
    pub backup_id: Option<String>,
    /// Sources to restore and prove; empty means all of the backup's (or, with no backup
    /// given, every configured source of `service`, or every configured source).
    pub sources: Vec<String>,
    pub service: Option<String>,
    /// Take unencrypted archives although encryption is on (`--allow-plain`).
    pub allow_plain: bool,
}

/// A finished drill: its report, and `Err` when it did not prove its backup (the report's
/// summary) or was cancelled.
pub struct DrillOutcome {
    pub report: DrillReport,
    pub verdict: Result<()>,
}

/// Drills in this process (the CLI): checks, locks the sources (a busy one is refused at
/// once), records the task with its audit entry and runs it. A drill that ran but did not
/// prove its backup is an error naming what failed; its report is recorded either way.
pub fn run_drill(
    app: &App,
    request: &DrillRequest,
    by: &Requester,
    display: Option<Display>,
) -> Result<DrillOutcome> {
    let (backup, plan) = check_drill(app, request)?;
    let locks = lock_sources(&app.settings, &plan.names)?;
    let task = record_checked(app, &backup, &plan, request, by)?;
    drop(plan);
    execute_drill(app, &task.id, Execution::with_locks(locks, display))?
        .ok_or_else(|| Error::Refused(format!("drill task {} was run by another worker", task.id)))
}

/// Checks a drill request and records a pending drill task with the audit entry saying who
/// asked, in one transaction.
pub fn record_drill(app: &App, request: &DrillRequest, by: &Requester) -> Result<Task> {
    let (backup, plan) = check_drill(app, request)?;
    record_checked(app, &backup, &plan, request, by)
}

fn record_checked(
    app: &App,
    backup: &Backup,
    plan: &RestorePlan,
    request: &DrillRequest,
    by: &Requester,
) -> Result<Task> {
    let params = DrillParams {
        sources: plan.names.clone(),
        allow_plain: request.allow_plain,
    };
    let mut task = params::task_with(&params)?.with_backup(&backup.id);
    if let Some(user) = by.username() {
        task = task.with_creator(user);
    }
    let mut conn = app.conn()?;
    write_transaction(&mut conn, |conn| {
        let task = Task::insert(conn, &task)?;
        LogEntry::insert(conn, &by.drill_entry(backup, &plan.names, &task))?;
        Ok::<_, Error>(task)
    })
}

/// Which backup, and the restore plan of its chosen sources into scratch places.
fn check_drill(app: &App, request: &DrillRequest) -> Result<(Backup, RestorePlan)> {
    let (backup, sources) = match &request.backup_id {
        Some(id) => (
            crate::jobs::find_backup(&mut *app.conn()?, id)?,
            request.sources.clone(),
        ),
        None => {
            let wanted = wanted_sources(app, request)?;
            (newest_holding(app, &wanted)?, wanted)
        }
    };
    // The task's own folder is named when it runs; the check needs a place that is empty.
    let folder = scratch_folder(app, "check");
    let restore = RestoreRequest {
        service: request.service.clone(),
        ..scratch_request(&backup.id, sources, request.allow_plain, &folder)
    };
    let plan = check_restore(app, &restore)?;
    Ok((backup, plan))
}

/// The sources a drill without a backup id covers.
fn wanted_sources(app: &App, request: &DrillRequest) -> Result<Vec<String>> {
    if !request.sources.is_empty() {
        return Ok(request.sources.clone());
    }
    let names: Vec<String> = app
        .settings
        .sources
        .iter()
        .filter(|s| request.service.as_ref().is_none_or(|svc| &s.service == svc))
        .map(|s| s.name.clone())
        .collect();
    if names.is_empty() {
        return Err(Error::Invalid(match &request.service {
            Some(service) => format!("no configured source belongs to service `{service}`"),
            None => "no source is configured".into(),
        }));
    }
    Ok(names)
}

/// How many recent backups are searched for one holding every wanted source.
const NEWEST_SEARCHED: i64 = 500;

fn newest_holding(app: &App, wanted: &[String]) -> Result<Backup> {
    let recent = Backup::list_recent_succeeded(&mut *app.conn()?, NEWEST_SEARCHED)?;
    recent
        .into_iter()
        .rev()
        .find(|b| {
            b.sources()
                .is_ok_and(|held| wanted.iter().all(|w| held.contains(w)))
        })
        .ok_or_else(|| {
            Error::Refused(format!(
                "no successful backup holds {}: back them up first",
                wanted.join(", ")
            ))
        })
}

/// The restore a drill runs: into `folder`, every database into a scratch place.
fn scratch_request(
    backup_id: &str,
    sources: Vec<String>,
    allow_plain: bool,
    folder: &std::path::Path,
) -> RestoreRequest {
    RestoreRequest {
        backup_id: backup_id.to_string(),
        sources,
        target: Some(folder.to_path_buf()),
        confirmed: true,
        allow_plain,
        scratch: true,
        ..RestoreRequest::default()
    }
}

/// `<data_dir>/tmp/drill-<task>`: swept like any scratch folder if everything else fails.
fn scratch_folder(app: &App, task_id: &str) -> PathBuf {
    app.settings
        .data_dir
        .join("tmp")
        .join(format!("drill-{task_id}"))
}

/// Runs the prepared drill task `task_id`. `Ok(None)` when it is no longer pending.
pub fn execute_drill(app: &App, task_id: &str, how: Execution) -> Result<Option<DrillOutcome>> {
    let Some(task) = load_pending(app, task_id, TaskKind::Drill)? else {
        return Ok(None);
    };
    let folder = scratch_folder(app, &task.id);
    let checked = params::read::<DrillParams>(&task)
        .and_then(|params| {
            let backup_id = task.backup_id.clone().unwrap_or_default();
            let request = scratch_request(&backup_id, params.sources, params.allow_plain, &folder);
            Ok((check_restore(app, &request)?, request))
        })
        .map_err(|e| fail_before_start(app, &task, e));
    let (plan, request) = checked?;
    let Some(locks) = acquire_locks(app, &task, &plan.names, how.locking, &how.interrupt)? else {
        return Ok(None);
    };
    let cancel = Some(how.interrupt.cancel.clone());
    let Some(run) = TaskRun::take_over(app, &task.id, how.display, cancel)? else {
        return Ok(None);
    };
    let (report, cancelled) = drill(app, &task, &plan, &request, &run, &folder);
    let result = match () {
        _ if cancelled => Err(Error::Cancelled),
        _ if report.passed => Ok(()),
        _ => Err(Error::Refused(report.summary())),
    };
    let level = if report.passed {
        LogLevel::Info
    } else {
        LogLevel::Error
    };
    let mut entry = NewLogEntry::new(level, "drill", report.summary())
        .for_backup(&plan.backup.id)
        .for_task(&task.id);
    if let Some(by) = &task.created_by {
        entry = entry.by(by);
    }
    let (row, sources) = rows_of(&report, &plan);
    run.finish_with(&result, |conn| {
        // A cancelled drill proved nothing either way: no figures from it.
        if !cancelled {
            Drill::insert(conn, &row, &sources)?;
        }
        LogEntry::insert(conn, &entry).map(drop)
    })?;
    drop(locks);
    if !cancelled {
        alert(app, &report);
    }
    Ok(Some(DrillOutcome {
        report,
        verdict: result,
    }))
}

/// A failed drill is an alert; so is a proven source slower than its RTO target.
fn alert(app: &App, report: &DrillReport) {
    let notifier = app.notifier();
    if !report.passed {
        notify::drill_failed(
            notifier,
            &report.backup_id,
            &report.task_id,
            report.summary(),
        );
        return;
    }
    let target = |name: &str| app.settings.source(name).and_then(|s| s.rto_minutes);
    for (source, seconds, target_seconds) in slower_than_target(report, target) {
        notify::rto_missed(notifier, source, &report.task_id, seconds, target_seconds);
    }
    for (service, seconds, target_seconds) in services_slower_than_target(&app.settings, report) {
        notify::service_rto_missed(notifier, &service, &report.task_id, seconds, target_seconds);
    }
}

/// The services with an RTO target whose every configured source this drill proved, and
/// that took longer than it until the last of them was proven: (service, RTO in seconds,
/// target in seconds). A drill of part of a service says nothing about the whole.
fn services_slower_than_target(
    settings: &Settings,
    report: &DrillReport,
) -> Vec<(String, f64, i64)> {
    let mut found = Vec::new();
    for targets in &settings.services {
        let Some(minutes) = targets.rto_minutes else {
            continue;
        };
        let members: Vec<&str> = settings
            .sources
            .iter()
            .filter(|s| s.service == targets.name)
            .map(|s| s.name.as_str())
            .collect();
        let proofs: Option<Vec<_>> = members
            .iter()
            .map(|m| report.sources.iter().find(|p| p.source == *m && p.passed))
            .collect();
        let Some(proofs) = proofs.filter(|p| !p.is_empty()) else {
            continue;
        };
        let rto_ms = proofs.iter().map(|p| p.rto_ms).max().unwrap_or(0);
        let target_seconds = i64::from(minutes) * 60;
        if rto_ms > (target_seconds as u64).saturating_mul(1000) {
            found.push((targets.name.clone(), rto_ms as f64 / 1000.0, target_seconds));
        }
    }
    found
}

/// The proven sources slower than their RTO target (`target`: minutes by source name):
/// (source, RTO in seconds, target in seconds).
fn slower_than_target(
    report: &DrillReport,
    target: impl Fn(&str) -> Option<u32>,
) -> Vec<(&str, f64, i64)> {
    report
        .sources
        .iter()
        .filter(|s| s.passed)
        .filter_map(|s| {
            let target_seconds = i64::from(target(&s.source)?) * 60;
            let slower = s.rto_ms > (target_seconds as u64).saturating_mul(1000);
            slower.then(|| (s.source.as_str(), s.rto_ms as f64 / 1000.0, target_seconds))
        })
        .collect()
}

/// Restores, proves and cleans up; never fails as a whole: what went wrong is in the report.
/// `true` with it when the drill was cancelled.
fn drill(
    app: &App,
    task: &Task,
    plan: &RestorePlan,
    request: &RestoreRequest,
    run: &TaskRun,
    folder: &std::path::Path,
) -> (DrillReport, bool) {
    let started = Instant::now();
    let started_at = Utc::now();
    let elapsed_ms = || started.elapsed().as_millis() as u64;
    let mut proofs: Vec<SourceProof> = plan.chosen.iter().map(SourceProof::new).collect();
    let mut phases = Vec::new();
    let mut databases = StagedDatabases::default();
    let mut journal_file = None;
    let outcome = (|| -> Result<()> {
        let mut journal = Journal::new(&task.id, &plan.backup.id, &plan.placements);
        journal.drill = true;
        journal.staging.push(folder.to_path_buf());
        let journal = journal_file.insert(JournalFile::create(&app.settings.data_dir, journal)?);
        let phase_start = Instant::now();
        let clock = StageClock::default();
        let extracted = extract_into_staging(app, plan, run, &clock);
        // The stages' times also when the archive failed: they say how far it got.
        phases.push(phase("restore files (fetch, decrypt, unpack)", phase_start));
        phases.extend(PhaseTime::stages(&clock.times()));
        extracted?;
        crate::faults::point("drill:extracted");
        let phase_start = Instant::now();
        for (placement, proof) in plan.placements.iter().zip(proofs.iter_mut()) {
            if placement.database.is_none() {
                prove::prove_files(&plan.manifest, placement, proof);
                proof.settle(elapsed_ms());
            }
        }
        phases.push(phase("prove files", phase_start));
        if plan.placements.iter().any(|p| p.database.is_some()) {
            let phase_start = Instant::now();
            stage_databases(app, &plan.placements, request, run, journal, &mut databases)?;
            phases.push(phase("load databases", phase_start));
            crate::faults::point("drill:staged");
            let phase_start = Instant::now();
            for (name, staged) in databases.staged() {
                let Some(proof) = proofs.iter_mut().find(|p| p.source == name) else {
                    continue;
                };
                let Some(source) = plan.chosen.iter().find(|s| s.name == name) else {
                    continue;
                };
                prove::prove_database(source, staged, proof);
                proof.settle(elapsed_ms());
            }
            phases.push(phase("prove databases", phase_start));
        }
        Ok(())
    })();
    let rto_ms = elapsed_ms();
    let cancelled = matches!(outcome, Err(Error::Cancelled));
    let error = outcome.err().map(|e| e.to_string());
    if let Some(error) = &error {
        for proof in proofs
            .iter_mut()
            .filter(|p| p.proven.is_empty() && p.failed.is_empty())
        {
            proof.failed.push(format!("not restored: {error}"));
            proof.settle(rto_ms);
        }
    }
    let phase_start = Instant::now();
    clean_up(app, databases, journal_file, folder);
    phases.push(phase("clean up", phase_start));
    let passed = error.is_none() && proofs.iter().all(|p| p.passed);
    let report = DrillReport {
        task_id: task.id.clone(),
        backup_id: plan.backup.id.clone(),
        backup_name: plan.backup.name.clone(),
        backup_size: u64::try_from(plan.backup.size_bytes).unwrap_or(0),
        passed,
        rto_ms,
        phases,
        snapshot_spread_ms: spread_ms(&proofs),
        sources: proofs,
        error,
        started_at,
    };
    (report, cancelled)
}

/// Drops the staged databases, then settles the journal as recovery would (staging folders,
/// the scratch folder, any staging database left); the journal stays for recovery when a
/// step fails (a server away).
fn clean_up(
    app: &App,
    databases: StagedDatabases,
    journal: Option<JournalFile>,
    folder: &std::path::Path,
) {
    databases.abandon();
    let Some(mut journal) = journal else {
        let _ = remove_tree(folder);
        return;
    };
    let settled = settle(app, &journal.journal);
    if settled.problems.is_empty() {
        journal.remove();
    } else {
        tracing::error!(
            task = %journal.journal.task_id,
            "the drill's scratch copies could not all be removed (the next start tries again): {}",
            settled.problems.join("; ")
        );
        journal.keep();
    }
}

fn phase(name: &str, started: Instant) -> PhaseTime {
    PhaseTime {
        phase: name.to_string(),
        ms: started.elapsed().as_millis() as u64,
        alongside: false,
    }
}

/// The largest gap between the sources' snapshot times.
fn spread_ms(proofs: &[SourceProof]) -> Option<u64> {
    let times: Vec<_> = proofs.iter().filter_map(|p| p.taken_at).collect();
    let (first, last) = (times.iter().min()?, times.iter().max()?);
    Some((*last - *first).num_milliseconds().max(0) as u64)
}

/// The drill's rows: one for the drill, one per source.
fn rows_of(report: &DrillReport, plan: &RestorePlan) -> (Drill, Vec<DrillSource>) {
    let finished_at = crate::db::now();
    let backup_time = plan.backup.started_at.unwrap_or(plan.backup.created_at);
    let drill = Drill {
        task_id: report.task_id.clone(),
        backup_id: report.backup_id.clone(),
        backup_name: report.backup_name.clone(),
        backup_size: plan.backup.size_bytes,
        passed: report.passed,
        rto_ms: report.rto_ms as i64,
        report: serde_json::to_string(report).expect("a report always serialises"),
        started_at: report.started_at.naive_utc(),
        finished_at,
    };
    let sources = report
        .sources
        .iter()
        .map(|s| DrillSource {
            task_id: report.task_id.clone(),
            source: s.source.clone(),
            service: s.service.clone(),
            backup_id: report.backup_id.clone(),
            passed: s.passed,
            rto_ms: s.rto_ms as i64,
            taken_at: s.taken_at.map_or(backup_time, |t| t.naive_utc()),
            finished_at,
        })
        .collect();
    (drill, sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sources: Vec<SourceProof>) -> DrillReport {
        DrillReport {
            task_id: "t".into(),
            backup_id: "b".into(),
            backup_name: "n".into(),
            backup_size: 0,
            passed: sources.iter().all(|s| s.passed),
            rto_ms: 200_000,
            phases: vec![],
            sources,
            snapshot_spread_ms: None,
            error: None,
            started_at: Utc::now(),
        }
    }

    #[test]
    fn a_service_is_slow_only_when_the_drill_proved_all_its_sources_and_the_last_was_late() {
        let settings = Settings::from_toml(
            "[storage]\npath = '/srv/backups'\n\
             [[sources]]\nname = 'a'\nkind = 'directory'\npath = '/srv/a'\nservice = 'shop'\n\
             [[sources]]\nname = 'b'\nkind = 'directory'\npath = '/srv/b'\nservice = 'shop'\n\
             [[sources]]\nname = 'c'\nkind = 'directory'\npath = '/srv/c'\nservice = 'blog'\n\
             [services.shop]\nrto_minutes = 1\n[services.blog]\nrto_minutes = 1\n",
            "test.toml",
            &|_| None,
        )
        .unwrap();
        // Each source within a minute, but the last of the shop's proven after 61 s.
        let slow = report(vec![proof("a", true, 30_000), proof("b", true, 61_000)]);
        assert_eq!(
            services_slower_than_target(&settings, &slow),
            [("shop".to_string(), 61.0, 60)]
        );
        let fast = report(vec![proof("a", true, 30_000), proof("b", true, 59_000)]);
        assert!(services_slower_than_target(&settings, &fast).is_empty());
        // Part of a service, or a source that failed: nothing said about the service's RTO.
        let part = report(vec![proof("a", true, 90_000)]);
        assert!(services_slower_than_target(&settings, &part).is_empty());
        let failed = report(vec![proof("a", true, 90_000), proof("b", false, 90_000)]);
        assert!(services_slower_than_target(&settings, &failed).is_empty());
    }

    fn proof(source: &str, passed: bool, rto_ms: u64) -> SourceProof {
        SourceProof {
            source: source.into(),
            service: "s".into(),
            kind: crate::domain::SourceKind::Directory,
            passed,
            proven: vec![],
            unproven: vec![],
            failed: vec![],
            rto_ms,
            taken_at: None,
        }
    }

    #[test]
    fn only_proven_sources_past_their_target_are_slow() {
        let report = DrillReport {
            task_id: "t".into(),
            backup_id: "b".into(),
            backup_name: "n".into(),
            backup_size: 0,
            passed: true,
            rto_ms: 200_000,
            phases: vec![],
            sources: vec![
                proof("fast", true, 59_000),
                proof("slow", true, 61_000),
                proof("untargeted", true, 200_000),
                proof("failed", false, 200_000),
            ],
            snapshot_spread_ms: None,
            error: None,
            started_at: Utc::now(),
        };
        let target = |name: &str| (name != "untargeted").then_some(1);
        assert_eq!(slower_than_target(&report, target), [("slow", 61.0, 60)]);
    }
}
