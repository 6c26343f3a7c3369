//! The scheduler, driven with the test's own clock: each due slot gives exactly one automatic
//! backup named after its schedule — also when two Coffer processes (two apps, two pools) race
//! for it on one PostgreSQL — a missed run is made up once and marked late, and the schedule's
//! retention prunes after its backup.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, TimeZone, Utc};
use coffer::db::{Backup, NewSchedule, Schedule};
use coffer::domain::{BackupKind, Scope};
use coffer::jobs::backup::execute_backup;
use coffer::jobs::run::execution::{Execution, Interrupt};
use coffer::jobs::scheduler::fire_due;

use crate::helpers::*;

fn slot(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, minute, 0).unwrap()
}

fn every_five_minutes(env: &TestEnv, first: DateTime<Utc>) -> Schedule {
    let mut new = NewSchedule::new(
        "five",
        "*/5 * * * *",
        "Europe/Berlin",
        &Scope::All,
        BackupKind::Full,
    );
    new.next_run_at = Some(first.naive_utc());
    Schedule::insert(&mut env.app().conn().unwrap(), &new).unwrap()
}

fn run_task(app: &coffer::app::App, task_id: &str) -> Backup {
    execute_backup(
        app,
        task_id,
        Execution::waiting(None, None, Interrupt::default()),
    )
    .unwrap()
    .expect("the task was pending")
}

#[test]
fn each_slot_fires_once_and_the_backup_is_automatic_and_named() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    std::fs::write(env.path("files/a"), b"a").unwrap();
    let app = env.app();
    let schedule = every_five_minutes(&env, slot(0));
    assert!(fire_due(&app, slot(0) - Duration::seconds(1))
        .unwrap()
        .is_empty());
    let fired = fire_due(&app, slot(0) + Duration::seconds(3)).unwrap();
    assert_eq!(fired.len(), 1);
    assert!(fire_due(&app, slot(0) + Duration::seconds(13))
        .unwrap()
        .is_empty());
    let backup = run_task(&app, &fired[0].id);
    assert!(backup.automatic);
    assert_eq!(
        backup.name, "five 2026-11-21 11:00",
        "local time of the slot"
    );
    assert_eq!(backup.created_by.as_deref(), Some("scheduler"));
    assert_eq!(backup.description.as_deref(), Some("Scheduled by `five`"));
    let after = Schedule::find_by_id(&mut app.conn().unwrap(), &schedule.id).unwrap();
    assert_eq!(after.next_run_at, Some(slot(5).naive_utc()));
    assert_eq!(
        after.last_task_id.as_deref(),
        Some(fired[0].id.as_str()),
        "the settings page shows this run's result"
    );
    // Its retention (30 days by default) ran after the backup and was logged.
    let log = env.ok(&["list"]);
    assert!(log.contains(&backup.id));
    let entries = coffer::db::LogEntry::list(
        &mut app.conn().unwrap(),
        &coffer::db::LogFilter {
            operation: Some("retention".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(entries.len(), 1, "one pruning after the scheduled backup");
}

#[test]
fn two_processes_on_one_postgres_enqueue_each_slot_exactly_once() {
    let env = TestEnv::with_directory(&Backend::Postgres);
    every_five_minutes(&env, slot(0));
    let apps = [Arc::new(env.app()), Arc::new(env.app())];
    let mut fired = 0;
    for round in 0..6u32 {
        let now = slot(round * 5) + Duration::seconds(2);
        let barrier = Arc::new(Barrier::new(4));
        let racers: Vec<_> = (0..4)
            .map(|i| {
                let app = apps[i % 2].clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    fire_due(&app, now).unwrap().len()
                })
            })
            .collect();
        let this_round: usize = racers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(this_round, 1, "slot {round}: one backup, whoever won");
        fired += this_round;
    }
    let automatic = Backup::list(&mut apps[0].conn().unwrap(), &Default::default())
        .unwrap()
        .into_iter()
        .filter(|b| b.automatic)
        .count();
    assert_eq!((fired, automatic), (6, 6));
}

#[test]
fn a_missed_run_is_made_up_once_and_marked_late() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    std::fs::write(env.path("files/a"), b"a").unwrap();
    let app = env.app();
    let schedule = every_five_minutes(&env, slot(0));
    // Down for two hours: 24 slots passed.
    let back = slot(0) + Duration::hours(2) + Duration::seconds(30);
    let fired = fire_due(&app, back).unwrap();
    assert_eq!(fired.len(), 1, "made up once, not once per missed slot");
    assert!(fire_due(&app, back + Duration::seconds(10))
        .unwrap()
        .is_empty());
    let backup = run_task(&app, &fired[0].id);
    let description = backup.description.unwrap();
    assert!(description.starts_with("Late:"), "{description}");
    assert!(
        description.contains("missed runs were made up once"),
        "{description}"
    );
    let after = Schedule::find_by_id(&mut app.conn().unwrap(), &schedule.id).unwrap();
    assert_eq!(
        after.next_run_at,
        Some((slot(0) + Duration::hours(2) + Duration::minutes(5)).naive_utc())
    );
    // Disabled schedules never fire.
    coffer::db::Schedule::update(
        &mut app.conn().unwrap(),
        &schedule.id,
        &coffer::db::ScheduleChanges {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(fire_due(&app, back + Duration::hours(1))
        .unwrap()
        .is_empty());
}
