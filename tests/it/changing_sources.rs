//! Files that vanish, shrink or grow while a backup reads them become warnings on the
//! record, never a crash or a malformed archive.

use std::fs;

use coffer::domain::BackupKind;
use coffer::engine::archive_writer::{write_archive, ArchiveIdentity, ArchiveOptions};
use coffer::engine::progress::Silent;

use crate::helpers::*;

#[test]
fn files_changing_under_the_backup_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("src");
    fs::create_dir_all(&root).unwrap();
    for name in ["stays", "vanishes", "shrinks", "grows"] {
        fs::write(root.join(name), text_bytes(100_000, 1)).unwrap();
    }
    let source = directory_source(root.clone());
    let mut warnings = Vec::new();
    let snapshot = coffer::sources::snapshot(&source, dir.path(), &Silent, &mut warnings).unwrap();
    // The tree changes between listing and reading, as it does on a live server.
    fs::remove_file(root.join("vanishes")).unwrap();
    fs::write(root.join("shrinks"), b"short now").unwrap();
    fs::write(root.join("grows"), text_bytes(300_000, 2)).unwrap();

    let identity = ArchiveIdentity {
        backup_id: "test",
        kind: BackupKind::Full,
        scope: "all",
        created_at: chrono::Utc::now(),
    };
    let options = ArchiveOptions {
        level: 6,
        threads: 2,
        key: None,
    };
    let (bytes, summary) = write_archive(
        Vec::new(),
        identity,
        vec![snapshot],
        None,
        &options,
        &Silent,
    )
    .unwrap();
    let text = summary.warnings.join("\n");
    assert!(text.contains("src/vanishes: vanished"), "{text}");
    assert!(text.contains("src/shrinks: shrank"), "{text}");
    assert!(
        text.contains("src/grows: changed while being read"),
        "{text}"
    );
    assert!(!text.contains("src/stays"), "{text}");
    let manifest = coffer::engine::manifest::Manifest::from_json(&summary.manifest_json).unwrap();
    let paths: Vec<&str> = manifest.files.iter().map(|f| &*f.path).collect();
    assert!(!paths.contains(&"src/vanishes"));
    assert!(paths.contains(&"src/grows"));

    // The archive is still well-formed: GNU tar reads it whole.
    let file = dir.path().join("out.tar.gz");
    fs::write(&file, &bytes).unwrap();
    let list = tool("tar", &["-tzf", file.to_str().unwrap()]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
}
