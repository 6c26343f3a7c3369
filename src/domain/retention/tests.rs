//! Retention checked against calendars worked out by hand.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;

fn at(day: &str, hour: u32) -> DateTime<Utc> {
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
}

fn backup(id: &str, created_at: DateTime<Utc>) -> Candidate {
    Candidate {
        id: id.into(),
        created_at,
        status: Status::Succeeded,
        verify_state: VerifyState::Unverified,
        pinned: false,
        parent_id: None,
        hold: None,
    }
}

/// One backup a day at 02:00 UTC from 2025-10-18 to 2026-11-21: 400 days.
fn four_hundred_days() -> Vec<Candidate> {
    let first = NaiveDate::from_ymd_opt(2025, 10, 18).unwrap();
    (0..400)
        .map(|i| {
            let day = first + Duration::days(i);
            let id = day.format("%Y-%m-%d").to_string();
            backup(
                &id,
                Utc.from_utc_datetime(&day.and_hms_opt(2, 0, 0).unwrap()),
            )
        })
        .collect()
}

fn kept(plan: &RetentionPlan) -> Vec<&str> {
    let mut ids: Vec<&str> = plan
        .decisions
        .iter()
        .filter(|d| d.keep())
        .map(|d| d.id.as_str())
        .collect();
    ids.sort();
    ids
}

fn reasons_of<'a>(plan: &'a RetentionPlan, id: &str) -> &'a [Reason] {
    &plan.decisions.iter().find(|d| d.id == id).unwrap().reasons
}

#[test]
fn grandfather_father_son_over_four_hundred_days() {
    let policy = RetentionPolicy {
        keep_daily: Some(7),
        keep_weekly: Some(4),
        keep_monthly: Some(12),
        keep_yearly: Some(3),
        ..RetentionPolicy::default()
    };
    let backups = four_hundred_days();
    let plan = plan(&policy, &backups, at("2026-11-21", 12), &Utc);
    assert_eq!(plan.decisions.len(), 400);
    assert!(plan.blocked.is_none());
    // Worked by hand: 7 days; ISO weeks 47 (Sat 21st), 46, 45, 44 (the Sundays); the last day
    // of each of 12 months (this one: the 21st); years 2026 and 2025 (no 2024 backup exists).
    let expected = [
        "2025-12-31",
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-10-31",
        "2026-11-01",
        "2026-11-08",
        "2026-11-15",
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
        "2026-11-21",
    ];
    assert_eq!(kept(&plan), expected);
    assert_eq!(plan.removals().count(), 380);
    assert_eq!(
        reasons_of(&plan, "2026-11-21"),
        [
            Reason::Daily("2026-11-21".into()),
            Reason::Weekly("2026-W47".into()),
            Reason::Monthly("2026-11".into()),
            Reason::Yearly("2026".into()),
        ]
    );
    assert_eq!(
        reasons_of(&plan, "2025-12-31"),
        [
            Reason::Monthly("2025-12".into()),
            Reason::Yearly("2025".into())
        ]
    );
    assert_eq!(
        reasons_of(&plan, "2026-11-15"),
        [
            Reason::Daily("2026-11-15".into()),
            Reason::Weekly("2026-W46".into())
        ]
    );
}

#[test]
fn keep_within_and_keep_last_count_from_now_and_from_the_newest() {
    let backups = four_hundred_days();
    let policy = RetentionPolicy::thirty_days();
    let plan = plan(&policy, &backups, at("2026-11-21", 12), &Utc);
    // Younger than 30 days at noon on the 21st: after 22 October 12:00, so the 22nd's 02:00
    // backup goes and 23 October to 21 November stay (9 + 21 days).
    let ids = kept(&plan);
    assert_eq!(ids.first(), Some(&"2026-10-23"));
    assert_eq!(ids.len(), 30);

    let last = RetentionPolicy {
        keep_last: Some(3),
        ..RetentionPolicy::default()
    };
    let plan = super::plan(&last, &backups, at("2027-06-01", 0), &Utc);
    assert_eq!(kept(&plan), ["2026-11-19", "2026-11-20", "2026-11-21"]);
}

#[test]
fn buckets_follow_the_policy_time_zone() {
    // 23:30 UTC on the 20th is already the 21st in Berlin (UTC+1 in November).
    let late = Candidate {
        created_at: Utc.with_ymd_and_hms(2026, 11, 20, 23, 30, 0).unwrap(),
        ..backup("late", at("2026-11-20", 0))
    };
    let morning = backup(
        "morning",
        Utc.with_ymd_and_hms(2026, 11, 21, 6, 0, 0).unwrap(),
    );
    let early = backup(
        "early",
        Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap(),
    );
    let backups = [late, morning, early];
    let policy = RetentionPolicy {
        keep_daily: Some(2),
        ..RetentionPolicy::default()
    };
    let now = at("2026-11-21", 12);
    assert_eq!(
        kept(&plan(&policy, &backups, now, &Utc)),
        ["late", "morning"]
    );
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    assert_eq!(
        kept(&plan(&policy, &backups, now, &berlin)),
        ["early", "morning"]
    );
}

