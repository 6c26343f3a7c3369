//! Reads an archive back: SHA-256 of the stored bytes → (AES-256-GCM) → gzip → tar.
//! Every entry path is checked before anyone sees it: absolute paths, `..`, entries outside a
//! source folder and entry types Coffer never writes (hard links, devices) are refused.
//! The stored-bytes digest is known only once the stream has been read to its very end.
//!
//! Storage is not trusted: with encryption on, a plain (unauthenticated) archive is refused
//! before any entry is read unless the operator allowed it ([`Plain::Allow`], `--allow-plain`),
//! and the result says whether the embedded manifest was read from an authenticated stream.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::compress::GzipReader;
use super::crypt::{is_encrypted, DecryptingReader};
use super::digest::HashingReader;
use super::keyring::Keyring;
use super::manifest::{EntryKind, FORMAT_VERSION, MANIFEST_ENTRY};
use super::read_ahead::ReadAhead;
use super::restorable::{check_path, shown};
use super::stage_clock::{Stage, StageClock};
use crate::error::{Error, IoContext, Result};

/// What the stored bytes hashed to, once fully read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDigest {
    pub sha256: String,
    pub bytes: u64,
}

/// One entry of an archive, with its path already checked.
pub struct EntryInfo {
    /// `<source>/<relative path>` without a trailing slash.
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub link_target: Option<String>,
}

/// Whether an unencrypted archive (or manifest) may be read. Anyone who can write to the
/// storage folder can plant one, so with encryption on it is refused unless the operator
/// says otherwise explicitly (`--allow-plain`); with encryption off every archive is plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    Refuse,
    Allow,
}

impl Plain {
    /// The policy for an install with `encryption` on or off and the operator's `--allow-plain`.
    pub fn policy(encryption: bool, allow_plain: bool) -> Plain {
        if encryption && !allow_plain {
            Plain::Refuse
        } else {
            Plain::Allow
        }
    }

    /// Ok for encrypted bytes, or plain ones when allowed; `what` names them in the refusal.
    pub fn check(self, encrypted: bool, what: &str) -> Result<()> {
        if encrypted || self == Plain::Allow {
            return Ok(());
        }
        Err(Error::Archive(format!(
            "{what} is not encrypted although encryption is on: anyone who can write to the \
             storage folder could have planted it, so it is refused (pass --allow-plain to \
             take unencrypted archives and manifests anyway)"
        )))
    }
}

/// Opens the plain tar stream of a stored archive, decrypting when it is encrypted.
/// Also says whether it was encrypted (and so authenticated).
/// The time each stage below gzip is busy goes to `clock`.
pub fn open_tar_stream(
    stored: Box<dyn Read + Send>,
    keyring: &Keyring,
    clock: &StageClock,
) -> Result<(Box<dyn Read + Send>, DigestTap, bool)> {
    let tap = DigestTap::default();
    let mut buffered = BufReader::with_capacity(1 << 20, tap.wrap(stored, clock));
    let encrypted = is_encrypted(buffered.fill_buf().ctx(|| "reading the archive".into())?);
    let (gzip, tap) = open_gzip_layer_tapped(buffered, tap, keyring)?;
    let gzip = clock.timed(Stage::BelowGzip, gzip);
    // Storage, digest and decryption run a few chunks ahead on their own thread.
    let ahead = ReadAhead::spawn(Box::new(gzip)).ctx(|| "reading the archive".into())?;
    Ok((Box::new(GzipReader::new(ahead)), tap, encrypted))
}

/// The gzip stream inside a stored archive: decrypted when encrypted, passed through when
/// plain. The tap yields the stored bytes' digest once the stream has been read to its end.
pub fn open_gzip_layer(
    stored: Box<dyn Read + Send>,
    keyring: &Keyring,
) -> Result<(Box<dyn Read + Send>, DigestTap)> {
    let tap = DigestTap::default();
    let buffered = BufReader::with_capacity(1 << 20, tap.wrap(stored, &StageClock::default()));
    open_gzip_layer_tapped(buffered, tap, keyring)
}

