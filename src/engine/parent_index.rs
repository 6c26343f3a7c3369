//! An incremental's view of its parent's manifest: find an entry by path, remember which
//! entries the new backup still has (the others were deleted). Built for a large tree:
//! no hash map of paths, only a walk-order cursor, a lazily sorted list of indices (4 bytes
//! per entry) and one bit per entry.

use std::sync::Arc;

use super::manifest::{FileEntry, Manifest};

pub struct ParentIndex<'a> {
    manifest: &'a Manifest,
    /// The parent's own id, shared by every entry taken over from its archive.
    own_id: Arc<str>,
    /// Where the next lookup most likely hits: both walks list a tree in the same order,
    /// so for an unchanged tree every lookup is one comparison.
    cursor: usize,
    /// Indices of `manifest.files` by path, built on the first lookup the cursor misses.
    sorted: Option<Vec<u32>>,
    /// One bit per parent entry: listed again in the new backup.
    kept: Vec<u64>,
}

impl<'a> ParentIndex<'a> {
    pub fn new(manifest: &'a Manifest) -> Self {
        ParentIndex {
            manifest,
            own_id: Arc::from(manifest.backup_id.as_str()),
            cursor: 0,
            sorted: None,
            kept: vec![0; manifest.files.len().div_ceil(64)],
        }
    }

    /// The parent's entry at `path`, if it had one.
    pub fn find(&mut self, path: &str) -> Option<(usize, &'a FileEntry)> {
        let files: &'a [FileEntry] = &self.manifest.files;
        let index = match files.get(self.cursor) {
            Some(entry) if &*entry.path == path => self.cursor,
            _ => {
                let sorted = self.sorted.get_or_insert_with(|| sorted_by_path(files));
                let at = sorted
                    .binary_search_by(|&i| (*files[i as usize].path).cmp(path))
                    .ok()?;
                sorted[at] as usize
            }
        };
        self.cursor = index + 1;
        Some((index, &files[index]))
    }

    /// Starts the next pass over the new tree from its beginning.
    pub fn rewind(&mut self) {
        self.cursor = 0;
    }

    /// Notes that the entry at `index` (from `find`) is in the new backup too.
    pub fn keep(&mut self, index: usize) {
        self.kept[index / 64] |= 1 << (index % 64);
    }

    /// The backup whose archive holds the content of the parent's `entry`.
    pub fn holder_of(&self, entry: &FileEntry) -> Arc<str> {
        Arc::clone(entry.stored_in.as_ref().unwrap_or(&self.own_id))
    }

    /// Paths of the parent's entries that were never kept, among those `in_scope` accepts.
    pub fn not_kept(&self, in_scope: impl Fn(&FileEntry) -> bool) -> Vec<String> {
        self.manifest
            .files
            .iter()
            .enumerate()
            .filter(|(i, entry)| self.kept[i / 64] & (1 << (i % 64)) == 0 && in_scope(entry))
            .map(|(_, entry)| entry.path.to_string())
            .collect()
    }
}

fn sorted_by_path(files: &[FileEntry]) -> Vec<u32> {
    let mut sorted: Vec<u32> = (0..files.len() as u32).collect();
    sorted.sort_unstable_by(|&a, &b| files[a as usize].path.cmp(&files[b as usize].path));
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::EntryKind;

    fn manifest(paths: &[&str]) -> Manifest {
        let files = paths
            .iter()
            .map(|path| FileEntry {
                path: (*path).into(),
                kind: EntryKind::File,
                size: 1,
                mode: 0o644,
                mtime_ns: 0,
                sha256: None,
                link_target: None,
                stored_in: (*path == "s/held").then(|| Arc::from("older")),
            })
            .collect();
        Manifest {
            format_version: 1,
            backup_id: "parent".into(),
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
    fn finds_entries_in_walk_order_and_out_of_it() {
        // Walk order, not string order: `s/a-c` sorts before `s/a/b`.
        let m = manifest(&["s", "s/a", "s/a/b", "s/a-c", "s/held"]);
        let mut index = ParentIndex::new(&m);
        assert_eq!(index.find("s").map(|(i, _)| i), Some(0));
        assert_eq!(index.find("s/a/b").map(|(i, _)| i), Some(2));
        assert_eq!(index.find("s/a-c").map(|(i, _)| i), Some(3));
        assert_eq!(index.find("s/new"), None);
        assert_eq!(index.find("s/a").map(|(i, _)| i), Some(1));
        assert_eq!(index.find("s/held").map(|(i, _)| i), Some(4));
        assert_eq!(index.find("s/held").map(|(i, _)| i), Some(4));
        assert_eq!(index.find("t"), None);
    }

    #[test]
    fn entries_not_kept_are_the_deleted_ones() {
        let m = manifest(&["s", "s/a", "s/b", "t", "t/c"]);
        let mut index = ParentIndex::new(&m);
        for path in ["s", "s/b", "t"] {
            let (i, _) = index.find(path).expect("listed");
            index.keep(i);
        }
        assert_eq!(index.not_kept(|_| true), vec!["s/a", "t/c"]);
        assert_eq!(index.not_kept(|e| e.source() == "s"), vec!["s/a"]);
    }

    #[test]
    fn holders_are_the_parent_or_the_archive_it_took_over() {
        let m = manifest(&["s/own", "s/held"]);
        let mut index = ParentIndex::new(&m);
        let (_, own) = index.find("s/own").expect("listed");
        let (_, held) = index.find("s/held").expect("listed");
        assert_eq!(&*index.holder_of(own), "parent");
        assert_eq!(&*index.holder_of(held), "older");
    }
}
