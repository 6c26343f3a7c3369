//! Immutable copies on S3: a target with `object_lock` locks every object it writes (S3
//! Object Lock, on moto_server), so that even with Coffer's full credentials the archive
//! cannot be deleted or replaced before its date — not by a direct DeleteObject of its
//! version, not by Coffer writing the key again, not by retention nor the console. A bucket
//! without Object Lock is refused at start-up.

use std::fs;

use coffer::config::{LockMode, ObjectLock, Protection, StorageLocation, StorageTarget};
use coffer::db::{Backup, BackupCopy};

use super::harness::{set_primary_storage, S3Server};
use crate::helpers::*;
use crate::web::harness::{location, TestConsole};

const LOCK: &str = "object_lock = \"governance\"\nobject_lock_days = 30\n";

fn id(backup: &serde_json::Value) -> String {
    backup["id"].as_str().unwrap().to_string()
}

#[test]
fn a_locked_backup_cannot_be_deleted_or_replaced_before_its_date() {
    let s3 = S3Server::start();
    let bucket = "coffer-locked";
    s3.create_locked_bucket(bucket);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    set_primary_storage(&env, &format!("{}{LOCK}", s3.target(bucket, "")));
    fs::write(env.path("files/a.bin"), random_bytes(6 << 20, 3)).unwrap();
    let first = env.backup(&[]);
    let key = first["storage_key"].as_str().unwrap().to_string();
    let sha = first["sha256"].as_str().unwrap().to_string();

    // S3 itself says the version is locked, in governance mode, about 30 days ahead.
    let versions = s3.versions(bucket, &key);
    assert_eq!(versions.len(), 1, "{versions:?}");
    let (version, _) = versions[0].clone();
    let (status, headers, _) = s3.signed("HEAD", &format!("/{bucket}/{key}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(headers["x-amz-object-lock-mode"], "GOVERNANCE");
    let until = chrono::DateTime::parse_from_rfc3339(
        headers["x-amz-object-lock-retain-until-date"]
            .to_str()
            .unwrap(),
    )
    .unwrap()
    .with_timezone(&chrono::Utc);
    let days = (until - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{until}");
    // The catalogue recorded the same date on the copy.
    let app = env.app();
    let copies = BackupCopy::of_backup(&mut app.conn().unwrap(), &id(&first)).unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].retain_until.map(|t| t.and_utc()), Some(until));

    // With full credentials, a direct delete of that exact version is refused by S3.
    let (status, _, body) = s3.signed(
        "DELETE",
        &format!("/{bucket}/{key}?versionId={version}"),
        &[],
    );
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("AccessDenied"));

    // Through Coffer: writing the key again and deleting it are refused before S3 is asked
    // to do either (no new version, no delete marker hiding the locked one).
    let replaced = app
        .storage
        .create(&key)
        .err()
        .expect("replacing is refused");
    assert!(replaced.to_string().contains("locked until"), "{replaced}");
    let deleted = app.storage.delete(&key).unwrap_err();
    assert!(deleted.to_string().contains("locked until"), "{deleted}");
    assert_eq!(s3.versions(bucket, &key), vec![(version.clone(), false)]);
    let (status, _, bytes) = s3.signed("GET", &format!("/{bucket}/{key}?versionId={version}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&bytes), sha, "the locked bytes are unchanged");

    // Retention keeps it and says why, previewing and pruning alike.
    let second = env.backup(&[]);
    let policy = ["cleanup", "--scope", "all", "--keep-last", "1"];
    let preview = env.ok(&policy);
    let line = preview
        .lines()
        .find(|l| l.contains(&id(&first)))
        .unwrap_or_else(|| panic!("{preview}"));
    assert!(
        line.trim_start().starts_with("keep") && line.contains("locked until"),
        "{preview}"
    );
    let mut confirmed = policy.to_vec();
    confirmed.push("--confirm");
    let pruned = env.ok(&confirmed);
    assert!(pruned.contains("deleted 0 backup(s)"), "{pruned}");
    let listed = env.json(&["list"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id(&first).as_str()) && ids.contains(&id(&second).as_str()));
    assert_eq!(s3.versions(bucket, &key), vec![(version, false)]);
    // The locked backup still restores.
    let target = env.path("restored");
    env.ok(&[
        "restore",
        &id(&first),
        "--target",
        target.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(
        fs::read(target.join("files/a.bin")).unwrap(),
        random_bytes(6 << 20, 3)
    );
}

#[test]
fn the_console_refuses_to_delete_a_locked_backup_and_says_until_when() {
    let s3 = S3Server::start();
    let bucket = "coffer-locked-console";
    s3.create_locked_bucket(bucket);
    let settings = s3.settings(bucket);
    let console = TestConsole::start_with(&Backend::Sqlite, |config| {
        config.storage.primary = StorageTarget {
            name: "vault".into(),
            location: StorageLocation::S3(settings),
            protection: Protection::ObjectLock(ObjectLock {
                mode: LockMode::Compliance,
                days: 7,
            }),
        };
    });
    let admin = console.login_as(coffer::domain::Role::Admin);
    let response = admin.post("/backups", &[("scope", "all"), ("kind", "full")]);
    assert_eq!(response.status(), 303);
    let id = location(&response)
        .trim_start_matches("/backups/")
        .to_string();
    console.run_pending_jobs();
    let backup = Backup::find_by_id(&mut console.app.conn().unwrap(), &id).unwrap();
    assert_eq!(backup.status, "success", "{:?}", backup.error_message);

    let list = admin.page("/backups");
    assert!(
        list.contains("badge-held") && list.contains("locked until"),
        "{list}"
    );
    let detail = admin.page(&format!("/backups/{id}"));
    assert!(detail.contains("id=\"held-note\""), "{detail}");
    assert!(detail.contains("<th>Locked until</th>"), "{detail}");

    let confirm = admin.page(&format!("/backups/{id}/delete"));
    assert!(confirm.contains("id=\"delete-blocked\""), "{confirm}");
    assert!(
        confirm.contains("cannot be deleted: locked until"),
        "{confirm}"
    );
    assert!(!confirm.contains("id=\"confirm-delete\""));

    let refused = admin.post(&format!("/backups/{id}/delete"), &[]);
    assert_eq!(refused.status(), 409);
    assert!(refused.text().unwrap().contains("locked until"));
    assert!(Backup::find_by_id(&mut console.app.conn().unwrap(), &id).is_ok());
    let key = backup.storage_key.unwrap();
    assert_eq!(
        s3.versions(bucket, &key).len(),
        1,
        "still there, no delete marker"
    );
}

#[test]
fn a_bucket_without_object_lock_is_refused_at_start_up() {
    let s3 = S3Server::start();
    let bucket = "coffer-unlockable";
    s3.create_bucket(bucket);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    set_primary_storage(&env, &format!("{}{LOCK}", s3.target(bucket, "")));
    let said = env.fails(&["backup"]);
    assert!(
        said.contains("does not have Object Lock enabled")
            && said.contains("object_lock")
            && said.contains(bucket),
        "{said}"
    );
    assert!(s3.keys(bucket).is_empty(), "nothing was written");
}
