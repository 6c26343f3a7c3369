//! The manifest's JSON is part of archive format v1: the compact in-memory form must read
//! what earlier versions wrote and write it back byte for byte.

use std::sync::Arc;

use super::*;

/// Written by Coffer before the compact form (a full backup: folder, file, link).
const FULL: &str = r#"{"format_version":1,"backup_id":"01a1fd78-787b-7799-8823-83c04cd1b78e","kind":"full","parent":null,"created_at":"2026-11-21T09:38:13.243155Z","scope":"all","sources":[{"name":"src","service":"demo","kind":"directory","origin":"/tmp/mem-fmt/src"}],"files":[{"path":"src","kind":"dir","size":0,"mode":493,"mtime_ns":1795253893145593880},{"path":"src/a.txt","kind":"file","size":6,"mode":384,"mtime_ns":1795253893141593880,"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},{"path":"src/link","kind":"symlink","size":0,"mode":511,"mtime_ns":1795253893145593880,"link_target":"a.txt"},{"path":"src/sub","kind":"dir","size":0,"mode":493,"mtime_ns":1795253893141593880},{"path":"src/sub/b.txt","kind":"file","size":4,"mode":420,"mtime_ns":1795253893141593880,"sha256":"abc6fd595fc079d3114d4b71a4d84b1d1d0f79df1e70f8813212f2a65d8916df"},{"path":"src/sub/gone.txt","kind":"file","size":5,"mode":420,"mtime_ns":1795253893141593880,"sha256":"4b9f2c32577beb1ebc8ab2a1e226faaa9176a81cd4eedbaa22f8a0db919972b5"}]}"#;

/// Its incremental, by the same version: `stored_in` and `deleted`.
const INCREMENTAL: &str = r#"{"format_version":1,"backup_id":"01a1fd78-7ca8-75c7-b03a-699df32217f0","kind":"incremental","parent":"01a1fd78-787b-7799-8823-83c04cd1b78e","created_at":"2026-11-21T09:38:14.312634Z","scope":"all","sources":[{"name":"src","service":"demo","kind":"directory","origin":"/tmp/mem-fmt/src"}],"files":[{"path":"src","kind":"dir","size":0,"mode":493,"mtime_ns":1795253893145593880},{"path":"src/a.txt","kind":"file","size":6,"mode":384,"mtime_ns":1795253893141593880,"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","stored_in":"01a1fd78-787b-7799-8823-83c04cd1b78e"},{"path":"src/link","kind":"symlink","size":0,"mode":511,"mtime_ns":1795253893145593880,"link_target":"a.txt"},{"path":"src/sub","kind":"dir","size":0,"mode":493,"mtime_ns":1795253894289593843},{"path":"src/sub/b.txt","kind":"file","size":12,"mode":420,"mtime_ns":1795253894289593843,"sha256":"e7943e399297f99d47f2c614675a1da0974c3ff3f23a0432a6dbff8e427e534f"}],"deleted":["src/sub/gone.txt"]}"#;

#[test]
fn earlier_manifests_read_and_write_back_byte_for_byte() {
    for text in [FULL, INCREMENTAL] {
        let manifest = Manifest::from_json(text).expect("an earlier manifest reads");
        assert_eq!(manifest.to_json(), text);
        assert_eq!(manifest.to_json_sized(), text);
    }
}

#[test]
fn fields_keep_their_meaning() {
    let manifest = Manifest::from_json(INCREMENTAL).expect("reads");
    let file = &manifest.files[1];
    assert_eq!(&*file.path, "src/a.txt");
    assert_eq!(
        file.sha256.expect("has a digest").to_string(),
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    assert_eq!(
        manifest.holder_of(file),
        "01a1fd78-787b-7799-8823-83c04cd1b78e"
    );
    assert_eq!(manifest.holder_of(&manifest.files[4]), manifest.backup_id);
    assert_eq!(manifest.files[2].link_target.as_deref(), Some("a.txt"));
    assert_eq!(
        manifest.chain(),
        vec![
            "01a1fd78-7ca8-75c7-b03a-699df32217f0".to_string(),
            "01a1fd78-787b-7799-8823-83c04cd1b78e".to_string()
        ]
    );
}

#[test]
fn entries_held_by_the_same_backup_share_its_id() {
    let entry = |path: &str| {
        format!(
            r#"{{"path":"{path}","kind":"file","size":1,"mode":420,"mtime_ns":0,"sha256":"{}","stored_in":"older"}}"#,
            "ab".repeat(32)
        )
    };
    let text = INCREMENTAL.replace(
        r#"{"path":"src","kind":"dir""#,
        &format!(
            r#"{},{},{{"path":"src","kind":"dir""#,
            entry("src/x"),
            entry("src/y")
        ),
    );
    let manifest = Manifest::from_json(&text).expect("reads");
    let held: Vec<&Arc<str>> = manifest
        .files
        .iter()
        .filter_map(|f| f.stored_in.as_ref())
        .collect();
    assert_eq!(held.len(), 3);
    assert!(
        Arc::ptr_eq(held[0], held[1]),
        "the same id is one allocation"
    );
    assert!(!Arc::ptr_eq(held[0], held[2]), "another id is another one");
    assert_eq!(manifest.to_json(), text);
}

#[test]
fn a_malformed_checksum_is_a_clear_error() {
    for bad in ["5891", &"zz".repeat(32), &"ab".repeat(33)] {
        let text = FULL.replace(
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
            bad,
        );
        let err = Manifest::from_json(&text).expect_err("refused");
        assert!(err.contains("manifest is not valid"), "{err}");
        assert!(err.contains("SHA-256"), "{err}");
    }
}

#[test]
fn sizes_from_a_hostile_manifest_saturate_instead_of_overflowing() {
    // Found by review while writing the `manifest` fuzz target: sizes are storage's word.
    let huge = FULL.replace("\"size\":6,", "\"size\":18446744073709551615,");
    let manifest = Manifest::from_json(&huge).expect("reads");
    assert_eq!(manifest.total_size(), u64::MAX);
}
