//! The keyring: archive encryption keys on disk.
//!
//! Layout of the key directory (default `data/keys`, mode 0700):
//! - `<id>.key` — one per key, mode 0600: the 32 key bytes as 64 hex characters and a newline.
//!   Its modification time is the key's creation time.
//! - `active` — mode 0600: the id of the key new archives are encrypted with.
//!
//! Rotation writes a new key file, then switches `active`; old keys stay to read old archives.
//! Every file is written under a temporary name with its final mode, synced, then renamed, so
//! a crash never leaves a half-written key, and permissions are never loosened, even briefly.
//! Key bytes are never logged or printed: `Debug` is written by hand.
//!
//! `import.rs` adds keys from an export (`coffer key import`); `export_record.rs` keeps the
//! `exported` file that says which keys were last exported and when.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

mod export_record;
mod import;
pub use export_record::ExportRecord;
pub use import::{import_keys, ImportedKeys};

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;
use chrono::{DateTime, Utc};

/// Where keys live unless the configuration says otherwise.
pub const DEFAULT_KEY_DIR: &str = "data/keys";

/// A 256-bit archive key.
pub type Key = [u8; 32];

const ACTIVE_FILE: &str = "active";
const KEY_SUFFIX: &str = ".key";

/// What may be shown about a key: never its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub active: bool,
}

struct StoredKey {
    bytes: Key,
    created_at: DateTime<Utc>,
}

/// The keys of one key directory, with the id of the active one.
pub struct Keyring {
    dir: PathBuf,
    keys: BTreeMap<String, StoredKey>,
    active: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("dir", &self.dir)
            .field("active", &self.active)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Loads an existing keyring; a missing directory, malformed key file or missing active
    /// key is an error naming the file at fault.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Keyring> {
        let dir = dir.as_ref();
        let keys = load_keys(dir)?;
        let active_path = dir.join(ACTIVE_FILE);
        let active = match fs::read_to_string(&active_path) {
            Ok(text) => text.trim().to_string(),
            Err(e) if e.kind() == io::ErrorKind::NotFound && keys.is_empty() => {
                return Err(invalid(format!(
                    "no keys in key directory {}",
                    dir.display()
                )))
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "cannot read active key id from {}: {e}",
                        active_path.display()
                    ),
                ))
            }
        };
        if !keys.contains_key(&active) {
            return Err(invalid(format!(
                "{} names key `{active}` as active, but {} does not exist",
                active_path.display(),
                dir.join(format!("{active}{KEY_SUFFIX}")).display()
            )));
        }
        Ok(Keyring {
            dir: dir.to_path_buf(),
            keys,
            active,
        })
    }

    /// Opens the keyring, or creates the directory and a first key when there is none yet.
    /// Returns `true` when a key was created (the caller tells the operator to keep it safe).
    /// A directory that holds keys but no `active` file is an error, not a reason to start over.
    pub fn open_or_create(dir: impl AsRef<Path>) -> io::Result<(Keyring, bool)> {
        let dir = dir.as_ref();
        if !is_blank_key_dir(dir)? {
            return Ok((Keyring::open(dir)?, false));
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| context(e, "cannot create", parent))?;
        }
        match DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(context(e, "cannot create key directory", dir)),
        }
        let mut keyring = Keyring {
            dir: dir.to_path_buf(),
            keys: BTreeMap::new(),
            active: String::new(),
        };
        keyring.rotate()?;
        Ok((keyring, true))
    }

    /// Generates a new key and makes it the active one; older keys are kept for reading.
    pub fn rotate(&mut self) -> io::Result<KeyInfo> {
        let (id, key) = self.write_new_key()?;
        write_private_file(&self.dir, ACTIVE_FILE, format!("{id}\n").as_bytes(), true)?;
        let info = KeyInfo {
            id: id.clone(),
            created_at: key.created_at,
            active: true,
        };
        self.keys.insert(id.clone(), key);
        self.active = id;
        tracing::info!(key_id = %info.id, dir = %self.dir.display(), "new active archive key");
        Ok(info)
    }

    /// Reads the directory again, to see keys another process added or rotated to.
    pub fn reload(&mut self) -> io::Result<()> {
        *self = Keyring::open(&self.dir)?;
        Ok(())
    }

    /// All keys, oldest first.
    pub fn list(&self) -> Vec<KeyInfo> {
        let mut infos: Vec<KeyInfo> = self
            .keys
            .iter()
            .map(|(id, key)| KeyInfo {
                id: id.clone(),
                created_at: key.created_at,
                active: *id == self.active,
            })
            .collect();
        infos.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        infos
    }

    /// The id and bytes of the key new archives are encrypted with.
    pub fn active(&self) -> Option<(&str, &Key)> {
        self.keys
            .get(&self.active)
            .map(|key| (self.active.as_str(), &key.bytes))
    }

    /// The key with this id, to read an archive written with it.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.keys.get(id).map(|key| &key.bytes)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every key with its bytes, oldest first: what `coffer key export` seals.
    pub fn keys_for_export(&self) -> Vec<(KeyInfo, Key)> {
        self.list()
            .into_iter()
            .map(|info| {
                let bytes = self.keys[&info.id].bytes;
                (info, bytes)
            })
            .collect()
    }

    fn write_new_key(&self) -> io::Result<(String, StoredKey)> {
        let mut bytes: Key = [0; 32];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| io::Error::other(format!("cannot get random bytes for a new key: {e}")))?;
        let id = loop {
            let id = new_key_id()?;
            if !self.keys.contains_key(&id) && !self.key_path(&id).exists() {
                break id;
            }
        };
        let name = format!("{id}{KEY_SUFFIX}");
        write_private_file(
            &self.dir,
            &name,
            format!("{}\n", hex::encode(bytes)).as_bytes(),
            false,
        )?;
        let created_at = modified_time(&self.dir.join(&name))?;
        Ok((id, StoredKey { bytes, created_at }))
    }

    fn key_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{KEY_SUFFIX}"))
    }
}

