//! Drill schedules and drills after every N-th scheduled backup, run for real through the
//! queue: a due drill schedule's slot queues a drill of the newest successful backup of its
//! scope, which runs and passes; a backup schedule with `drill_every = 2` queues a drill of
//! exactly its 2nd and 4th successful backups, counted on the schedule.

use chrono::{DateTime, Duration, TimeZone, Utc};
use coffer::db::{Backup, Drill, LogEntry, LogFilter, NewSchedule, Schedule, Task};
use coffer::domain::{BackupKind, Role, Scope, TaskKind};
use coffer::jobs::scheduler::fire_due;

use super::harness::TestConsole;
use crate::helpers::BOTH;

fn slot(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap() + Duration::minutes(5 * n)
}

/// A schedule every five minutes whose first slot is `slot(0)`.
fn schedule(
    console: &TestConsole,
    name: &str,
    scope: &Scope,
    edit: impl FnOnce(&mut NewSchedule),
) -> Schedule {
    let mut new = NewSchedule::new(name, "*/5 * * * *", "UTC", scope, BackupKind::Full);
    new.next_run_at = Some(slot(0).naive_utc());
    edit(&mut new);
    Schedule::insert(&mut console.app.conn().unwrap(), &new).unwrap()
}

fn drills(console: &TestConsole) -> Vec<Drill> {
    let mut drills = Drill::list_recent(&mut console.app.conn().unwrap(), 100).unwrap();
    drills.reverse();
    drills
}

fn drill_log(console: &TestConsole) -> Vec<String> {
    let filter = LogFilter {
        operation: Some("drill".into()),
        ..LogFilter::default()
    };
    LogEntry::list(&mut console.app.conn().unwrap(), &filter)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect()
}

#[test]
fn a_due_drill_schedule_queues_a_real_drill_of_the_newest_backup() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let weekly = schedule(
            &console,
            "weekly drill",
            &Scope::Service("app".into()),
            |s| {
                s.action = "drill".into();
            },
        );
        // Nothing backed up yet: the slot is taken, the drill refused and logged.
        assert!(fire_due(&console.app, slot(0) + Duration::seconds(3))
            .unwrap()
            .is_empty());
        assert!(
            drill_log(&console).is_empty(),
            "a refused start is logged under `schedule`"
        );
        let operator = console.login_as(Role::Operator);
        for _ in 0..2 {
            let response = operator.post("/backups", &[("scope", "all"), ("kind", "full")]);
            assert_eq!(response.status(), 303);
            console.run_pending_jobs();
        }
        let newest = Backup::list(&mut console.app.conn().unwrap(), &Default::default())
            .unwrap()
            .into_iter()
            .max_by_key(|b| b.created_at)
            .unwrap();

        let fired = fire_due(&console.app, slot(1) + Duration::seconds(3)).unwrap();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].kind, TaskKind::Drill.as_str());
        assert_eq!(fired[0].backup_id.as_deref(), Some(newest.id.as_str()));
        assert!(fire_due(&console.app, slot(1) + Duration::seconds(13))
            .unwrap()
            .is_empty());
        console.push_task(&fired[0]);
        console.run_pending_jobs();

        let ran = drills(&console);
        assert_eq!(ran.len(), 1);
        assert!(ran[0].passed, "the drill proved the backup");
        assert_eq!(ran[0].backup_id, newest.id);
        let task = Task::find_by_id(&mut console.app.conn().unwrap(), &fired[0].id).unwrap();
        assert_eq!(task.status, "success");
        assert!(drill_log(&console)
            .iter()
            .any(|m| m.contains("queued by schedule `weekly drill`")));
        // Not a backup schedule: no backup was made, nothing counted.
        let after = Schedule::find_by_id(&mut console.app.conn().unwrap(), &weekly.id).unwrap();
        assert_eq!(after.backups_succeeded, 0);
        assert_eq!(after.next_run_at, Some(slot(2).naive_utc()));
        let backups = Backup::list(&mut console.app.conn().unwrap(), &Default::default()).unwrap();
        assert_eq!(backups.len(), 2);
    }
}

#[test]
fn drill_every_two_drills_exactly_the_second_and_fourth_backup() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let nightly = schedule(&console, "nightly", &Scope::All, |s| {
            s.drill_every = Some(2);
        });
        let mut drilled = Vec::new();
        for n in 0..4 {
            let fired = fire_due(&console.app, slot(n) + Duration::seconds(3)).unwrap();
            assert_eq!(fired.len(), 1);
            console.push_task(&fired[0]);
            // Runs the backup, then the drill the worker queued after it.
            console.run_pending_jobs();
            let backup_id = fired[0].backup_id.clone().unwrap();
            let backup = Backup::find_by_id(&mut console.app.conn().unwrap(), &backup_id).unwrap();
            assert_eq!(backup.status, "success", "backup {n}");
            if drills(&console).len() > drilled.len() {
                drilled.push((
                    n,
                    drills(&console).last().unwrap().backup_id.clone(),
                    backup_id,
                ));
            }
        }
        assert_eq!(drilled.len(), 2, "{drilled:?}");
        for (i, (n, drilled, made)) in drilled.iter().enumerate() {
            assert_eq!(*n, 2 * i as i64 + 1, "after the 2nd and 4th backup");
            assert_eq!(drilled, made, "a drill of exactly that backup");
        }
        assert!(drills(&console).iter().all(|d| d.passed));
        let after = Schedule::find_by_id(&mut console.app.conn().unwrap(), &nightly.id).unwrap();
        assert_eq!(after.backups_succeeded, 4);
        let queued = drill_log(&console)
            .iter()
            .filter(|m| m.contains("queued by schedule `nightly`"))
            .count();
        assert_eq!(queued, 2);
    }
}
