//! Whether a symlink, once restored, leads outside its source folder. Links are resolved
//! together with the other links of the same backup: `a/up → ..` and `esc → a/up/..` are
//! each harmless alone and escape together.

use std::collections::{HashMap, VecDeque};

use super::manifest::{EntryKind, Manifest};
use crate::error::{Error, Result};

/// Resolution gives up after this many links, like the kernel's ELOOP.
const MAX_HOPS: usize = 40;

pub struct LinkMap<'a> {
    targets: HashMap<&'a str, &'a str>,
}

impl<'a> LinkMap<'a> {
    pub fn new(manifest: &'a Manifest) -> Self {
        let targets = manifest
            .files
            .iter()
            .filter(|f| f.kind == EntryKind::Symlink)
            .filter_map(|f| Some((&*f.path, f.link_target.as_deref()?)))
            .collect();
        LinkMap { targets }
    }

    /// Ok when the link at `path` (an archive path) resolves inside its own source folder.
    pub fn check(&self, path: &str, target: &str) -> Result<()> {
        if self.escapes(path, target) {
            return Err(Error::Archive(format!(
                "link `{path}` → `{target}` points outside the restore target: refused"
            )));
        }
        Ok(())
    }

    pub fn escapes(&self, path: &str, target: &str) -> bool {
        let mut parts = path.split('/');
        let source = parts.next().unwrap_or_default();
        let mut inside: Vec<&str> = parts.collect();
        inside.pop(); // the link's own name: resolution starts in its folder
        let mut pending: VecDeque<&str> = VecDeque::new();
        if push_target(&mut pending, target).is_err() {
            return true;
        }
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            match part {
                "" | "." => {}
                ".." => {
                    if inside.pop().is_none() {
                        return true;
                    }
                }
                name => {
                    inside.push(name);
                    let here = format!("{source}/{}", inside.join("/"));
                    if let Some(next) = self.targets.get(here.as_str()) {
                        hops += 1;
                        inside.pop();
                        if hops > MAX_HOPS || push_target(&mut pending, next).is_err() {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

/// Puts a link target's components in front of what is left to resolve.
fn push_target<'a>(
    pending: &mut VecDeque<&'a str>,
    target: &'a str,
) -> std::result::Result<(), ()> {
    if target.is_empty() || target.starts_with('/') {
        return Err(());
    }
    for part in target.split('/').rev() {
        pending.push_front(part);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::FileEntry;

    fn manifest(links: &[(&str, &str)]) -> Manifest {
        let files = links
            .iter()
            .map(|(path, target)| FileEntry {
                path: (*path).into(),
                kind: EntryKind::Symlink,
                size: 0,
                mode: 0o777,
                mtime_ns: 0,
                sha256: None,
                link_target: Some((*target).into()),
                stored_in: None,
            })
            .collect();
        Manifest {
            format_version: 1,
            backup_id: "b".into(),
            kind: crate::domain::BackupKind::Full,
            parent: None,
            created_at: chrono::Utc::now(),
            scope: "all".into(),
            sources: vec![],
            files,
            deleted: vec![],
        }
    }

    #[test]
    fn plain_links_stay_inside_or_not() {
        let m = manifest(&[]);
        let map = LinkMap::new(&m);
        assert!(!map.escapes("src/a/link", "../b"));
        assert!(!map.escapes("src/link", "sub/file"));
        assert!(map.escapes("src/link", "../other"));
        assert!(map.escapes("src/a/link", "../../x"));
        assert!(map.escapes("src/link", "/etc/passwd"));
        assert!(map.escapes("src/link", ""));
    }

    #[test]
    fn chained_links_are_followed() {
        let m = manifest(&[
            ("src/a/up", ".."),
            ("src/esc", "a/up/.."),
            ("src/ok", "a/up/b"),
        ]);
        let map = LinkMap::new(&m);
        assert!(!map.escapes("src/a/up", ".."));
        assert!(map.escapes("src/esc", "a/up/.."));
        assert!(!map.escapes("src/ok", "a/up/b"));
    }

    #[test]
    fn link_loops_are_refused() {
        let m = manifest(&[("src/x", "y"), ("src/y", "x")]);
        assert!(LinkMap::new(&m).escapes("src/x", "y"));
    }
}