#[test]
fn chains_stay_whole_and_pinned_backups_stay() {
    let mut full = backup("full", at("2026-01-01", 2));
    full.pinned = false;
    let mut incr1 = backup("incr1", at("2026-01-02", 2));
    incr1.parent_id = Some("full".into());
    let mut incr2 = backup("incr2", at("2026-01-03", 2));
    incr2.parent_id = Some("incr1".into());
    let mut pinned = backup("pinned", at("2025-06-01", 2));
    pinned.pinned = true;
    let old = backup("old", at("2025-07-01", 2));
    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    let plan = plan(
        &policy,
        &[full, incr1, incr2, pinned, old],
        at("2026-11-21", 0),
        &Utc,
    );
    assert_eq!(kept(&plan), ["full", "incr1", "incr2", "pinned"]);
    assert_eq!(
        reasons_of(&plan, "full"),
        [Reason::NeededBy("incr2".into())]
    );
    assert_eq!(reasons_of(&plan, "pinned"), [Reason::Pinned]);
    assert_eq!(
        plan.removals().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["old"]
    );
}

#[test]
fn failing_latest_backups_stop_all_pruning() {
    let mut backups = four_hundred_days();
    let mut failed = backup("failed-now", at("2026-11-21", 3));
    failed.status = Status::Failed;
    backups.push(failed);
    // A running one newer still does not count: the newest *finished* one failed.
    let mut running = backup("running", at("2026-11-21", 4));
    running.status = Status::Running;
    backups.push(running);
    let plan = plan(
        &RetentionPolicy::thirty_days(),
        &backups,
        at("2026-11-21", 12),
        &Utc,
    );
    assert!(
        plan.blocked.as_deref().unwrap().contains("failed-now"),
        "{:?}",
        plan.blocked
    );
    assert_eq!(plan.removals().count(), 0);
    assert_eq!(reasons_of(&plan, "running"), [Reason::Unfinished]);
}

#[test]
fn failed_verifications_fill_no_bucket_and_verified_minimum_holds() {
    let mut newest = backup("bad", at("2026-11-21", 2));
    newest.verify_state = VerifyState::Failed;
    let second = backup("second", at("2026-11-20", 2));
    let mut verified = backup("verified", at("2025-01-01", 2));
    verified.verify_state = VerifyState::Passed;
    let policy = RetentionPolicy {
        keep_last: Some(1),
        min_verified: 1,
        ..RetentionPolicy::default()
    };
    let plan = plan(
        &policy,
        &[newest, second, verified],
        at("2026-11-21", 12),
        &Utc,
    );
    assert_eq!(kept(&plan), ["second", "verified"]);
    assert_eq!(reasons_of(&plan, "verified"), [Reason::MinVerified(1)]);
}

#[test]
fn a_policy_that_keeps_nothing_is_refused() {
    assert!(RetentionPolicy::default().check().is_err());
    let zero = RetentionPolicy {
        keep_last: Some(0),
        ..RetentionPolicy::default()
    };
    assert!(zero.check().is_err());
    assert!(RetentionPolicy::thirty_days().check().is_ok());
}

#[test]
fn a_held_backup_and_its_chain_stay_whatever_the_policy_says() {
    let until = at("2027-01-01", 0);
    let base = backup("base", at("2026-10-01", 2));
    let locked = Candidate {
        parent_id: Some("base".into()),
        hold: Some(Hold::LockedUntil(until)),
        ..backup("locked", at("2026-10-02", 2))
    };
    let old = backup("old", at("2026-10-03", 2));
    let newest = backup("newest", at("2026-11-21", 2));
    let last_one = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    let plan = super::plan(
        &last_one,
        &[base, locked, old, newest],
        at("2026-11-22", 0),
        &Utc,
    );
    let reasons = |id: &str| {
        plan.decisions
            .iter()
            .find(|d| d.id == id)
            .unwrap()
            .reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons("locked"), ["locked until 2027-01-01 00:00 UTC"]);
    assert_eq!(reasons("base"), ["needed by incremental locked"]);
    assert!(reasons("old").is_empty(), "nothing holds it: it goes");
    let removed: Vec<&str> = plan.removals().map(|d| d.id.as_str()).collect();
    assert_eq!(removed, ["old"]);
}
