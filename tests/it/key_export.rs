//! A lost key is not the end of every backup: the keyring exported sealed with a passphrase
//! and imported back, reminders until it is exported, a rotation that will not silently
//! start over while backups' keys are missing, and archives opened without Coffer at all
//! (`tools/coffer-decrypt.py` + `tar`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::helpers::*;

const PASSPHRASE: &str = "a long and private passphrase";

fn write_passphrase(env: &TestEnv) -> String {
    let path = env.path("passphrase");
    fs::write(&path, format!("{PASSPHRASE}\n")).unwrap();
    path.display().to_string()
}

#[test]
fn an_export_brings_back_a_lost_key_directory() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"before the loss").unwrap();
    // The first start says where the key is and how to export it.
    let first = env.run(&["backup", "--json"]);
    assert!(first.status.success());
    let first_log = String::from_utf8_lossy(&first.stderr);
    assert!(
        first_log.contains("coffer key export --out FILE"),
        "{first_log}"
    );
    let backup: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let key_id = backup["key_id"].as_str().unwrap().to_string();

    // Until an export exists, `key list` says so (stdout) and warns (stderr).
    let listed = env.run(&["key", "list"]);
    let (out, err) = (
        String::from_utf8_lossy(&listed.stdout),
        String::from_utf8_lossy(&listed.stderr),
    );
    assert!(
        out.contains("NOT EXPORTED") && out.contains("coffer key export"),
        "{out}"
    );
    assert!(
        err.contains("never been exported") && err.contains(&key_id),
        "{err}"
    );
    assert_eq!(
        env.json(&["key", "list"])[0]["exported_at"],
        serde_json::Value::Null
    );

    // Export with the passphrase from a file (never argv): private, no key in the clear.
    let passphrase_file = write_passphrase(&env);
    let export = env.path("keys.coffer-export");
    let exported = env.json(&[
        "key",
        "export",
        "--out",
        export.to_str().unwrap(),
        "--passphrase-file",
        passphrase_file.as_str(),
    ]);
    assert_eq!(exported["key_ids"], serde_json::json!([key_id]));
    assert_eq!(
        fs::metadata(&export).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let key_hex = fs::read_to_string(env.path(&format!("data/keys/{key_id}.key"))).unwrap();
    let text = fs::read_to_string(&export).unwrap();
    assert!(!text.contains(key_hex.trim()), "the key is sealed");
    let again = env.fails(&[
        "key",
        "export",
        "--out",
        export.to_str().unwrap(),
        "--passphrase-file",
        passphrase_file.as_str(),
    ]);
    assert!(again.contains("already exists"), "{again}");

    // Recorded with its date: `key list` shows it and stops reminding.
    let listed = env.run(&["key", "list"]);
    let out = String::from_utf8_lossy(&listed.stdout);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        out.contains(&format!("exported {today}")) && !out.contains("NOT EXPORTED"),
        "{out}"
    );
    assert!(!String::from_utf8_lossy(&listed.stderr).contains("never been exported"));
    let keys = env.json(&["key", "list"]);
    assert!(
        keys[0]["exported_at"].as_str().unwrap().starts_with(&today),
        "{keys}"
    );

    // The key directory is lost.
    fs::rename(env.path("data/keys"), env.path("lost-keys")).unwrap();
    let refused = env.fails(&["backup"]);
    assert!(
        refused.contains(&key_id) && refused.contains("coffer key import FILE"),
        "{refused}"
    );
    // A wrong passphrase imports nothing.
    fs::write(env.path("wrong"), "not the passphrase at all\n").unwrap();
    let wrong = env.fails(&[
        "key",
        "import",
        export.to_str().unwrap(),
        "--passphrase-file",
        env.path("wrong").to_str().unwrap(),
    ]);
    assert!(wrong.contains("wrong passphrase"), "{wrong}");
    assert!(!env.path("data/keys").exists());

    // The passphrase from the environment (automation) brings every backup back.
    let imported = env
        .command(&["key", "import", export.to_str().unwrap(), "--json"])
        .env("COFFER_KEY_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let imported: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(imported["added"], serde_json::json!([key_id]));
    assert_eq!(imported["active"], key_id.as_str());
    // The file it came from holds the key: no reminder for it.
    assert!(
        !String::from_utf8_lossy(&env.run(&["key", "list"]).stderr).contains("never been exported")
    );
    let target = env.path("out");
    env.ok(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(
        fs::read(target.join("files/a")).unwrap(),
        b"before the loss"
    );
    assert_eq!(
        fs::read_to_string(env.path(&format!("data/keys/{key_id}.key"))).unwrap(),
        key_hex
    );
    env.backup(&[]);
}

#[test]
fn rotation_refuses_to_start_over_while_backups_keys_are_missing() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"data").unwrap();
    let first = env.backup(&[]);
    let old_key = first["key_id"].as_str().unwrap().to_string();
    env.ok(&["key", "rotate"]);
    env.backup(&[]);

    // One key file lost: a rotation names it and says how to get it back.
    let keys_dir = env.path("data/keys");
    fs::rename(keys_dir.join(format!("{old_key}.key")), env.path("old.key")).unwrap();
    let err = env.fails(&["key", "rotate"]);
    assert!(
        err.contains(&format!("{old_key} (1 backup)"))
            && err.contains("coffer key import FILE")
            && err.contains("--accept-missing-keys"),
        "{err}"
    );
    assert_eq!(
        env.json(&["key", "list"]).as_array().unwrap().len(),
        1,
        "no key added"
    );

    // The whole directory lost: no new keyring behind the operator's back either.
    fs::rename(&keys_dir, env.path("lost-keys")).unwrap();
    let err = env.fails(&["key", "rotate"]);
    assert!(
        err.contains(&old_key) && err.contains("coffer key import FILE"),
        "{err}"
    );
    assert!(!keys_dir.exists(), "no key directory was started");

    // Said explicitly, it starts over; the old backups stay unreadable until imported.
    let out = env.ok(&["key", "rotate", "--accept-missing-keys"]);
    assert!(out.contains("new active key"), "{out}");
    env.backup(&[]);
}

