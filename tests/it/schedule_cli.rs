//! `coffer schedule`: schedules added, listed, edited and deleted from the command line with
//! the settings form's checks — a bad cron, time zone, count or scope names its flag and saves
//! nothing.

use crate::helpers::*;

#[test]
fn schedules_are_managed_from_the_cli_with_the_forms_checks() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let out = env.ok(&[
        "schedule",
        "add",
        "nightly",
        "--time",
        "03:15",
        "--timezone",
        "Europe/Berlin",
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
    ]);
    assert!(out.contains("schedule `nightly` saved"), "{out}");
    env.ok(&[
        "schedule",
        "add",
        "hourly",
        "--cron",
        "0 * * * *",
        "--kind",
        "incremental",
    ]);
    let list = env.ok(&["schedule", "list"]);
    assert!(
        list.contains("nightly") && list.contains("15 3 * * *"),
        "{list}"
    );
    assert!(list.contains("keeps 30 days, 7 daily, 4 weekly"), "{list}");
    assert!(
        list.contains("hourly") && list.contains("incremental"),
        "{list}"
    );

    for (args, flag, words) in [
        (
            vec!["--cron", "0 25 * * *"],
            "--cron",
            "not a valid cron expression",
        ),
        (vec!["--timezone", "Mars/Base"], "--timezone", "Mars/Base"),
        (
            vec!["--keep-daily=-2"],
            "--keep-daily",
            "`-2` is not a count",
        ),
        (
            vec!["--scope", "sources", "--sources", "nope"],
            "--sources",
            "`nope`",
        ),
        (
            vec!["--scope", "galaxy"],
            "--scope",
            "`galaxy` is not a scope",
        ),
    ] {
        let mut all = vec!["schedule", "add", "bad"];
        all.extend(args);
        let err = env.fails(&all);
        assert!(err.contains("nothing was saved"), "{err}");
        assert!(err.contains(flag) && err.contains(words), "{flag}: {err}");
    }
    let err = env.fails(&["schedule", "add", "nightly"]);
    assert!(err.contains("already named `nightly`"), "{err}");
    assert!(!env.ok(&["schedule", "list"]).contains("bad"));

    env.ok(&[
        "schedule",
        "edit",
        "nightly",
        "--keep-daily",
        "14",
        "--disabled",
    ]);
    let list = env.ok(&["schedule", "list"]);
    let nightly = list.lines().find(|l| l.starts_with("nightly")).unwrap();
    assert!(
        nightly.contains("disabled") && nightly.contains("14 daily, 4 weekly"),
        "{nightly}"
    );
    assert!(
        nightly.contains("Europe") || nightly.contains("15 3 * * *"),
        "kept: {nightly}"
    );

    env.ok(&["schedule", "delete", "hourly"]);
    assert!(!env.ok(&["schedule", "list"]).contains("hourly"));
    assert!(env
        .fails(&["schedule", "delete", "hourly"])
        .contains("not found"));
}

#[test]
fn drill_schedules_and_drill_every_from_the_cli() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let out = env.ok(&[
        "schedule",
        "add",
        "drills",
        "--action",
        "drill",
        "--frequency",
        "weekly",
        "--weekday",
        "sunday",
        "--time",
        "05:00",
    ]);
    assert!(out.contains("schedule `drills` saved"), "{out}");
    env.ok(&["schedule", "add", "nightly", "--drill-every", "7"]);
    let list = env.ok(&["schedule", "list"]);
    let drills = list.lines().find(|l| l.starts_with("drills")).unwrap();
    assert!(
        drills.contains("drill") && drills.contains("drills the newest backup"),
        "{drills}"
    );
    let nightly = list.lines().find(|l| l.starts_with("nightly")).unwrap();
    assert!(nightly.contains("drills every 7. backup"), "{nightly}");

    for (args, flag, words) in [
        (
            vec!["add", "bad", "--action", "drill", "--keep-daily", "3"],
            "--keep-daily",
            "drill schedule keeps and prunes nothing",
        ),
        (
            vec!["add", "bad", "--action", "drill", "--drill-every", "2"],
            "--drill-every",
            "backup schedule",
        ),
        (
            vec!["add", "bad", "--drill-every=-1"],
            "--drill-every",
            "1 to 1000",
        ),
        (
            vec!["add", "bad", "--action", "verify"],
            "--action",
            "backup or drill",
        ),
        (
            vec!["edit", "nightly", "--drill-every", "1001"],
            "--drill-every",
            "1 to 1000",
        ),
    ] {
        let mut all = vec!["schedule"];
        all.extend(args);
        let err = env.fails(&all);
        assert!(err.contains("nothing was saved"), "{err}");
        assert!(err.contains(flag) && err.contains(words), "{flag}: {err}");
    }
    // Edited into a drill schedule: its retention goes with it.
    env.ok(&["schedule", "edit", "nightly", "--action", "drill"]);
    let list = env.ok(&["schedule", "list"]);
    let nightly = list.lines().find(|l| l.starts_with("nightly")).unwrap();
    assert!(nightly.contains("drills the newest backup"), "{nightly}");
    assert!(!list.contains("bad"));
}