/// Key ids are short and safe anywhere: letters, digits, `-`, `_`, `.`, not starting with `.`.
pub fn is_valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `k-YYYYMMDD-xxxxxx`: sorts by day, random enough to never collide in practice.
fn new_key_id() -> io::Result<String> {
    let mut suffix = [0u8; 3];
    OsRng
        .try_fill_bytes(&mut suffix)
        .map_err(|e| io::Error::other(format!("cannot get random bytes for a key id: {e}")))?;
    Ok(format!(
        "k-{}-{}",
        Utc::now().format("%Y%m%d"),
        hex::encode(suffix)
    ))
}

/// True when the directory is missing or holds no key and no `active` file.
pub fn is_blank_key_dir(dir: &Path) -> io::Result<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(context(e, "cannot read key directory", dir)),
    };
    for entry in entries {
        let name = entry
            .map_err(|e| context(e, "cannot read key directory", dir))?
            .file_name();
        let name = name.to_string_lossy();
        if name == ACTIVE_FILE || (name.ends_with(KEY_SUFFIX) && !name.starts_with('.')) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn load_keys(dir: &Path) -> io::Result<BTreeMap<String, StoredKey>> {
    let entries = fs::read_dir(dir).map_err(|e| context(e, "cannot read key directory", dir))?;
    let mut keys = BTreeMap::new();
    for entry in entries {
        let path = entry
            .map_err(|e| context(e, "cannot read key directory", dir))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // Dot files are our own interrupted temporary files.
        let Some(id) = name
            .strip_suffix(KEY_SUFFIX)
            .filter(|_| !name.starts_with('.'))
        else {
            continue;
        };
        if !is_valid_key_id(id) {
            return Err(invalid(format!(
                "key file {} has an invalid name: ids use letters, digits, '-', '_' and '.'",
                path.display()
            )));
        }
        let bytes = read_key_file(&path)?;
        let created_at = modified_time(&path)?;
        keys.insert(id.to_string(), StoredKey { bytes, created_at });
    }
    Ok(keys)
}

fn read_key_file(path: &Path) -> io::Result<Key> {
    let metadata = fs::metadata(path).map_err(|e| context(e, "cannot read key file", path))?;
    if metadata.len() > 1024 {
        return Err(invalid(format!(
            "malformed key file {}: it is far too long",
            path.display()
        )));
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(file = %path.display(), "key file is readable by others; make it mode 0600");
    }
    let text = fs::read_to_string(path).map_err(|e| context(e, "cannot read key file", path))?;
    let mut key: Key = [0; 32];
    let hex_text = text.trim();
    if hex_text.len() != 64 || hex::decode_to_slice(hex_text, &mut key).is_err() {
        return Err(invalid(format!(
            "malformed key file {}: expected 64 hexadecimal characters (a 32-byte key)",
            path.display()
        )));
    }
    Ok(key)
}

fn modified_time(path: &Path) -> io::Result<DateTime<Utc>> {
    let modified = fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| context(e, "cannot read modification time of", path))?;
    Ok(DateTime::<Utc>::from(modified))
}

