//! Storage is not trusted: objects planted in (or replaced in) the storage folder never
//! enter the catalogue or drive a restore. With encryption on, unencrypted archives and
//! manifests are refused by `catalog rebuild`, `verify` and `restore` unless `--allow-plain`;
//! a manifest that differs from the one inside its archive is refused even then; setuid,
//! setgid and sticky bits come back only from an authenticated manifest, restored by root.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::*;

/// Deletes the catalogue (a SQLite file), as when the console's own database is lost.
fn lose_catalogue(env: &TestEnv) {
    let db = fs::read_to_string(&env.config)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("database_url = \""))
        .map(|rest| rest.trim_end_matches('"').to_string())
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{db}{suffix}"));
    }
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 0);
}

/// An install with encryption off and one directory source `files`.
fn plain_install() -> TestEnv {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "encryption = false\n[[sources]]\nname = \"files\"\nservice = \"app\"\nkind = \"directory\"\npath = \"{root}/files\"\n",
    );
    fs::create_dir_all(env.path("files")).unwrap();
    env
}

/// The manifest beside an archive.
fn sidecar_path(archive: &Path) -> PathBuf {
    let name = archive.file_name().unwrap().to_str().unwrap();
    let (stem, suffix) = match name.strip_suffix(".enc") {
        Some(stem) => (stem, ".enc"),
        None => (name, ""),
    };
    let stem = stem.trim_end_matches(".tar.gz");
    archive.with_file_name(format!("{stem}.manifest.json{suffix}"))
}

fn rebuild(env: &TestEnv, extra: &[&str]) -> Value {
    let mut args = vec!["catalog", "rebuild", "--storage", "primary"];
    args.extend_from_slice(extra);
    env.json(&args)
}

fn ids(report: &Value) -> Vec<String> {
    let mut ids: Vec<String> = report["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn planted_plain_archives_are_refused_by_rebuild_verify_and_restore_unless_allowed() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a.txt"), text_bytes(10_000, 1)).unwrap();
    let real = env.backup(&[]);
    // Plain archives and manifests made elsewhere, planted in the encrypted install's folder.
    let donor = plain_install();
    let mut planted = Vec::new();
    for i in 0..3 {
        fs::write(donor.path("files/evil.txt"), format!("planted {i}")).unwrap();
        let b = donor.backup(&[]);
        let archive = donor.archive_path(&b);
        let into = env.path("backups").join(b["storage_key"].as_str().unwrap());
        fs::create_dir_all(into.parent().unwrap()).unwrap();
        fs::copy(&archive, &into).unwrap();
        fs::copy(sidecar_path(&archive), sidecar_path(&into)).unwrap();
        planted.push(b["id"].as_str().unwrap().to_string());
    }
    planted.sort();
    lose_catalogue(&env);

    let report = rebuild(&env, &[]);
    assert_eq!(report["archives"], 4, "{report}");
    assert_eq!(ids(&report), vec![real["id"].as_str().unwrap().to_string()]);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3, "{report}");
    for p in problems {
        assert!(p.as_str().unwrap().contains("not encrypted"), "{p}");
    }
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 1);

    // The operator says so explicitly: then they are taken, and still refused by default.
    let report = rebuild(&env, &["--allow-plain"]);
    assert_eq!(ids(&report), planted, "{report}");
    let id = planted[0].as_str();
    for depth in [&[][..], &["--deep"][..]] {
        let mut args = vec!["verify", id];
        args.extend_from_slice(depth);
        let err = env.fails(&args);
        assert!(err.contains("not encrypted"), "{depth:?}: {err}");
        args.push("--allow-plain");
        env.ok(&args);
    }
    let out = env.path("out");
    let target = out.to_str().unwrap();
    let err = env.fails(&["restore", id, "--target", target, "--yes"]);
    assert!(err.contains("not encrypted"), "{err}");
    assert!(!out.join("files").exists(), "nothing is restored");
    env.ok(&["restore", id, "--target", target, "--yes", "--allow-plain"]);
    assert!(out.join("files/evil.txt").exists());
}