fn open_gzip_layer_tapped(
    mut buffered: BufReader<TapReader>,
    tap: DigestTap,
    keyring: &Keyring,
) -> Result<(Box<dyn Read + Send>, DigestTap)> {
    let head = buffered.fill_buf().ctx(|| "reading the archive".into())?;
    let gzip: Box<dyn Read + Send> = if is_encrypted(head) {
        Box::new(
            DecryptingReader::new(buffered, keyring)
                .ctx(|| "opening the encrypted archive".into())?,
        )
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(buffered)
    } else if head.is_empty() {
        return Err(Error::Archive("the archive is empty".into()));
    } else {
        return Err(Error::Archive(
            "not a Coffer archive (neither encrypted nor gzip)".into(),
        ));
    };
    Ok((gzip, tap))
}

/// What an archive's embedded manifest says about itself, and the SHA-256 of its bytes
/// (compared with the catalogue's copy, which holds the very same bytes). It is streamed,
/// never held whole: a manifest of a large tree is tens of MiB.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedManifest {
    pub backup_id: String,
    pub sha256: String,
    /// Read from an encrypted archive, so its bytes were authenticated with the key (a plain
    /// archive's manifest proves nothing about who wrote it).
    pub authenticated: bool,
}

#[derive(serde::Deserialize)]
struct ManifestHead {
    format_version: u32,
    backup_id: String,
}

/// Walks every entry of an archive, handing file contents to `visit`, then reads the stream
/// to its end (so truncation and the last encryption segment are checked) and returns what
/// the embedded manifest says and the digest of the stored bytes.
pub fn walk_archive(
    stored: Box<dyn Read + Send>,
    keyring: &Keyring,
    plain: Plain,
    visit: impl FnMut(&EntryInfo, &mut dyn Read) -> Result<()>,
) -> Result<(EmbeddedManifest, StoredDigest)> {
    walk_archive_timed(stored, keyring, plain, &StageClock::default(), visit)
}

/// [`walk_archive`], counting the busy time of fetch, check and decrypt in `clock`.
pub fn walk_archive_timed(
    stored: Box<dyn Read + Send>,
    keyring: &Keyring,
    plain: Plain,
    clock: &StageClock,
    visit: impl FnMut(&EntryInfo, &mut dyn Read) -> Result<()>,
) -> Result<(EmbeddedManifest, StoredDigest)> {
    let (stream, tap, encrypted) = open_tar_stream(stored, keyring, clock)?;
    plain.check(encrypted, "the archive")?;
    let (manifest, mut rest) = walk_entries(stream, visit)?;
    io::copy(&mut rest, &mut io::sink()).ctx(|| "reading the end of the archive".into())?;
    drop(rest);
    let digest = tap
        .result()
        .ok_or_else(|| Error::Archive("the archive stream did not reach its end".into()))?;
    let manifest = manifest.ok_or_else(no_manifest)?;
    Ok((
        EmbeddedManifest {
            backup_id: manifest.0,
            sha256: manifest.1,
            authenticated: encrypted,
        },
        digest,
    ))
}

/// The tar walk of [`walk_archive`] on a plain tar stream (what the `tar_walk` fuzz target
/// reads): the embedded manifest's backup id and SHA-256.
pub fn walk_tar<R: Read>(
    stream: R,
    visit: impl FnMut(&EntryInfo, &mut dyn Read) -> Result<()>,
) -> Result<(String, String)> {
    walk_entries(stream, visit)?.0.ok_or_else(no_manifest)
}

fn no_manifest() -> Error {
    Error::Archive("the archive has no manifest: it is truncated or not a Coffer archive".into())
}

