//! Progress moves inside a large file: a backup of one 24 MiB file reports its bytes while
//! the file is read, not once at its end (a 400 MiB file kept the bar at 0 % until the end),
//! and cancelling stops inside the file; deep verification of it reports the same way.

use std::fs;
use std::sync::Mutex;

use coffer::domain::BackupKind;
use coffer::engine::archive_reader::{Plain, StoredDigest};
use coffer::engine::archive_writer::{
    write_archive, ArchiveIdentity, ArchiveOptions, ArchiveSummary,
};
use coffer::engine::keyring::Keyring;
use coffer::engine::manifest::Manifest;
use coffer::engine::progress::{Progress, ProgressSink, Silent};
use coffer::engine::verify::deep_verify;
use coffer::error::Error;

use crate::helpers::*;

/// Remembers every report; asks to stop once it has `stop_after` of them (if set).
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Progress>>,
    stop_after: Option<usize>,
}

impl ProgressSink for Recorder {
    fn report(&self, progress: &Progress) {
        self.seen.lock().unwrap().push(progress.clone());
    }
    fn should_stop(&self) -> bool {
        self.stop_after
            .is_some_and(|n| self.seen.lock().unwrap().len() >= n)
    }
}

const BIG: usize = 24 << 20;

fn back_up(
    dir: &std::path::Path,
    to: &Recorder,
) -> coffer::error::Result<(Vec<u8>, ArchiveSummary)> {
    let root = dir.join("src");
    let source = directory_source(root);
    let mut warnings = Vec::new();
    let snapshot = coffer::sources::snapshot(&source, dir, &Silent, &mut warnings).unwrap();
    let identity = ArchiveIdentity {
        backup_id: "big",
        kind: BackupKind::Full,
        scope: "all",
        created_at: chrono::Utc::now(),
    };
    let options = ArchiveOptions {
        level: 1,
        threads: 2,
        key: None,
    };
    write_archive(Vec::new(), identity, vec![snapshot], None, &options, to)
}

fn one_big_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/big.bin"), random_bytes(BIG, 7)).unwrap();
    dir
}

#[test]
fn the_bar_moves_while_one_large_file_is_archived() {
    let dir = one_big_file();
    let recorder = Recorder::default();
    back_up(dir.path(), &recorder).unwrap();
    let seen = recorder.seen.lock().unwrap().clone();
    let total = BIG as u64;
    assert_eq!(seen[0].bytes_total, total, "{:?}", seen[0]);
    // Reports while the file's bytes go by: the file is not done yet (files_done counts
    // regular files only, so it is 0), and the bytes done are strictly between nothing and
    // everything.
    let inside: Vec<u64> = seen
        .iter()
        .filter(|p| p.bytes_done > 0 && p.bytes_done < total)
        .map(|p| p.bytes_done)
        .collect();
    assert!(
        inside.len() >= 16,
        "about one report per MiB inside the file: {inside:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done));
    assert_eq!(seen.last().unwrap().bytes_done, total);
}

#[test]
fn cancelling_stops_inside_a_large_file() {
    let dir = one_big_file();
    // The plan, the folder, then 1 MiB into the file, then 2 MiB: stop there.
    let recorder = Recorder {
        stop_after: Some(4),
        ..Recorder::default()
    };
    let outcome = back_up(dir.path(), &recorder);
    assert!(
        matches!(outcome, Err(Error::Cancelled)),
        "{:?}",
        outcome.err()
    );
    let seen = recorder.seen.lock().unwrap();
    assert!(
        seen.last().unwrap().bytes_done < BIG as u64 / 2,
        "stopped early in the file: {:?}",
        seen.last()
    );
}

#[test]
fn deep_verification_moves_inside_a_large_file_too() {
    let dir = one_big_file();
    let (archive, summary) = back_up(dir.path(), &Recorder::default()).unwrap();
    let manifest = Manifest::from_json(&summary.manifest_json).unwrap();
    let expected = StoredDigest {
        sha256: summary.sha256.clone(),
        bytes: summary.stored_bytes,
    };
    let (keyring, _) = Keyring::open_or_create(dir.path().join("keys")).unwrap();
    let recorder = Recorder::default();
    let report = deep_verify(
        Box::new(std::io::Cursor::new(archive)),
        &keyring,
        &manifest,
        &sha256_hex(summary.manifest_json.as_bytes()),
        &expected,
        Plain::Allow,
        &recorder,
    )
    .unwrap();
    assert_eq!(report.bytes_checked, BIG as u64);
    let seen = recorder.seen.lock().unwrap();
    let inside = seen
        .iter()
        .filter(|p| p.bytes_done > 0 && p.bytes_done < BIG as u64)
        .count();
    assert!(inside >= 16, "{inside} reports inside the file");
    assert_eq!(seen.last().unwrap().bytes_done, BIG as u64);
}
