//! Replicas (3-2-1): each backup is copied to every `[[storage.replicas]]` target, read back
//! and recorded; a missing or corrupt copy is noticed by verification and skipped by
//! restore and export, which read a healthy one; `coffer copies sync` fills a new replica;
//! deleting a backup removes every copy.

use std::fs;

use serde_json::Value;

use super::harness::{add_replica, S3Server};
use crate::helpers::*;

fn state_of(copies: &Value, storage: &str) -> String {
    copies
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["storage"] == storage)
        .map(|c| c["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no copy in {storage}: {copies}"))
}

#[test]
fn a_damaged_primary_copy_falls_back_to_a_healthy_replica() {
    let s3 = S3Server::start();
    let bucket = "coffer-replica";
    s3.create_bucket(bucket);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    add_replica(&env, "offsite", &s3.target(bucket, "copies"));
    fs::write(env.path("files/a.bin"), random_bytes(3 << 20, 1)).unwrap();
    fs::write(env.path("files/b.txt"), text_bytes(50_000, 2)).unwrap();
    let expected = snapshot_tree(&env.path("files"));

    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let key = backup["storage_key"].as_str().unwrap();
    let copies = env.json(&["copies", "list", id]);
    assert_eq!(state_of(&copies, "primary"), "healthy");
    assert_eq!(state_of(&copies, "offsite"), "healthy");
    let replica_bytes = s3.get(bucket, &format!("copies/{key}"));
    assert_eq!(
        sha256_hex(&replica_bytes),
        backup["sha256"].as_str().unwrap()
    );

    // One byte of the primary copy flips; its size stays the same.
    let primary = env.archive_path(&backup);
    let mut bytes = fs::read(&primary).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(&primary, &bytes).unwrap();

    let verdict = env.run(&["verify", id]);
    let said = String::from_utf8_lossy(&verdict.stdout).to_string()
        + &String::from_utf8_lossy(&verdict.stderr);
    assert!(!verdict.status.success(), "{said}");
    assert!(
        said.contains("primary"),
        "verification names the bad copy: {said}"
    );
    assert_eq!(
        state_of(&env.json(&["copies", "list", id]), "primary"),
        "corrupt"
    );

    let target = env.path("restored");
    env.ok(&["restore", id, "--target", target.to_str().unwrap(), "--yes"]);
    assert_eq!(snapshot_tree(&target.join("files")), expected);
    let exported = env.path("export.tar.gz");
    env.ok(&["export", id, "-o", exported.to_str().unwrap()]);
    assert!(tool("tar", &["-tzf", exported.to_str().unwrap()])
        .status
        .success());

    // The primary copy gone altogether: still restorable.
    fs::remove_file(&primary).unwrap();
    let again = env.path("restored-again");
    env.ok(&["restore", id, "--target", again.to_str().unwrap(), "--yes"]);
    assert_eq!(snapshot_tree(&again.join("files")), expected);
    // Known bad copies are tried last, so the replica served it; verification re-checks all.
    assert!(!env.run(&["verify", id]).status.success());
    assert_eq!(
        state_of(&env.json(&["copies", "list", id]), "primary"),
        "missing"
    );

    // With the replica damaged too, nothing healthy is left: a clear refusal, nothing written.
    let mut replica = replica_bytes;
    replica[100] ^= 0x01;
    s3.put(bucket, &format!("copies/{key}"), replica);
    let last = env.path("restored-last");
    let err = env.fails(&["restore", id, "--target", last.to_str().unwrap(), "--yes"]);
    assert!(err.contains("no healthy copy"), "{err}");
    assert!(!last.join("files").exists());
}

#[test]
fn sync_fills_a_new_replica_and_deleting_a_backup_removes_every_copy() {
    let s3 = S3Server::start();
    let bucket = "coffer-sync";
    s3.create_bucket(bucket);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a.txt"), text_bytes(20_000, 1)).unwrap();
    let older = env.backup(&[]);
    fs::write(env.path("files/a.txt"), text_bytes(20_000, 2)).unwrap();
    let newer = env.backup(&[]);

    add_replica(&env, "offsite", &s3.target(bucket, ""));
    env.ok(&["copies", "sync"]);
    for backup in [&older, &newer] {
        let id = backup["id"].as_str().unwrap();
        assert_eq!(
            state_of(&env.json(&["copies", "list", id]), "offsite"),
            "healthy"
        );
        let key = backup["storage_key"].as_str().unwrap();
        assert!(s3.keys(bucket).contains(&key.to_string()));
    }
    // A second sync finds nothing to do.
    let second = env.ok(&["copies", "sync"]);
    assert!(!second.contains("copied"), "{second}");

    env.ok(&["cleanup", "--scope", "all", "--keep-last", "1", "--confirm"]);
    let gone = older["storage_key"].as_str().unwrap();
    let kept = newer["storage_key"].as_str().unwrap();
    let keys = s3.keys(bucket);
    assert!(
        !keys
            .iter()
            .any(|k| k.contains(older["id"].as_str().unwrap())),
        "{keys:?}"
    );
    assert!(keys.contains(&kept.to_string()), "{keys:?}");
    assert!(!env.path("backups").join(gone).exists());
}
