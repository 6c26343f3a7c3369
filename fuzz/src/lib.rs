//! The four fuzzed readers of storage bytes, one function each (the targets in
//! `fuzz_targets/` call them; `run.sh` replays `regressions/` through them first), and what
//! they share: a keyring holding the fixed, public fuzzing key (the one `make-seeds.sh`
//! encrypts the seed archives with) and a bounded drain.
//!
//! Errors are the expected outcome of most inputs: only panics, aborts, sanitizer reports,
//! timeouts and memory blow-ups are findings.

use std::io::Read;
use std::sync::OnceLock;

use coffer::engine::compress::GzipReader;
use coffer::engine::crypt::DecryptingReader;
use coffer::engine::keyring::Keyring;
use coffer::engine::manifest::Manifest;
use coffer::engine::restorable::check_manifest;

/// Output read from one input at most: a small input may inflate to gigabytes, which is
/// not a bug (the readers stream), so counting stops there.
const OUTPUT_LIMIT: u64 = 64 << 20;

/// The decrypting reader (header, segment framing, STREAM authentication).
pub fn decrypt(data: &[u8]) {
    if let Ok(mut reader) = DecryptingReader::new(data, keyring()) {
        let _ = drain(&mut reader, OUTPUT_LIMIT);
    }
}

/// The gzip member reader (Coffer's parallel members with their size subfield, or any other
/// gzip); the first byte picks one or two inflate threads.
pub fn gzip(data: &[u8]) {
    let Some((&threads, stream)) = data.split_first() else {
        return;
    };
    let mut reader = GzipReader::with_threads(stream, usize::from(threads % 2) + 1);
    let _ = drain(&mut reader, OUTPUT_LIMIT);
}

/// The tar walk every verify and restore makes (path checks, entry types, manifest last).
pub fn tar_walk(data: &[u8]) {
    let _ = coffer::engine::archive_reader::walk_tar(data, |info, content| {
        assert!(!info.path.is_empty() && !info.path.starts_with('/'));
        drain(content, OUTPUT_LIMIT)
            .map(|_| ())
            .map_err(|e| coffer::error::Error::Archive(e.to_string()))
    });
}

/// The manifest parser and the restore's checks: a manifest that parses passes or fails
/// the checks without panicking, and writes back to JSON that reads as the same manifest.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::from_json(text) else {
        return;
    };
    let sources: Vec<&str> = manifest.sources.iter().map(|s| s.name.as_str()).collect();
    let _ = check_manifest(&manifest, &sources);
    let _ = manifest.chain();
    let _ = (manifest.file_count(), manifest.total_size());
    let again = Manifest::from_json(&manifest.to_json()).expect("a written manifest reads back");
    assert_eq!(again, manifest);
}

/// The key id and bytes of the fuzzing keyring. Not a secret: it only ever encrypts seeds.
pub const KEY_ID: &str = "k-fuzz-seeds";
pub const KEY_HEX: &str = "6675787a2d6f6e6c792d6b65792d6e6f742d612d7365637265742d2d2d2d2d2d";

/// A keyring in a scratch folder holding only [`KEY_ID`], made once per process.
pub fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("coffer-fuzz-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch keyring folder");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let key = dir.join(format!("{KEY_ID}.key"));
        std::fs::write(&key, format!("{KEY_HEX}\n")).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let active = dir.join("active");
        std::fs::write(&active, format!("{KEY_ID}\n")).unwrap();
        std::fs::set_permissions(&active, std::fs::Permissions::from_mode(0o600)).unwrap();
        Keyring::open(&dir).expect("the fuzzing keyring opens")
    })
}

/// Reads `reader` to its end or until `limit` bytes came out.
pub fn drain(reader: &mut dyn Read, limit: u64) -> std::io::Result<u64> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    while total < limit {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    Ok(total)
}
