//! Damaged archives are caught by verify and restore, and a failed restore changes nothing.

use std::fs;

use crate::helpers::*;

fn setup() -> (TestEnv, serde_json::Value) {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    for i in 0..40 {
        fs::write(files.join(format!("f{i}.txt")), text_bytes(20_000, i)).unwrap();
    }
    fs::write(files.join("noise.bin"), random_bytes(400_000, 9)).unwrap();
    let backup = env.backup(&[]);
    (env, backup)
}

/// Damage must fail deep verify and a restore over the original, leaving it untouched.
fn assert_damage_detected(env: &TestEnv, backup: &serde_json::Value, what: &str) {
    let id = backup["id"].as_str().unwrap();
    let files = env.path("files");
    fs::write(files.join("f0.txt"), b"current content that must survive").unwrap();
    let before = snapshot_tree(&files);

    let deep = env.fails(&["verify", id, "--deep"]);
    assert!(deep.contains("failed verification"), "{what}: {deep}");
    let quick = env.fails(&["verify", id]);
    assert!(quick.contains("failed verification"), "{what}: {quick}");
    let restore = env.fails(&["restore", id, "--yes"]);
    assert!(restore.starts_with("error:"), "{what}: {restore}");
    assert_eq!(before, snapshot_tree(&files), "{what}: the target changed");
    let alt = env.fails(&[
        "restore",
        id,
        "--target",
        env.path("alt").to_str().unwrap(),
        "--yes",
    ]);
    assert!(alt.starts_with("error:"), "{what}: {alt}");
    assert!(
        !env.path("alt/files").exists(),
        "{what}: nothing is left behind"
    );
    let shown = env.json(&["show", id]);
    assert_eq!(shown["verify_state"], "failed", "{what}");
}

#[test]
fn a_flipped_byte_anywhere_is_detected() {
    let (env, backup) = setup();
    let path = env.archive_path(&backup);
    let original = fs::read(&path).unwrap();
    for offset in [
        0usize,
        20,
        original.len() / 3,
        original.len() / 2,
        original.len() - 1,
    ] {
        let mut damaged = original.clone();
        damaged[offset] ^= 0x01;
        fs::write(&path, &damaged).unwrap();
        assert_damage_detected(&env, &backup, &format!("flip at {offset}"));
    }
}

#[test]
fn truncation_is_detected() {
    let (env, backup) = setup();
    let path = env.archive_path(&backup);
    let original = fs::read(&path).unwrap();
    for keep in [
        original.len() - 1,
        original.len() - 20,
        original.len() / 2,
        100,
    ] {
        fs::write(&path, &original[..keep]).unwrap();
        assert_damage_detected(&env, &backup, &format!("truncated to {keep}"));
    }
}

#[test]
fn swapped_segments_are_detected_even_with_a_matching_checksum() {
    let (env, backup) = setup();
    let path = env.archive_path(&backup);
    let original = fs::read(&path).unwrap();
    let segment = coffer::engine::crypt::SEGMENT_SIZE as usize + 16;
    let header_len = coffer::engine::crypt::read_header(&mut &original[..])
        .unwrap()
        .to_bytes()
        .len();
    assert!(
        original.len() > header_len + 3 * segment,
        "archive spans several segments"
    );
    let mut swapped = original.clone();
    let (a, b) = (header_len, header_len + segment);
    swapped[a..a + segment].copy_from_slice(&original[b..b + segment]);
    swapped[b..b + segment].copy_from_slice(&original[a..a + segment]);
    fs::write(&path, &swapped).unwrap();
    // Even an attacker who also rewrites the recorded checksum is caught by authentication.
    let app = env.app();
    let mut conn = app.conn().unwrap();
    use coffer::db::schema::backup_records::dsl;
    use diesel::prelude::*;
    diesel::update(dsl::backup_records.find(backup["id"].as_str().unwrap()))
        .set(dsl::sha256.eq(sha256_hex(&swapped)))
        .execute(&mut *conn)
        .unwrap();
    let id = backup["id"].as_str().unwrap();
    let deep = env.fails(&["verify", id, "--deep"]);
    assert!(
        deep.contains("authentication") || deep.contains("tampered"),
        "{deep}"
    );
    assert!(env
        .fails(&[
            "restore",
            id,
            "--target",
            env.path("alt").to_str().unwrap(),
            "--yes"
        ])
        .contains("tampered"));
}

