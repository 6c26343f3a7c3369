//! Extraction against real folders: links come back as stored, and no link — in the archive
//! or planted in the staging folder — ever redirects a write.

use std::collections::HashMap;
use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{extract, ArchiveSource, ExtractPlan};
use crate::domain::{BackupKind, SourceKind};
use crate::engine::archive_reader::StoredDigest;
use crate::engine::keyring::Keyring;
use crate::engine::manifest::{EntryKind, FileEntry, Manifest, Sha256Sum, SourceEntry};
use crate::engine::progress::Silent;
use crate::error::Result;

enum Item<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
}

/// An archive held in memory (plain `.tar.gz`).
struct InMemory(Vec<u8>);

impl ArchiveSource for InMemory {
    fn open(&self, _: &str) -> Result<(Box<dyn Read + Send>, StoredDigest)> {
        let digest = StoredDigest {
            sha256: hex::encode(Sha256::digest(&self.0)),
            bytes: self.0.len() as u64,
        };
        Ok((Box::new(Cursor::new(self.0.clone())), digest))
    }
}

const MTIME_NS: i64 = 1_600_000_000_123_456_789;

/// A backup of source `src` holding `items`: its manifest and its archive, in agreement.
fn backup(items: &[Item]) -> (Manifest, InMemory) {
    let mut files = Vec::new();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for item in items {
        let (path, kind, mode, content, target) = match *item {
            Item::Dir(path, mode) => (path, EntryKind::Dir, mode, &b""[..], None),
            Item::File(path, content) => (path, EntryKind::File, 0o640, content, None),
            Item::Link(path, target) => (path, EntryKind::Symlink, 0o777, &b""[..], Some(target)),
        };
        let mut header =
            crate::engine::archive_writer::tar_header(kind, mode, MTIME_NS, content.len() as u64);
        match target {
            Some(target) => tar.append_link(&mut header, path, target).unwrap(),
            None => tar.append_data(&mut header, path, content).unwrap(),
        }
        files.push(FileEntry {
            path: path.into(),
            kind,
            size: content.len() as u64,
            mode,
            mtime_ns: MTIME_NS,
            sha256: (kind == EntryKind::File).then(|| {
                let mut hasher = Sha256::new();
                hasher.update(content);
                Sha256Sum::of(hasher)
            }),
            link_target: target.map(Into::into),
            stored_in: None,
        });
    }
    let manifest = Manifest {
        format_version: crate::engine::manifest::FORMAT_VERSION,
        backup_id: "b".into(),
        kind: BackupKind::Full,
        parent: None,
        created_at: chrono::Utc::now(),
        scope: "all".into(),
        sources: vec![SourceEntry {
            name: "src".into(),
            service: "app".into(),
            kind: SourceKind::Directory,
            origin: "/nowhere".into(),
        }],
        files,
        deleted: vec![],
    };
    let json = manifest.to_json();
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(
        &mut header,
        crate::engine::manifest::MANIFEST_ENTRY,
        json.as_bytes(),
    )
    .unwrap();
    let archive = tar.into_inner().unwrap().finish().unwrap();
    (manifest, InMemory(archive))
}

/// Extracts every entry of the backup into `staging`, selected as a restore does.
fn restore(manifest: &Manifest, archive: &InMemory, staging: &Path) -> Result<()> {
    let plan = ExtractPlan::select(manifest, &["src".into()], None, staged_at(staging))?;
    extract_plan(&plan, archive)
}

fn extract_plan(plan: &ExtractPlan, archive: &InMemory) -> Result<()> {
    let keys = tempfile::tempdir().unwrap();
    let (keyring, _) = Keyring::open_or_create(keys.path()).unwrap();
    extract(plan, archive, &keyring, &Silent)
}

fn staged_at(staging: &Path) -> HashMap<String, PathBuf> {
    HashMap::from([("src".to_string(), staging.to_path_buf())])
}

