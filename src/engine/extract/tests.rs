//! Extraction against real folders: links come back as stored, and no link — in the archive
//! or planted in the staging folder — ever redirects a write.

use std::collections::HashMap;
use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{extract, ArchiveSource, ExtractPlan, Trust};
use crate::domain::{BackupKind, SourceKind};
use crate::engine::archive_reader::{Plain, StoredDigest};
use crate::engine::keyring::Keyring;
use crate::engine::manifest::{EntryKind, FileEntry, Manifest, Sha256Sum, SourceEntry};
use crate::engine::progress::Silent;
use crate::error::Result;

enum Item<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8]),
    FileWithMode(&'a str, &'a [u8], u32),
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
            Item::FileWithMode(path, content, mode) => (path, EntryKind::File, mode, content, None),
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
            snapshot_at: None,
            facts: None,
            base_backup: None,
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
    extract(
        plan,
        archive,
        &keyring,
        &trust_of(plan.manifest, true),
        &Silent,
    )
}

/// Trust in the catalogue copy `manifest`, plain archives allowed, special bits as `root` says.
fn trust_of(manifest: &Manifest, root: bool) -> Trust<'static> {
    let digest = hex::encode(Sha256::digest(manifest.to_json().as_bytes()));
    Trust {
        manifest_sha256: Box::leak(digest.into_boxed_str()),
        plain: Plain::Allow,
        may_grant_special_bits: root,
    }
}

/// `archive` sealed with the keyring's active key.
fn encrypted(archive: &InMemory, keyring: &Keyring) -> InMemory {
    use std::io::Write;
    let (id, key) = keyring.active().unwrap();
    let mut sealed = crate::engine::crypt::EncryptingWriter::new(Vec::new(), key, id).unwrap();
    sealed.write_all(&archive.0).unwrap();
    InMemory(sealed.finish().unwrap())
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

#[test]
fn a_catalogue_manifest_that_differs_from_the_archive_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let staging = tmp.path().join("staging");
    let (real, archive) = backup(&[Item::Dir("src", 0o755), Item::File("src/a", b"a")]);
    // What a replaced sidecar could say: same files, a setuid mode, and a planted link.
    let mut forged = real.clone();
    forged.files[1].mode = 0o6777;
    forged.files.push(FileEntry {
        path: "src/planted-link".into(),
        kind: EntryKind::Symlink,
        size: 0,
        mode: 0o777,
        mtime_ns: MTIME_NS,
        sha256: None,
        link_target: Some("/etc".into()),
        stored_in: None,
    });
    let plan = ExtractPlan::select(&forged, &["src".into()], None, staged_at(&staging)).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (keyring, _) = Keyring::open_or_create(keys.path()).unwrap();
    let err = extract(&plan, &archive, &keyring, &trust_of(&forged, true), &Silent).unwrap_err();
    assert!(
        err.to_string().contains("differs from the one inside"),
        "{err}"
    );
    assert!(
        !staging.exists(),
        "a refused manifest leaves nothing (its link was never created)"
    );
    // An archive that is not encrypted is refused outright when plain archives are not allowed.
    let plan = ExtractPlan::select(&real, &["src".into()], None, staged_at(&staging)).unwrap();
    let refuse = Trust {
        plain: Plain::Refuse,
        ..trust_of(&real, true)
    };
    let err = extract(&plan, &archive, &keyring, &refuse, &Silent).unwrap_err();
    assert!(err.to_string().contains("not encrypted"), "{err}");
    assert!(!staging.exists());
}

#[test]
fn special_mode_bits_need_an_authenticated_manifest_and_root() {
    let mode_after = |encrypt: bool, root: bool| {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("staging");
        let (manifest, archive) = backup(&[
            Item::Dir("src", 0o1777),
            Item::FileWithMode("src/tool", b"#!/bin/sh\n", 0o6755),
        ]);
        let keys = tempfile::tempdir().unwrap();
        let (keyring, _) = Keyring::open_or_create(keys.path()).unwrap();
        let archive = if encrypt {
            encrypted(&archive, &keyring)
        } else {
            archive
        };
        let plan =
            ExtractPlan::select(&manifest, &["src".into()], None, staged_at(&staging)).unwrap();
        extract(
            &plan,
            &archive,
            &keyring,
            &trust_of(&manifest, root),
            &Silent,
        )
        .unwrap();
        let file = fs::metadata(staging.join("tool"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        let folder = fs::metadata(&staging).unwrap().permissions().mode() & 0o7777;
        (file, folder)
    };
    // (The process granting them must be root; this one may not be, so `root` is what it
    // is told, and what is asserted is only the rule's other half when it is not root.)
    if Trust::running_as_root() {
        assert_eq!(mode_after(true, true), (0o6755, 0o1777));
    }
    assert_eq!(mode_after(true, false), (0o755, 0o777));
    assert_eq!(
        mode_after(false, true),
        (0o755, 0o777),
        "a plain archive proves nothing"
    );
    assert_eq!(mode_after(false, false), (0o755, 0o777));
}

/// Remembers the bytes done of every report, and asks to stop after `stop_after` (if set).
#[derive(Default)]
struct Recorder {
    seen: std::sync::Mutex<Vec<u64>>,
    stop_after: Option<usize>,
}

impl crate::engine::progress::ProgressSink for Recorder {
    fn report(&self, progress: &crate::engine::progress::Progress) {
        self.seen.lock().unwrap().push(progress.bytes_done);
    }
    fn should_stop(&self) -> bool {
        self.stop_after
            .is_some_and(|n| self.seen.lock().unwrap().len() >= n)
    }
}

fn extract_reporting(
    manifest: &Manifest,
    archive: &InMemory,
    staging: &Path,
    to: &Recorder,
) -> Result<()> {
    let plan = ExtractPlan::select(manifest, &["src".into()], None, staged_at(staging))?;
    let keys = tempfile::tempdir().unwrap();
    let (keyring, _) = Keyring::open_or_create(keys.path()).unwrap();
    extract(
        &plan,
        archive,
        &keyring,
        &trust_of(plan.manifest, false),
        to,
    )
}

#[test]
fn a_large_file_reports_progress_while_it_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (manifest, archive) = backup(&[Item::Dir("src", 0o750), Item::File("src/big.bin", &big)]);
    let recorder = Recorder::default();
    extract_reporting(&manifest, &archive, &tmp.path().join("staging"), &recorder).unwrap();
    let seen = recorder.seen.lock().unwrap().clone();
    let total = big.len() as u64;
    let inside: Vec<&u64> = seen.iter().filter(|b| **b > 0 && **b < total).collect();
    assert!(
        inside.len() >= 8,
        "the bar moves inside the one file: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&total));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[test]
fn cancelling_stops_inside_a_large_file_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let big = vec![3u8; 8 << 20];
    let (manifest, archive) = backup(&[Item::Dir("src", 0o750), Item::File("src/big.bin", &big)]);
    // The first report is the plan; the third falls 2 MiB into the file.
    let recorder = Recorder {
        stop_after: Some(3),
        ..Recorder::default()
    };
    let staging = tmp.path().join("staging");
    let outcome = extract_reporting(&manifest, &archive, &staging, &recorder);
    assert!(
        matches!(outcome, Err(crate::error::Error::Cancelled)),
        "{outcome:?}"
    );
    assert!(!staging.exists() || empty(&staging));
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "stopped inside the file: {seen:?}");
}