/// The archive, decrypted by the Python script (no Coffer), is a .tar.gz that tar reads.
#[test]
fn the_python_script_decrypts_a_real_archive_for_tar() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/hello.txt"), b"hello without coffer\n").unwrap();
    // Several 64 KiB segments, so segment order and the last flag are exercised.
    let big = random_bytes(300 * 1024, 7);
    fs::write(env.path("files/big.bin"), &big).unwrap();
    let backup = env.backup(&[]);
    let archive = env.archive_path(&backup);
    assert!(archive.to_str().unwrap().ends_with(".tar.gz.enc"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/coffer-decrypt.py");
    let keys_dir = env.path("data/keys");

    let plain = env.path("plain.tar.gz");
    let run = decrypt(
        &script,
        &["--key-dir", keys_dir.to_str().unwrap()],
        &archive,
        &plain,
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = env.path("untarred");
    fs::create_dir_all(&out).unwrap();
    let untar = tool(
        "tar",
        &["-xzf", plain.to_str().unwrap(), "-C", out.to_str().unwrap()],
    );
    assert!(
        untar.status.success(),
        "{}",
        String::from_utf8_lossy(&untar.stderr)
    );
    assert_eq!(
        fs::read(out.join("files/hello.txt")).unwrap(),
        b"hello without coffer\n"
    );
    assert_eq!(fs::read(out.join("files/big.bin")).unwrap(), big);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("coffer/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["backup_id"], backup["id"]);

    // With the exported keyring instead of the key directory, into tar's stdin.
    let export = env.path("keys.export");
    let exported = env
        .command(&["key", "export", "--out", export.to_str().unwrap()])
        .env("COFFER_KEY_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "python3 '{}' --export '{}' '{}' | tar -tzf -",
            script.display(),
            export.display(),
            archive.display()
        ))
        .env("COFFER_KEY_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let listing = String::from_utf8(piped.stdout).unwrap();
    assert!(listing.contains("files/big.bin") && listing.contains("coffer/manifest.json"));

    // A changed byte in the middle is refused, and no partial output is left behind.
    let mut bytes = fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let tampered = env.path("tampered.enc");
    fs::write(&tampered, bytes).unwrap();
    let bad = env.path("bad.tar.gz");
    let run = decrypt(
        &script,
        &["--key-dir", keys_dir.to_str().unwrap()],
        &tampered,
        &bad,
    );
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("does not authenticate"));
    assert!(!bad.exists());
    // An archive cut exactly between two segments (its last one gone, every segment left
    // authentic) is refused too: only the last-segment flag can tell. A file already at the
    // output path is left as it was.
    let whole = fs::read(&archive).unwrap();
    let header = 8 + 1 + 1 + usize::from(whole[9]) + 4 + 7;
    let sealed = 64 * 1024 + 16;
    let last = (whole.len() - header - 1) % sealed + 1;
    assert!(
        whole.len() - last > header + sealed,
        "a multi-segment archive"
    );
    fs::write(&tampered, &whole[..whole.len() - last]).unwrap();
    fs::write(&bad, b"an earlier good output").unwrap();
    let run = decrypt(
        &script,
        &["--key-dir", keys_dir.to_str().unwrap()],
        &tampered,
        &bad,
    );
    assert!(!run.status.success());
    assert_eq!(fs::read(&bad).unwrap(), b"an earlier good output");
}

fn decrypt(script: &Path, key: &[&str], archive: &Path, out: &Path) -> std::process::Output {
    Command::new("python3")
        .arg(script)
        .args(key)
        .arg(archive)
        .arg("-o")
        .arg(out)
        .output()
        .expect("python3 runs")
}
