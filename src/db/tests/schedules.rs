use chrono::Duration;

use super::each_backend;
use crate::db::{now, DbError, NewSchedule, Schedule, ScheduleChanges};
use crate::domain::{BackupKind, Scope};

#[test]
fn schedules_are_created_listed_changed_and_deleted() {
    each_backend(|conn, backend| {
        let scope: Scope = "sources:uploads,main_db".parse().expect("scope");
        let mut nightly = NewSchedule::new(
            "nightly",
            "0 3 * * *",
            "Europe/Paris",
            &scope,
            BackupKind::Incremental,
        );
        nightly.retention_days = Some(30);
        nightly.next_run_at = Some(now() - Duration::minutes(1));
        let nightly = Schedule::insert(conn, &nightly).expect("insert");
        let weekly = NewSchedule::new(
            "a-weekly",
            "0 4 * * 0",
            "UTC",
            &Scope::All,
            BackupKind::Full,
        );
        let weekly = Schedule::insert(conn, &weekly).expect("insert");

        assert_eq!(
            nightly,
            Schedule::find_by_id(conn, &nightly.id).expect("find"),
            "{backend:?}"
        );
        assert_eq!(
            (nightly.kind(), nightly.scope().expect("scope")),
            (BackupKind::Incremental, scope)
        );
        assert!(nightly.enabled && nightly.retention_policy().expect("policy").is_none());
        let names: Vec<_> = Schedule::list(conn)
            .expect("list")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a-weekly", "nightly"]);
        let due = Schedule::list_due(conn, now()).expect("due");
        assert_eq!(
            due.iter().map(|s| &s.id).collect::<Vec<_>>(),
            [&nightly.id],
            "{backend:?}"
        );

        let duplicate =
            NewSchedule::new("nightly", "* * * * *", "UTC", &Scope::All, BackupKind::Full);
        let taken = Schedule::insert(conn, &duplicate).expect_err("names are unique");
        assert!(taken.is_unique_violation(), "{backend:?}: {taken}");

        let policy = serde_json::json!({"keep_daily": 7});
        let changes = ScheduleChanges {
            enabled: Some(false),
            retention_days: Some(None),
            retention_policy: Some(Some(policy.to_string())),
            ..ScheduleChanges::default()
                .with_kind(BackupKind::Full)
                .with_scope(&Scope::All)
        };
        let changed = Schedule::update(conn, &nightly.id, &changes).expect("update");
        assert!(
            !changed.enabled && changed.retention_days.is_none(),
            "{backend:?}"
        );
        assert_eq!(
            (changed.kind(), changed.scope().expect("scope")),
            (BackupKind::Full, Scope::All)
        );
        assert_eq!(changed.retention_policy().expect("policy"), Some(policy));
        assert!(changed.updated_at >= nightly.updated_at);
        assert!(
            Schedule::list_due(conn, now()).expect("due").is_empty(),
            "disabled is never due"
        );

        let ran_at = now();
        let ran =
            Schedule::update(conn, &weekly.id, &ScheduleChanges::ran(ran_at, None)).expect("ran");
        assert_eq!((ran.last_run_at, ran.next_run_at), (Some(ran_at), None));

        Schedule::delete(conn, &weekly.id).expect("delete");
        assert!(matches!(
            Schedule::find_by_id(conn, &weekly.id),
            Err(DbError::NotFound { .. })
        ));
        assert!(matches!(
            Schedule::delete(conn, &weekly.id),
            Err(DbError::NotFound { .. })
        ));
        let missing = Schedule::update(conn, "nope", &ScheduleChanges::default());
        assert!(matches!(missing, Err(DbError::NotFound { .. })));
    });
}