fn empty(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn links_are_restored_exactly_as_stored_wherever_they_point() {
    let tmp = tempfile::tempdir().unwrap();
    let staging = tmp.path().join("staging");
    let (manifest, archive) = backup(&[
        Item::Dir("src", 0o750),
        Item::Dir("src/docs", 0o555),
        Item::File("src/docs/readme.txt", b"read me"),
        Item::Link("src/host", "/etc/hostname"),
        Item::Link("src/dangling", "../outside"),
        Item::Link("src/current", "/srv/app/releases/42"),
        Item::Link("src/readme", "docs/readme.txt"),
        Item::Link("src/docs-link", "docs"),
    ]);
    restore(&manifest, &archive, &staging).unwrap();
    for (name, target) in [
        ("host", "/etc/hostname"),
        ("dangling", "../outside"),
        ("current", "/srv/app/releases/42"),
        ("readme", "docs/readme.txt"),
        ("docs-link", "docs"),
    ] {
        let link = staging.join(name);
        assert_eq!(fs::read_link(&link).unwrap(), Path::new(target), "{name}");
        let meta = fs::symlink_metadata(&link).unwrap();
        assert_eq!(meta.mtime_nsec(), MTIME_NS % 1_000_000_000, "{name}");
    }
    let readme = staging.join("docs/readme.txt");
    assert_eq!(fs::read(&readme).unwrap(), b"read me");
    let meta = fs::metadata(&readme).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta.mtime_nsec(), MTIME_NS % 1_000_000_000);
    let docs = fs::metadata(staging.join("docs")).unwrap();
    assert_eq!(docs.permissions().mode() & 0o7777, 0o555);
    assert_eq!(docs.mtime(), MTIME_NS / 1_000_000_000);
    assert_eq!(
        fs::metadata(&staging).unwrap().permissions().mode() & 0o7777,
        0o750
    );
    // So the temporary folder can be removed when not running as root.
    fs::set_permissions(staging.join("docs"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_link_planted_in_the_staging_folder_never_redirects_a_write() {
    // A folder the archive fills, and a file it writes, both replaced by links beforehand.
    for planted in ["docs", "docs/readme.txt", "top.txt"] {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        let staging = tmp.path().join("staging");
        let at = staging.join(planted);
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        let aim = if planted == "docs" {
            outside.clone()
        } else {
            outside.join("hijacked.txt")
        };
        symlink(&aim, &at).unwrap();
        let (manifest, archive) = backup(&[
            Item::Dir("src", 0o755),
            Item::File("src/top.txt", b"top"),
            Item::Dir("src/docs", 0o755),
            Item::File("src/docs/readme.txt", b"read me"),
        ]);
        let err = restore(&manifest, &archive, &staging).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("refused") || text.contains("File exists"),
            "{planted}: {text}"
        );
        assert!(empty(&outside), "{planted}: written through the link");
    }
}

#[test]
fn a_staging_folder_that_is_a_link_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let staging = tmp.path().join("staging");
    symlink(&outside, &staging).unwrap();
    let (manifest, archive) = backup(&[Item::Dir("src", 0o755), Item::File("src/a", b"a")]);
    let err = restore(&manifest, &archive, &staging).unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(empty(&outside));
}

#[test]
fn an_entry_below_a_link_of_the_same_archive_is_refused_before_anything_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("somewhere-outside");
    fs::create_dir_all(&outside).unwrap();
    let staging = tmp.path().join("staging");
    let (manifest, archive) = backup(&[
        Item::Dir("src", 0o755),
        Item::Link("src/evil", outside.to_str().unwrap()),
        Item::File("src/evil/x", b"evil"),
    ]);
    let err = restore(&manifest, &archive, &staging).unwrap_err();
    assert!(
        err.to_string().contains("below the link `src/evil`"),
        "{err}"
    );
    assert!(!staging.exists(), "nothing is created before the checks");

    // Even a plan that skipped the checks writes nothing through the link: the extractor
    // makes `evil` a folder for `x`, and then cannot create the link over it.
    let plan = ExtractPlan {
        manifest: &manifest,
        wanted: manifest.files.iter().collect(),
        staging: staged_at(&staging),
    };
    assert!(extract_plan(&plan, &archive).is_err());
    assert!(empty(&outside), "written through the link");
}
