use chrono::Duration;

use super::{each_backend, succeeded};
use crate::db::{now, Backup, BackupFilter, DbError, NewBackup};
use crate::domain::{BackupKind, Scope, Status, VerifyState};

#[test]
fn a_backup_is_recorded_and_read_back() {
    each_backend(|conn, backend| {
        let scope: Scope = "service:main_service".parse().expect("scope");
        let new = NewBackup::full("nightly", &scope, &["uploads", "main_db"])
            .with_creator("alice")
            .with_description("before upgrade")
            .scheduled();
        let stored = Backup::insert(conn, &new).expect("insert");
        assert_eq!(
            stored,
            Backup::find_by_id(conn, &new.id).expect("find"),
            "{backend:?}"
        );
        assert_eq!(
            stored.created_at, new.created_at,
            "{backend:?}: timestamps round-trip"
        );
        assert_eq!(stored.status(), Status::Pending);
        assert_eq!(stored.kind(), BackupKind::Full);
        assert_eq!(stored.scope().expect("scope"), scope);
        assert_eq!(stored.sources().expect("sources"), ["uploads", "main_db"]);
        assert_eq!(stored.verify_state(), VerifyState::Unverified);
        assert_eq!((stored.size_bytes, stored.restore_count), (0, 0));
        assert!(stored.automatic && !stored.is_encrypted() && stored.warnings().is_empty());

        let missing = Backup::find_by_id(conn, "no-such-id").expect_err("unknown id");
        assert!(
            matches!(missing, DbError::NotFound { what: "backup", .. }),
            "{missing}"
        );
    });
}

#[test]
fn lists_filter_and_page_newest_first() {
    each_backend(|conn, backend| {
        let mut ids = Vec::new();
        for i in 0..4 {
            let mut new = NewBackup::full(&format!("b{i}"), &Scope::All, &["a"]);
            new.created_at = now() - Duration::hours(10 - i);
            ids.push(Backup::insert(conn, &new).expect("insert").id);
        }
        Backup::mark_running(conn, &ids[1]).expect("running");
        Backup::mark_running(conn, &ids[3]).expect("running");

        let all = Backup::list(conn, &BackupFilter::default()).expect("list");
        let names: Vec<_> = all.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["b3", "b2", "b1", "b0"], "{backend:?}");

        let running = BackupFilter {
            status: Some(Status::Running),
            ..Default::default()
        };
        let listed = Backup::list(conn, &running).expect("list running");
        assert_eq!(
            listed.iter().map(|b| &b.id).collect::<Vec<_>>(),
            [&ids[3], &ids[1]]
        );
        assert_eq!(Backup::count(conn, &running).expect("count"), 2);

        let page = BackupFilter {
            limit: Some(2),
            offset: Some(1),
            ..Default::default()
        };
        let names: Vec<_> = Backup::list(conn, &page)
            .expect("page")
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["b2", "b1"], "{backend:?}");
        let tail = BackupFilter {
            offset: Some(3),
            ..Default::default()
        };
        assert_eq!(
            Backup::list(conn, &tail).expect("offset only").len(),
            1,
            "{backend:?}"
        );

        let incremental = BackupFilter {
            kind: Some(BackupKind::Incremental),
            ..Default::default()
        };
        assert!(Backup::list(conn, &incremental)
            .expect("by kind")
            .is_empty());
    });
}

#[test]
fn incrementals_find_their_parent_and_retention_sees_only_finished_old_ones() {
    each_backend(|conn, backend| {
        let scope = Scope::All;
        let mut old = NewBackup::full("old", &scope, &["a"]);
        old.created_at = now() - Duration::days(40);
        let old = succeeded(conn, &old);
        let newest_full = succeeded(conn, &NewBackup::full("new", &scope, &["a"]));
        Backup::insert(conn, &NewBackup::full("pending", &scope, &["a"])).expect("insert");

        let parent = Backup::latest_succeeded_with_scope(conn, &scope.to_string()).expect("query");
        assert_eq!(
            parent.as_ref().map(|p| &p.id),
            Some(&newest_full.id),
            "{backend:?}"
        );
        assert!(Backup::latest_succeeded_with_scope(conn, "service:x")
            .expect("query")
            .is_none());

        let child = NewBackup::incremental("inc", &newest_full.id, &scope, &["a"]);
        let child = Backup::insert(conn, &child).expect("insert incremental");
        assert_eq!(child.kind(), BackupKind::Incremental);
        let children = Backup::list_children(conn, &newest_full.id).expect("children");
        assert_eq!(
            children.iter().map(|b| &b.id).collect::<Vec<_>>(),
            [&child.id]
        );

        let mut stale_pending = NewBackup::full("stuck", &scope, &["a"]);
        stale_pending.created_at = now() - Duration::days(50);
        Backup::insert(conn, &stale_pending).expect("insert");
        let expired = Backup::list_older_than(conn, now() - Duration::days(30)).expect("older");
        assert_eq!(
            expired.iter().map(|b| &b.id).collect::<Vec<_>>(),
            [&old.id],
            "{backend:?}"
        );

        let refused = Backup::delete(conn, &newest_full.id).expect_err("parent of an incremental");
        assert!(refused.is_foreign_key_violation(), "{backend:?}: {refused}");
        Backup::delete(conn, &child.id).expect("delete child");
        Backup::delete(conn, &newest_full.id).expect("delete parent once alone");
        assert!(matches!(
            Backup::delete(conn, &child.id),
            Err(DbError::NotFound { .. })
        ));
    });
}