/// Every entry, checked; then the embedded manifest (if one was met) and the rest of the
/// stream, which the caller reads to its end.
fn walk_entries<R: Read>(
    stream: R,
    mut visit: impl FnMut(&EntryInfo, &mut dyn Read) -> Result<()>,
) -> Result<(Option<(String, String)>, R)> {
    let mut archive = tar::Archive::new(stream);
    let mut manifest = None;
    let entries = archive.entries().ctx(|| "reading the archive".into())?;
    for entry in entries {
        let mut entry = entry.ctx(|| "reading the archive".into())?;
        let raw_path = entry.path_bytes().into_owned();
        let path = checked_path(&raw_path)?;
        if manifest.is_some() {
            return Err(Error::Archive(format!(
                "entry `{path}` follows the manifest, which must come last"
            )));
        }
        if path == MANIFEST_ENTRY {
            manifest = Some(read_embedded_manifest(&mut entry)?);
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            other => {
                return Err(Error::Archive(format!(
                    "entry `{path}` has a type Coffer never writes ({other:?}): refused"
                )))
            }
        };
        // Links are created from the manifest (and checked there), never from this text.
        let link_target = match kind {
            EntryKind::Symlink => entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned()),
            _ => None,
        };
        let info = EntryInfo {
            size: if kind == EntryKind::File {
                entry.size()
            } else {
                0
            },
            mode: header
                .mode()
                .ctx(|| format!("reading the mode of `{path}`"))?
                & 0o7777,
            path,
            kind,
            link_target,
        };
        visit(&info, &mut entry)?;
    }
    Ok((manifest, archive.into_inner()))
}

/// The embedded manifest's backup id and the SHA-256 of its bytes.
fn read_embedded_manifest(entry: &mut dyn Read) -> Result<(String, String)> {
    // serde_json reads byte by byte: buffered, or a manifest of many files takes a
    // noticeable part of a restore. Everything read passes the hash below the buffer.
    let mut buffered = BufReader::with_capacity(1 << 16, HashingReader::new(entry));
    let head: ManifestHead = serde_json::from_reader(&mut buffered)
        .map_err(|e| Error::Archive(format!("the embedded manifest is not valid: {e}")))?;
    io::copy(&mut buffered, &mut io::sink()).ctx(|| "reading the manifest".into())?;
    let hashing = buffered.into_inner();
    if head.format_version != FORMAT_VERSION {
        return Err(Error::Archive(format!(
            "the archive has manifest format version {}, this Coffer reads version {FORMAT_VERSION}",
            head.format_version
        )));
    }
    let (_, sha256, _) = hashing.finish();
    Ok((head.backup_id, sha256))
}

/// An archive path must be valid UTF-8 and pass `restorable::check_path` (relative, without
/// empty, `.` or `..` parts, no NUL); a trailing `/` (a folder's) is dropped.
pub fn checked_path(raw: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| Error::Archive("an entry path is not valid UTF-8: refused".into()))?;
    let trimmed = text.trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(Error::Archive(format!(
            "entry `{}` has an empty path: refused",
            shown(text)
        )));
    }
    check_path(trimmed).map_err(Error::Archive)?;
    Ok(trimmed.to_string())
}

/// Counts and hashes the stored bytes as they are read; the result is published at EOF.
#[derive(Clone, Default)]
pub struct DigestTap {
    result: Arc<Mutex<Option<StoredDigest>>>,
}

impl DigestTap {
    fn wrap(&self, inner: Box<dyn Read + Send>, clock: &StageClock) -> TapReader {
        TapReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            result: self.result.clone(),
            clock: clock.clone(),
        }
    }

    pub fn result(&self) -> Option<StoredDigest> {
        self.result.lock().ok()?.clone()
    }
}

struct TapReader {
    inner: Box<dyn Read + Send>,
    hasher: Sha256,
    bytes: u64,
    result: Arc<Mutex<Option<StoredDigest>>>,
    clock: StageClock,
}

impl Read for TapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        let n = self.clock.time(Stage::Fetch, || inner.read(buf))?;
        if n == 0 && !buf.is_empty() {
            if let Ok(mut slot) = self.result.lock() {
                if slot.is_none() {
                    let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
                    *slot = Some(StoredDigest {
                        sha256,
                        bytes: self.bytes,
                    });
                }
            }
        } else {
            let hasher = &mut self.hasher;
            self.clock.time(Stage::Check, || hasher.update(&buf[..n]));
            self.bytes += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "src/../../x",
            "src/./x",
            "./src",
            "",
            "a//b",
            "src/..",
            "src/a\0b",
        ] {
            assert!(checked_path(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(checked_path(b"src/dir/").unwrap(), "src/dir");
        // Control characters are data (macOS `Icon\r`).
        assert_eq!(checked_path(b"src/Icon\r").unwrap(), "src/Icon\r");
        assert_eq!(
            checked_path("src/ünï cödé".as_bytes()).unwrap(),
            "src/ünï cödé"
        );
    }
}