/// Writes `dir/name` with mode 0600 from the first byte on: temporary name, sync, rename.
/// Without `replace`, an existing file of that name is an error.
fn write_private_file(dir: &Path, name: &str, contents: &[u8], replace: bool) -> io::Result<()> {
    let path = dir.join(name);
    if !replace && path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", path.display()),
        ));
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(context(e, "cannot remove stale", &tmp)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| context(e, "cannot create", &tmp))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| context(e, "cannot write", &tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(|e| context(e, "cannot rename into place", &path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| context(e, "cannot sync", dir))
}

fn context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_open_creates_a_private_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data/keys");
        let (keyring, created) = Keyring::open_or_create(&dir).unwrap();
        assert!(created);
        let (id, key) = keyring.active().unwrap();
        assert!(
            id.starts_with(&format!("k-{}-", Utc::now().format("%Y%m%d"))),
            "{id}"
        );
        assert_eq!(id.len(), "k-20260101-a1b2c3".len());
        assert!(is_valid_key_id(id));
        assert_ne!(key, &[0u8; 32]);

        assert_eq!(mode(&dir), 0o700);
        let key_file = dir.join(format!("{id}.key"));
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(&dir.join("active")), 0o600);
        assert_eq!(
            fs::read_to_string(&key_file).unwrap(),
            format!("{}\n", hex::encode(key))
        );
        assert_eq!(
            fs::read_to_string(dir.join("active")).unwrap(),
            format!("{id}\n")
        );

        let key = *key;
        let id = id.to_string();
        let (again, created) = Keyring::open_or_create(&dir).unwrap();
        assert!(!created);
        assert_eq!(again.active(), Some((id.as_str(), &key)));
    }

    #[test]
    fn rotation_keeps_old_keys_readable() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut keyring, _) = Keyring::open_or_create(tmp.path().join("keys")).unwrap();
        let (old_id, old_key) = keyring.active().map(|(i, k)| (i.to_string(), *k)).unwrap();
        let info = keyring.rotate().unwrap();
        assert!(info.active);
        assert_ne!(info.id, old_id);
        assert_eq!(keyring.active().unwrap().0, info.id);
        assert_ne!(keyring.active().unwrap().1, &old_key);
        assert_eq!(keyring.get(&old_id), Some(&old_key));

        let mut reopened = Keyring::open(tmp.path().join("keys")).unwrap();
        let newest = keyring.rotate().unwrap();
        assert_eq!(reopened.get(&newest.id), None);
        reopened.reload().unwrap();
        assert_eq!(reopened.active().unwrap().0, newest.id);
        let info = newest;
        let list = reopened.list();
        assert_eq!(list.len(), 3);
        assert_eq!(list.iter().filter(|k| k.active).count(), 1);
        assert_eq!(list.iter().find(|k| k.active).unwrap().id, info.id);
        assert_eq!(reopened.get(&old_id), Some(&old_key));
        assert_eq!(reopened.get("k-unknown"), None);
    }

    #[test]
    fn malformed_key_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let (keyring, _) = Keyring::open_or_create(tmp.path()).unwrap();
        let id = keyring.active().unwrap().0.to_string();
        let path = tmp.path().join(format!("{id}.key"));
        fs::write(&path, "not hex at all\n").unwrap();
        let err = Keyring::open(tmp.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("malformed key file"), "{err}");

        fs::write(&path, format!("{}\n", "ab".repeat(31))).unwrap();
        assert!(Keyring::open(tmp.path())
            .unwrap_err()
            .to_string()
            .contains("malformed"));
    }

    #[test]
    fn missing_or_dangling_active_key_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (keyring, _) = Keyring::open_or_create(tmp.path()).unwrap();
        let active = tmp.path().join("active");

        fs::write(&active, "k-20200101-000000\n").unwrap();
        let err = Keyring::open(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("k-20200101-000000.key"), "{err}");

        fs::remove_file(&active).unwrap();
        let err = Keyring::open(tmp.path()).unwrap_err();
        assert!(
            err.to_string().contains(&active.display().to_string()),
            "{err}"
        );
        // Keys exist: open_or_create must not silently start a new keyring.
        assert!(Keyring::open_or_create(tmp.path()).is_err());
        drop(keyring);
    }

    #[test]
    fn missing_directory_is_an_error_for_open() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Keyring::open(tmp.path().join("nope")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let (keyring, _) = Keyring::open_or_create(tmp.path()).unwrap();
        let (id, key) = keyring.active().unwrap();
        let shown = format!("{keyring:?} {:?}", keyring.list());
        assert!(shown.contains(id));
        assert!(!shown.contains(&hex::encode(key)));
        assert!(!shown.contains(&format!("{:?}", &key[..4])));
    }

    #[test]
    fn key_id_rules() {
        assert!(is_valid_key_id("k-20261121-a1b2c3"));
        for bad in ["", ".hidden", "a/b", "../x", "sp ace", "é", &"x".repeat(65)] {
            assert!(!is_valid_key_id(bad), "{bad}");
        }
    }
}
