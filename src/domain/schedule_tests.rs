use chrono::{TimeZone, Utc};

use super::*;

fn known() -> KnownSources {
    KnownSources {
        sources: vec![
            ("uploads".into(), "app".into()),
            ("db".into(), "app".into()),
            ("conf".into(), "admin".into()),
        ],
    }
}

fn daily() -> ScheduleInput {
    ScheduleInput {
        name: " nightly ".into(),
        enabled: true,
        frequency: "daily".into(),
        time: "02:30".into(),
        timezone: "Europe/Berlin".into(),
        scope: "all".into(),
        kind: "full".into(),
        retention_days: "30".into(),
        ..ScheduleInput::default()
    }
}

fn errors_of(input: &ScheduleInput) -> FieldErrors {
    ScheduleSpec::parse(input, &known()).unwrap_err()
}

#[test]
fn a_daily_form_becomes_its_cron_equivalent() {
    let spec = ScheduleSpec::parse(&daily(), &known()).unwrap();
    assert_eq!(spec.name, "nightly");
    assert_eq!(spec.cron().as_str(), "30 2 * * *");
    assert_eq!(spec.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(spec.scope, Scope::All);
    assert!(matches!(
        spec.action,
        SpecAction::Backup {
            retention_days: 30,
            kind: BackupKind::Full,
            drill_every: None,
            ..
        }
    ));
}

#[test]
fn a_drill_schedule_takes_no_retention_nor_drill_every_and_ignores_the_kind() {
    let drill = ScheduleInput {
        action: "drill".into(),
        scope: "service".into(),
        service: "app".into(),
        kind: "anything".into(),
        retention_days: String::new(),
        ..daily()
    };
    let spec = ScheduleSpec::parse(&drill, &known()).unwrap();
    assert_eq!(spec.action, SpecAction::Drill);
    assert_eq!(spec.scope, Scope::Service("app".into()));
    let errors = errors_of(&ScheduleInput {
        retention_days: "30".into(),
        keep_daily: "7".into(),
        drill_every: "2".into(),
        ..drill.clone()
    });
    assert!(errors
        .get("retention_days")
        .unwrap()
        .contains("drill schedule"));
    assert!(errors.get("keep_daily").is_some());
    assert!(errors
        .get("drill_every")
        .unwrap()
        .contains("backup schedule"));
    let errors = errors_of(&ScheduleInput {
        action: "restore".into(),
        ..drill
    });
    assert!(errors.get("action").unwrap().contains("backup or drill"));
}

#[test]
fn drill_every_is_a_count_from_1_to_1000_or_empty() {
    for (text, expected) in [("", None), ("1", Some(1)), (" 1000 ", Some(1000))] {
        let spec = ScheduleSpec::parse(
            &ScheduleInput {
                drill_every: text.into(),
                ..daily()
            },
            &known(),
        )
        .unwrap();
        let SpecAction::Backup { drill_every, .. } = spec.action else {
            panic!("a backup schedule");
        };
        assert_eq!(drill_every, expected, "{text}");
    }
    for bad in ["0", "1001", "-2", "two", "1.5"] {
        let errors = errors_of(&ScheduleInput {
            drill_every: bad.into(),
            ..daily()
        });
        assert!(
            errors.get("drill_every").unwrap().contains("1 to 1000"),
            "{bad}"
        );
    }
}

#[test]
fn weekly_monthly_and_cron_forms_round_trip_through_the_stored_expression() {
    let cases = [
        ("weekly", "sunday", "", "", "5 23 * * 0"),
        ("weekly", "Monday", "", "", "5 23 * * 1"),
        ("monthly", "", "1", "", "5 23 1 * *"),
        ("monthly", "", "last", "", "5 23 L * *"),
        ("cron", "", "", "0 */6 * * *", "0 */6 * * *"),
    ];
    for (frequency, weekday, day, cron, stored) in cases {
        let input = ScheduleInput {
            frequency: frequency.into(),
            time: "23:05".into(),
            weekday: weekday.into(),
            day: day.into(),
            cron: cron.into(),
            ..daily()
        };
        let spec = ScheduleSpec::parse(&input, &known()).unwrap();
        assert_eq!(spec.cron().as_str(), stored);
        assert_eq!(
            Frequency::from_cron(spec.cron()),
            spec.frequency,
            "{stored}"
        );
    }
    // A cron expression that happens to have a simple shape reads back as that shape.
    let weekly = Frequency::from_cron("0 4 * * 3".parse().unwrap());
    assert_eq!(
        weekly,
        Frequency::Weekly(Weekday::Wed, NaiveTime::from_hms_opt(4, 0, 0).unwrap())
    );
    for other in [
        "0 4 1-5 * *",
        "0 4 * * 1-5",
        "*/5 * * * *",
        "0 4 31 * *",
        "0 4 * 2 *",
    ] {
        let expr: CronExpr = other.parse().unwrap();
        assert!(
            matches!(Frequency::from_cron(expr), Frequency::Cron(_)),
            "{other}"
        );
    }
}

#[test]
fn each_bad_field_gets_its_own_message() {
    let bad = ScheduleInput {
        name: "  ".into(),
        frequency: "cron".into(),
        cron: "0 25 * * *".into(),
        timezone: "Europe/Atlantis".into(),
        scope: "sources".into(),
        sources: vec!["uploads".into(), "nope".into()],
        kind: "differential".into(),
        retention_days: "0".into(),
        ..ScheduleInput::default()
    };
    let errors = errors_of(&bad);
    for field in [
        "name",
        "cron",
        "timezone",
        "sources",
        "kind",
        "retention_days",
    ] {
        assert!(errors.get(field).is_some(), "{field}: {errors:?}");
    }
    assert!(errors.get("sources").unwrap().contains("nope"));
    assert!(errors.get("timezone").unwrap().contains("Europe/Atlantis"));
}

#[test]
fn times_days_and_retention_are_checked() {
    for time in ["25:00", "2:3x", "", "12:60"] {
        let errors = errors_of(&ScheduleInput {
            time: time.into(),
            ..daily()
        });
        assert!(errors.get("time").is_some(), "{time}");
    }
    for day in ["0", "29", "31", "first"] {
        let errors = errors_of(&ScheduleInput {
            frequency: "monthly".into(),
            day: day.into(),
            ..daily()
        });
        assert!(errors.get("day").unwrap().contains("last"), "{day}");
    }
    let errors = errors_of(&ScheduleInput {
        frequency: "weekly".into(),
        weekday: "someday".into(),
        ..daily()
    });
    assert!(errors.get("weekday").is_some());
    for days in ["-1", "3651", "ten", ""] {
        let errors = errors_of(&ScheduleInput {
            retention_days: days.into(),
            ..daily()
        });
        assert!(errors.get("retention_days").is_some(), "{days}");
    }
    let errors = errors_of(&ScheduleInput {
        scope: "service".into(),
        service: "billing".into(),
        ..daily()
    });
    assert!(errors.get("service").unwrap().contains("billing"));
}

#[test]
fn next_runs_are_in_the_schedule_zone_across_a_dst_change() {
    let spec = ScheduleSpec::parse(&daily(), &known()).unwrap();
    // Europe/Berlin moves from UTC+1 to UTC+2 at 02:00 on 2026-03-29; 02:30 does not exist
    // that night, so the run happens at the first instant after the gap.
    let runs = spec.next_runs(Utc.with_ymd_and_hms(2026, 3, 27, 12, 0, 0).unwrap(), 3);
    let in_utc: Vec<String> = runs
        .iter()
        .map(|t| t.with_timezone(&Utc).format("%m-%d %H:%M").to_string())
        .collect();
    assert_eq!(in_utc, ["03-28 01:30", "03-29 01:00", "03-30 00:30"]);
}
