//! Keys: generated on first run with safe permissions, rotated without losing old archives,
//! and a missing key makes backups fail loudly instead of writing plain archives.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::helpers::*;

#[test]
fn rotation_keeps_old_archives_readable() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"first").unwrap();
    let first = env.backup(&[]);
    let keys_dir = env.path("data/keys");
    assert_eq!(
        fs::metadata(&keys_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in fs::read_dir(&keys_dir).unwrap().flatten() {
        assert_eq!(
            entry.metadata().unwrap().permissions().mode() & 0o777,
            0o600,
            "{:?}",
            entry.path()
        );
    }

    env.ok(&["key", "rotate"]);
    let keys = env.json(&["key", "list"]);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    fs::write(env.path("files/a"), b"second").unwrap();
    let second = env.backup(&[]);
    assert_ne!(first["key_id"], second["key_id"]);
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["active"] == true)
            .unwrap()["id"],
        second["key_id"]
    );
    env.ok(&["verify", first["id"].as_str().unwrap(), "--deep"]);
    env.ok(&[
        "restore",
        first["id"].as_str().unwrap(),
        "--target",
        env.path("out").to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(fs::read(env.path("out/files/a")).unwrap(), b"first");

    // Without the old key the old archive is unreadable, and says which key it needs.
    fs::remove_file(keys_dir.join(format!("{}.key", first["key_id"].as_str().unwrap()))).unwrap();
    let err = env.fails(&[
        "restore",
        first["id"].as_str().unwrap(),
        "--target",
        env.path("out2").to_str().unwrap(),
        "--yes",
    ]);
    assert!(err.contains("not in the keyring"), "{err}");
}

#[test]
fn a_missing_active_key_fails_the_backup_loudly() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"data").unwrap();
    env.backup(&[]);
    let keys_dir = env.path("data/keys");
    for entry in fs::read_dir(&keys_dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().ends_with(".key") {
            fs::remove_file(entry.path()).unwrap();
        }
    }
    let err = env.fails(&["backup"]);
    assert!(err.contains("key"), "{err}");
    let (plain, _) = (
        walkdir::WalkDir::new(env.path("backups"))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .count(),
        0,
    );
    assert_eq!(
        plain, 2,
        "only the first backup's archive and manifest exist"
    );
}

#[test]
fn encryption_off_writes_plain_tar_gz() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let text = fs::read_to_string(&env.config)
        .unwrap()
        .replace("[archive]\n", "[archive]\nencryption = false\n");
    fs::write(&env.config, text).unwrap();
    fs::write(env.path("files/a"), b"plain").unwrap();
    let backup = env.backup(&[]);
    assert_eq!(backup["encrypted"], false);
    let list = tool(
        "tar",
        &["-tzf", env.archive_path(&backup).to_str().unwrap()],
    );
    assert!(list.status.success());
    assert!(String::from_utf8(list.stdout).unwrap().contains("files/a"));
    env.ok(&["verify", backup["id"].as_str().unwrap(), "--deep"]);
}

#[test]
fn a_lost_key_directory_is_an_error_not_a_new_key() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"data").unwrap();
    env.backup(&[]);
    fs::rename(env.path("data/keys"), env.path("keys-elsewhere")).unwrap();
    let err = env.fails(&["backup"]);
    assert!(
        err.contains("missing or empty") && err.contains("coffer key rotate --accept-missing-keys"),
        "{err}"
    );
    assert!(
        !env.path("data/keys").exists(),
        "no new key was made behind the operator's back"
    );
    // The operator decides to start over with a new key.
    env.ok(&["key", "rotate", "--accept-missing-keys"]);
    env.backup(&[]);
}
