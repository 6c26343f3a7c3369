//! An upload that is cancelled or killed part-way leaves no object under its final key and
//! no `success` record; a cancelled one also leaves no multipart upload behind (aborted).

use std::fs;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use coffer::db::{Backup, Task};
use coffer::domain::Status;

use super::harness::{set_primary_storage, S3Server};
use crate::helpers::*;

const BUCKET: &str = "coffer-interrupted";

/// A backup of ~200 MiB of incompressible data, started as a child process, once its
/// multipart upload is under way in `bucket`. (60 MiB were enough once; with faster
/// encryption such a backup could end before its task noticed the cancel, which it checks
/// when it records its progress, every second.)
fn backup_under_way(env: &TestEnv, s3: &S3Server) -> Child {
    for i in 0..20 {
        fs::write(
            env.path(&format!("files/part{i}.bin")),
            random_bytes(10 << 20, 100 + i),
        )
        .unwrap();
    }
    let child = env
        .command(&["backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coffer backup starts");
    let started = Instant::now();
    while s3.open_uploads(BUCKET) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the backup never started its upload"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn no_archive_in(s3: &S3Server) {
    let keys = s3.keys(BUCKET);
    assert!(
        keys.iter().all(|k| !k.contains(".tar.gz")),
        "no archive object may exist: {keys:?}"
    );
}

#[test]
fn a_cancelled_upload_is_aborted_and_leaves_nothing() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    set_primary_storage(&env, &s3.target(BUCKET, ""));
    let mut child = backup_under_way(&env, &s3);

    let app = env.app();
    let running = Task::list_running(&mut app.conn().unwrap()).unwrap();
    let task = running.first().expect("the backup's task is running");
    coffer::jobs::run::cancel::cancel_task(&app, &task.id, "test").unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "a cancelled backup does not exit 0");

    no_archive_in(&s3);
    assert_eq!(
        s3.open_uploads(BUCKET),
        0,
        "the multipart upload was aborted"
    );
    let backup_id = task.backup_id.clone().unwrap();
    let record = Backup::find_by_id(&mut app.conn().unwrap(), &backup_id).unwrap();
    assert_ne!(record.status(), Status::Succeeded);
}

#[test]
fn a_killed_upload_leaves_no_object_and_no_success_record() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    set_primary_storage(&env, &s3.target(BUCKET, ""));
    let mut child = backup_under_way(&env, &s3);
    child.kill().unwrap(); // SIGKILL: no chance to abort or clean up
    child.wait().unwrap();

    no_archive_in(&s3);
    // The next start finds the dead task and fails it with its backup.
    let list = env.json(&["list"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["status"], "failed", "{list}");
    // A new backup works as usual afterwards.
    env.backup(&[]);
}