#[test]
fn a_replaced_sidecar_manifest_never_enters_the_catalogue_nor_drives_a_restore() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a.txt"), text_bytes(10_000, 1)).unwrap();
    fs::write(env.path("files/tool"), b"#!/bin/sh\necho hi\n").unwrap();
    set_mode(&env.path("files/tool"), 0o755);
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let genuine = coffer::db::Manifest::load(&mut env.app().conn().unwrap(), id)
        .unwrap()
        .unwrap();
    // The attack: same files and checksums, a setuid root mode, a planted folder and link.
    let mut forged: Value = serde_json::from_str(&genuine).unwrap();
    let files = forged["files"].as_array_mut().unwrap();
    for entry in files.iter_mut() {
        if entry["path"] == "files/tool" {
            entry["mode"] = json!(0o6777);
        }
    }
    let mtime = files[0]["mtime_ns"].clone();
    files.push(json!({"path": "files/planted", "kind": "dir", "mode": 0o777, "mtime_ns": mtime}));
    files.push(
        json!({"path": "files/planted-link", "kind": "symlink", "mode": 0o777,
        "mtime_ns": mtime, "link_target": "/etc"}),
    );
    let forged = forged.to_string();
    let sidecar = sidecar_path(&env.archive_path(&backup));
    let sealed = fs::read(&sidecar).unwrap();
    fs::write(&sidecar, &forged).unwrap();
    lose_catalogue(&env);

    let report = rebuild(&env, &[]);
    assert!(report["added"].as_array().unwrap().is_empty(), "{report}");
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("not encrypted"),
        "{report}"
    );
    // Even allowed, a manifest that is not the archive's own is refused.
    let report = rebuild(&env, &["--allow-plain"]);
    assert!(report["added"].as_array().unwrap().is_empty(), "{report}");
    let problem = report["problems"][0].as_str().unwrap();
    assert!(problem.contains("differs from the one inside"), "{problem}");
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 0);

    // A catalogue that holds the forged copy anyway (rebuilt by an older Coffer, or edited):
    // the restore compares it with the archive's own before creating anything.
    fs::write(&sidecar, &sealed).unwrap();
    assert_eq!(ids(&rebuild(&env, &[])), vec![id.to_string()]);
    coffer::db::Manifest::store(&mut env.app().conn().unwrap(), id, &forged).unwrap();
    let out = env.path("out");
    let target = out.to_str().unwrap();
    for extra in [&[][..], &["--allow-plain"][..]] {
        let mut args = vec!["restore", id, "--target", target, "--yes"];
        args.extend_from_slice(extra);
        let err = env.fails(&args);
        assert!(err.contains("differs from the one inside"), "{err}");
        assert!(!out.join("files").exists(), "nothing is created");
    }
    let err = env.fails(&["verify", id, "--deep"]);
    assert!(err.contains("failed verification"), "{err}");
    // Restoring the genuine copy brings back exactly what was backed up.
    coffer::db::Manifest::store(&mut env.app().conn().unwrap(), id, &genuine).unwrap();
    env.ok(&["restore", id, "--target", target, "--yes"]);
    let restored = out.join("files");
    assert_eq!(mode_of(&restored.join("tool")), 0o755);
    assert!(fs::symlink_metadata(restored.join("planted")).is_err());
    assert!(fs::symlink_metadata(restored.join("planted-link")).is_err());
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Backs up a setuid+setgid file in a sticky folder and restores it elsewhere; returns the
/// modes the restore gave them.
fn special_bits_after_restore(env: &TestEnv, extra: &[&str]) -> (u32, u32) {
    fs::create_dir_all(env.path("files/shared")).unwrap();
    fs::write(env.path("files/shared/tool"), b"#!/bin/sh\n").unwrap();
    set_mode(&env.path("files/shared/tool"), 0o6755);
    set_mode(&env.path("files/shared"), 0o1777);
    let backup = env.backup(&[]);
    let out = env.path("out");
    let mut args = vec![
        "restore",
        backup["id"].as_str().unwrap(),
        "--target",
        out.to_str().unwrap(),
        "--yes",
    ];
    args.extend_from_slice(extra);
    env.ok(&args);
    let shared = out.join("files/shared");
    (mode_of(&shared.join("tool")), mode_of(&shared))
}

#[test]
fn special_mode_bits_come_back_only_from_an_authenticated_manifest() {
    // A plain archive's manifest proves nothing: the bits are dropped, root or not.
    let plain = plain_install();
    assert_eq!(special_bits_after_restore(&plain, &[]), (0o755, 0o777));
    let encrypted = TestEnv::with_directory(&Backend::Sqlite);
    let expected = if coffer::engine::extract::Trust::running_as_root() {
        (0o6755, 0o1777)
    } else {
        (0o755, 0o777)
    };
    assert_eq!(special_bits_after_restore(&encrypted, &[]), expected);
}
