//! Adding the keys of an export (`coffer key import`) to a key directory: keys it lacks are
//! written as key files (with their original creation time), keys it holds are left alone,
//! and a key id it holds with other bytes is refused before anything is written. The
//! directory's active key is kept; only a directory without one takes the export's.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use super::{
    context, invalid, is_blank_key_dir, is_valid_key_id, load_keys, write_private_file, Key,
    KeyInfo, ACTIVE_FILE, KEY_SUFFIX,
};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedKeys {
    /// Keys written now.
    pub added: Vec<String>,
    /// Keys the directory already held (same bytes).
    pub present: Vec<String>,
    /// The directory's active key after the import.
    pub active: String,
    /// Whether the export's active key became the directory's (it had none).
    pub took_active: bool,
}

pub fn import_keys(dir: &Path, keys: &[(KeyInfo, Key)], active: &str) -> io::Result<ImportedKeys> {
    if !keys.iter().any(|(info, _)| info.id == active) {
        return Err(invalid(format!(
            "the export names `{active}` as its active key but does not hold it"
        )));
    }
    let existing = if is_blank_key_dir(dir)? {
        Default::default()
    } else {
        load_keys(dir)?
    };
    let mut added = Vec::new();
    let mut present = Vec::new();
    for (info, bytes) in keys {
        if !is_valid_key_id(&info.id) {
            return Err(invalid(format!(
                "the export holds a key with an invalid id `{}`",
                info.id
            )));
        }
        match existing.get(&info.id) {
            Some(stored) if &stored.bytes == bytes => present.push(info.id.clone()),
            Some(_) => {
                return Err(invalid(format!(
                    "key `{}` in the export differs from {}: refusing to replace a key \
                     (archives written with either one would become unreadable)",
                    info.id,
                    dir.join(format!("{}{KEY_SUFFIX}", info.id)).display()
                )))
            }
            None => added.push((info, bytes)),
        }
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| context(e, "cannot create", parent))?;
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(context(e, "cannot create key directory", dir)),
    }
    for (info, bytes) in &added {
        let name = format!("{}{KEY_SUFFIX}", info.id);
        write_private_file(
            dir,
            &name,
            format!("{}\n", hex::encode(bytes)).as_bytes(),
            false,
        )?;
        // The key's creation time is its file's modification time (see the module note).
        let path = dir.join(&name);
        fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(info.created_at.into()))
            .map_err(|e| context(e, "cannot set the creation time of", &path))?;
    }
    let active_path = dir.join(ACTIVE_FILE);
    let (active, took_active) = match fs::read_to_string(&active_path) {
        Ok(text) => (text.trim().to_string(), false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            write_private_file(dir, ACTIVE_FILE, format!("{active}\n").as_bytes(), true)?;
            (active.to_string(), true)
        }
        Err(e) => return Err(context(e, "cannot read", &active_path)),
    };
    Ok(ImportedKeys {
        added: added.into_iter().map(|(info, _)| info.id.clone()).collect(),
        present,
        active,
        took_active,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Keyring;
    use super::*;

    #[test]
    fn import_adds_missing_keys_and_keeps_the_active_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut old, _) = Keyring::open_or_create(tmp.path().join("old")).unwrap();
        old.rotate().unwrap();
        let exported = old.keys_for_export();
        let old_active = old.active().unwrap().0.to_string();

        // Into a lost (missing) directory: everything, with the export's active key.
        let lost = tmp.path().join("lost/keys");
        let done = import_keys(&lost, &exported, &old_active).unwrap();
        assert_eq!(done.added.len(), 2);
        assert!(done.took_active);
        let back = Keyring::open(&lost).unwrap();
        assert_eq!(
            back.list(),
            old.list(),
            "ids, creation times and active key"
        );
        for (info, bytes) in &exported {
            assert_eq!(back.get(&info.id), Some(bytes));
        }

        // Into a new keyring started meanwhile: old keys added, the new active key stays.
        let (fresh, _) = Keyring::open_or_create(tmp.path().join("fresh")).unwrap();
        let fresh_active = fresh.active().unwrap().0.to_string();
        let done = import_keys(fresh.dir(), &exported, &old_active).unwrap();
        assert!(!done.took_active);
        assert_eq!(done.active, fresh_active);
        let merged = Keyring::open(fresh.dir()).unwrap();
        assert_eq!(merged.list().len(), 3);
        assert_eq!(merged.active().unwrap().0, fresh_active);

        // Again: nothing to add. A different key under a known id: refused, nothing written.
        let again = import_keys(fresh.dir(), &exported, &old_active).unwrap();
        assert!(again.added.is_empty() && again.present.len() == 2);
        let mut forged = exported.clone();
        forged[0].1[0] ^= 1;
        let err = import_keys(fresh.dir(), &forged, &old_active).unwrap_err();
        assert!(err.to_string().contains("refusing to replace"), "{err}");
        assert_eq!(Keyring::open(fresh.dir()).unwrap().list().len(), 3);
    }
}