#[test]
fn the_wrong_key_is_reported_clearly() {
    let (env, backup) = setup();
    let id = backup["id"].as_str().unwrap();
    let keys = env.path("data/keys");
    let key_id = backup["key_id"].as_str().unwrap();
    let key_file = keys.join(format!("{key_id}.key"));
    // Same id, other key bytes: authentication fails.
    let real = fs::read(&key_file).unwrap();
    fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let err = env.fails(&["verify", id, "--deep"]);
    assert!(err.contains("failed verification"), "{err}");
    fs::write(&key_file, &real).unwrap();
    env.ok(&["verify", id, "--deep"]);
}

/// Replaces a backup's archive with one holding `entries` (raw tar names of files) plus the
/// original manifest, encrypted with the real key and with a matching recorded checksum:
/// what an attacker controlling both storage and catalogue could plant.
fn plant_archive(env: &TestEnv, backup: &serde_json::Value, entries: Planted) {
    use diesel::prelude::*;
    use std::io::Write;
    let app = env.app();
    let id = backup["id"].as_str().unwrap();
    let manifest = coffer::db::Manifest::load(&mut app.conn().unwrap(), id)
        .unwrap()
        .unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for name in entries {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_mode(0o644);
        header.set_size(4);
        header.set_cksum();
        tar.append(&header, &b"evil"[..]).unwrap();
    }
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "coffer/manifest.json", manifest.as_bytes())
        .unwrap();
    let gz = tar.into_inner().unwrap().finish().unwrap();
    let keyring = app.keyring();
    let (key_id, key) = keyring.active().unwrap();
    let mut sealed = coffer::engine::crypt::EncryptingWriter::new(Vec::new(), key, key_id).unwrap();
    sealed.write_all(&gz).unwrap();
    let bytes = sealed.finish().unwrap();
    fs::write(env.archive_path(backup), &bytes).unwrap();
    use coffer::db::schema::backup_records::dsl;
    diesel::update(dsl::backup_records.find(id))
        .set((
            dsl::sha256.eq(sha256_hex(&bytes)),
            dsl::size_bytes.eq(bytes.len() as i64),
        ))
        .execute(&mut *app.conn().unwrap())
        .unwrap();
}

/// Raw tar names of files to plant.
type Planted<'a> = &'a [&'a str];

#[test]
fn path_traversal_is_refused() {
    // (Links are data, restored wherever they point: `links.rs` covers them.)
    let cases: [(Planted, &str); 2] = [
        (&["files/../../evil.txt"], "climbs out"),
        (&["/tmp/coffer-evil-absolute.txt"], "absolute"),
    ];
    for (entries, expected) in cases {
        let (env, backup) = setup();
        plant_archive(&env, &backup, entries);
        let id = backup["id"].as_str().unwrap();
        let out = env.path("out");
        let err = env.fails(&["restore", id, "--target", out.to_str().unwrap(), "--yes"]);
        assert!(
            err.contains(expected) && err.contains("refused"),
            "{entries:?}: {err}"
        );
        assert!(!env.dir.path().join("evil.txt").exists());
        assert!(!env.dir.path().parent().unwrap().join("evil.txt").exists());
        assert!(!std::path::Path::new("/tmp/coffer-evil-absolute.txt").exists());
        assert!(!out.join("files").exists(), "nothing is left behind");
        let verify = env.fails(&["verify", id, "--deep"]);
        assert!(verify.contains("refused"), "{verify}");
    }
}
