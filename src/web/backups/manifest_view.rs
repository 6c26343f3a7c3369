//! The manifest of a backup as people read it: its sources with their totals (the detail
//! page), and a file browser (`files.rs`): the entries of one folder — sub-folders first,
//! each with the files and bytes below it — or, with a search, every entry under the folder
//! whose path holds the search text. A manifest can hold 100k+ entries; a page never shows
//! more than [`FILES_PER_PAGE`], and one pass over the entries builds it.
//!
//! Counts name what they count: "files" are regular files (as the record's Files, the
//! backup's progress and a restore's progress count them); folders and links are counted
//! apart.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::manifest::{EntryKind, FileEntry, Manifest};
use crate::engine::restorable::check_path;
use crate::present::human_bytes;
use crate::web::error::{WebError, WebResult};

pub const FILES_PER_PAGE: usize = 100;
const MAX_SEARCH: usize = 200;

/// `?path=FOLDER&q=TEXT&page=N` of the file browser.
#[derive(Debug, Default, Deserialize)]
pub struct FilesQuery {
    pub path: Option<String>,
    pub q: Option<String>,
    pub page: Option<String>,
}

/// Which part of the manifest to show.
#[derive(Debug, Clone, Default)]
pub struct FilesWanted {
    /// The folder, without a trailing `/`; empty for the backup's top (its sources).
    pub folder: String,
    /// Case-insensitive text the paths must hold; empty to browse the folder.
    pub search: String,
    /// Counted from 1.
    pub page: usize,
}

impl FilesQuery {
    pub fn parse(&self) -> WebResult<FilesWanted> {
        let folder = self
            .path
            .as_deref()
            .unwrap_or("")
            .trim()
            .trim_end_matches('/')
            .to_string();
        if folder.len() > 4096 {
            return Err(WebError::bad_request("the folder path is too long"));
        }
        if !folder.is_empty() {
            check_path(&folder)
                .map_err(|problem| WebError::BadRequest(format!("bad folder: {problem}")))?;
        }
        let search = self.q.as_deref().unwrap_or("").trim().to_string();
        if search.chars().count() > MAX_SEARCH {
            return Err(WebError::BadRequest(format!(
                "the search text is longer than {MAX_SEARCH} characters"
            )));
        }
        if search.chars().any(char::is_control) {
            return Err(WebError::bad_request(
                "the search text has a control character",
            ));
        }
        let page = match self.page.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(n) => n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                WebError::BadRequest(format!("`{n}` is not a page number (1, 2, …)"))
            })?,
        };
        Ok(FilesWanted {
            folder,
            search,
            page,
        })
    }
}

/// How many of each kind of entry, and the bytes of the files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub files: usize,
    pub folders: usize,
    pub links: usize,
    pub bytes: u64,
}

impl Counts {
    fn add(&mut self, entry: &FileEntry) {
        match entry.kind {
            EntryKind::File => {
                self.files += 1;
                self.bytes = self.bytes.saturating_add(entry.size);
            }
            EntryKind::Dir => self.folders += 1,
            EntryKind::Symlink => self.links += 1,
        }
    }

    pub fn of(manifest: &Manifest) -> Counts {
        let mut counts = Counts::default();
        manifest.files.iter().for_each(|e| counts.add(e));
        counts
    }

    /// "325 files, 10 folders" (links only when there are some).
    pub fn described(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut text = format!(
            "{}, {}",
            plural(self.files, "file", "files"),
            plural(self.folders, "folder", "folders")
        );
        if self.links > 0 {
            text.push_str(&format!(", {}", plural(self.links, "link", "links")));
        }
        text
    }

    pub fn size(&self) -> String {
        human_bytes(self.bytes)
    }
}

pub struct SourceLine {
    pub name: String,
    pub service: String,
    pub kind: String,
    pub origin: String,
    pub counts: Counts,
}

/// The sources of a manifest with what each holds.
pub fn source_lines(manifest: &Manifest) -> Vec<SourceLine> {
    let mut by_source: BTreeMap<&str, Counts> = BTreeMap::new();
    for entry in &manifest.files {
        by_source.entry(entry.source()).or_default().add(entry);
    }
    manifest
        .sources
        .iter()
        .map(|s| SourceLine {
            name: s.name.clone(),
            service: s.service.clone(),
            kind: s.kind.to_string(),
            origin: s.origin.clone(),
            counts: by_source.get(s.name.as_str()).cloned().unwrap_or_default(),
        })
        .collect()
}

/// One line of the browser: a folder (with what is below it), a file or a link.
pub struct BrowseRow {
    /// The name in its folder, or the path below the folder in a search.
    pub name: String,
    /// The path in the backup (what the links carry).
    pub path: String,
    pub kind: &'static str,
    /// Folders: what they hold.
    pub inside: String,
    pub size: String,
    pub modified: String,
    pub mode: String,
    pub sha256: String,
    pub link_target: String,
    /// The backup whose archive holds the content, when not this one.
    pub stored_in: String,
}

impl BrowseRow {
    pub fn is_folder(&self) -> bool {
        self.kind == "folder"
    }

    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }

    fn of_entry(entry: &FileEntry, name: String) -> BrowseRow {
        BrowseRow {
            name,
            path: entry.path.to_string(),
            kind: match entry.kind {
                EntryKind::File => "file",
                EntryKind::Dir => "folder",
                EntryKind::Symlink => "link",
            },
            inside: String::new(),
            size: if entry.kind == EntryKind::File {
                human_bytes(entry.size)
            } else {
                String::new()
            },
            modified: chrono::DateTime::from_timestamp_nanos(entry.mtime_ns)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            mode: format!("{:o}", entry.mode & 0o7777),
            sha256: entry.sha256.map(|s| s.to_string()).unwrap_or_default(),
            link_target: entry.link_target.as_deref().unwrap_or_default().to_string(),
            stored_in: entry.stored_in.as_deref().unwrap_or_default().to_string(),
        }
    }

    fn folder(path: String, name: String, entry: Option<&FileEntry>, below: &Counts) -> BrowseRow {
        let mut row = match entry {
            Some(entry) => BrowseRow::of_entry(entry, name),
            None => BrowseRow {
                name,
                path: String::new(),
                kind: "folder",
                inside: String::new(),
                size: String::new(),
                modified: String::new(),
                mode: String::new(),
                sha256: String::new(),
                link_target: String::new(),
                stored_in: String::new(),
            },
        };
        row.path = path;
        row.kind = "folder";
        row.inside = below.described();
        row.size = below.size();
        row
    }
}

/// A step of the folder path above the list.
pub struct Crumb {
    pub name: String,
    pub path: String,
}

/// One page of the browser.
pub struct FileListing {
    pub rows: Vec<BrowseRow>,
    /// Rows of all pages together.
    pub matching: usize,
    pub page: usize,
    pub pages: usize,
    pub folder: String,
    pub search: String,
    pub crumbs: Vec<Crumb>,
    /// What the folder holds, all levels below it together.
    pub below: Counts,
    pub deleted: usize,
}

/// A child of the folder being browsed, gathered in one pass.
#[derive(Default)]
struct Child<'a> {
    entry: Option<&'a FileEntry>,
    /// Something lies below it: a folder even without an entry of its own.
    has_below: bool,
    below: Counts,
}

impl FileListing {
    /// The page `wanted` asks for; `None` when the folder is neither in the manifest nor
    /// above anything in it.
    pub fn of(manifest: &Manifest, wanted: &FilesWanted) -> Option<FileListing> {
        let folder = wanted.folder.as_str();
        let inside = |entry: &FileEntry| -> Option<usize> {
            if folder.is_empty() {
                return Some(0);
            }
            let rest = entry.path.strip_prefix(folder)?;
            rest.starts_with('/').then_some(folder.len() + 1)
        };
        let mut below = Counts::default();
        let mut exists = folder.is_empty();
        let mut rows = Vec::new();
        let needle = wanted.search.to_lowercase();
        let mut children: BTreeMap<&str, Child> = BTreeMap::new();
        for entry in &manifest.files {
            if *entry.path == *folder {
                // A file's path is not a folder to browse (unless something lies below it).
                exists |= entry.kind == EntryKind::Dir;
                continue;
            }
            let Some(start) = inside(entry) else { continue };
            exists = true;
            below.add(entry);
            let rest = &entry.path[start..];
            if !needle.is_empty() {
                if rest.to_lowercase().contains(&needle) {
                    rows.push(entry);
                }
                continue;
            }
            match rest.split_once('/') {
                Some((name, _)) => {
                    let child = children.entry(name).or_default();
                    child.has_below = true;
                    child.below.add(entry);
                }
                None => children.entry(rest).or_default().entry = Some(entry),
            }
        }
        if !exists {
            return None;
        }
        let joined = |name: &str| {
            if folder.is_empty() {
                name.to_string()
            } else {
                format!("{folder}/{name}")
            }
        };
        let is_folder =
            |c: &Child| c.has_below || c.entry.is_some_and(|e| e.kind == EntryKind::Dir);
        let matching = if needle.is_empty() {
            children.len()
        } else {
            rows.len()
        };
        let pages = matching.div_ceil(FILES_PER_PAGE).max(1);
        let page = wanted.page.min(pages);
        let skip = (page - 1) * FILES_PER_PAGE;
        let shown: Vec<BrowseRow> = if needle.is_empty() {
            // Folders first, then the rest; each group by name (the map's order).
            let (folders, others): (Vec<_>, Vec<_>) =
                children.into_iter().partition(|(_, c)| is_folder(c));
            folders
                .into_iter()
                .chain(others)
                .skip(skip)
                .take(FILES_PER_PAGE)
                .map(|(name, child)| match child.entry {
                    Some(entry) if !is_folder(&child) => {
                        BrowseRow::of_entry(entry, name.to_string())
                    }
                    entry => BrowseRow::folder(joined(name), name.to_string(), entry, &child.below),
                })
                .collect()
        } else {
            let start = if folder.is_empty() {
                0
            } else {
                folder.len() + 1
            };
            rows.into_iter()
                .skip(skip)
                .take(FILES_PER_PAGE)
                .map(|e| BrowseRow::of_entry(e, e.path[start..].to_string()))
                .collect()
        };
        let mut crumbs = Vec::new();
        let mut path = String::new();
        for part in folder.split('/').filter(|p| !p.is_empty()) {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(part);
            crumbs.push(Crumb {
                name: part.to_string(),
                path: path.clone(),
            });
        }
        Some(FileListing {
            rows: shown,
            matching,
            page,
            pages,
            folder: folder.to_string(),
            search: wanted.search.clone(),
            crumbs,
            below,
            deleted: manifest.deleted.len(),
        })
    }

    /// The browser's link to `page` of this listing (folder and search kept).
    pub fn page_link(&self, backup_id: &str, page: usize) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("path", &self.folder);
        if !self.search.is_empty() {
            query.append_pair("q", &self.search);
        }
        query.append_pair("page", &page.to_string());
        format!("/backups/{backup_id}/files?{}", query.finish())
    }

    /// The first row's number on this page (counted from 1), for "101–200 of 335".
    pub fn first_shown(&self) -> usize {
        if self.rows.is_empty() {
            0
        } else {
            (self.page - 1) * FILES_PER_PAGE + 1
        }
    }

    pub fn last_shown(&self) -> usize {
        (self.page - 1) * FILES_PER_PAGE + self.rows.len()
    }
}

/// `path` as a query value (for links in the templates).
pub fn query_value(path: &str) -> String {
    form_urlencoded::byte_serialize(path.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BackupKind;
    use crate::engine::manifest::FORMAT_VERSION;

    fn entry(path: &str, kind: EntryKind) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind,
            size: if kind == EntryKind::File { 10 } else { 0 },
            mode: 0o644,
            mtime_ns: 0,
            sha256: None,
            link_target: None,
            stored_in: None,
        }
    }

    fn manifest(files: Vec<FileEntry>) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            backup_id: "b".into(),
            kind: BackupKind::Full,
            parent: None,
            created_at: chrono::Utc::now(),
            scope: "all".into(),
            sources: vec![],
            files,
            deleted: vec![],
        }
    }

    fn wanted(folder: &str, search: &str, page: usize) -> FilesWanted {
        FilesWanted {
            folder: folder.into(),
            search: search.into(),
            page,
        }
    }

    #[test]
    fn a_folder_lists_its_children_folders_first_with_what_they_hold() {
        let m = manifest(vec![
            entry("files", EntryKind::Dir),
            entry("files/z.txt", EntryKind::File),
            entry("files/a", EntryKind::Dir),
            entry("files/a/one.txt", EntryKind::File),
            entry("files/a/deep/two.txt", EntryKind::File),
            entry("files/implied/three.txt", EntryKind::File),
            entry("db/dump.sql", EntryKind::File),
        ]);
        let top = FileListing::of(&m, &wanted("", "", 1)).unwrap();
        let names: Vec<_> = top.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["db", "files"]);
        assert_eq!(top.below.files, 5);
        let files = FileListing::of(&m, &wanted("files", "", 1)).unwrap();
        let rows: Vec<_> = files
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.kind, r.path.as_str(), r.inside.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("a", "folder", "files/a", "2 files, 0 folders"),
                ("implied", "folder", "files/implied", "1 file, 0 folders"),
                ("z.txt", "file", "files/z.txt", ""),
            ]
        );
        assert_eq!(files.below.described(), "4 files, 1 folder");
        assert!(FileListing::of(&m, &wanted("files/nope", "", 1)).is_none());
        assert!(FileListing::of(&m, &wanted("files/z", "", 1)).is_none());
    }

    #[test]
    fn a_search_finds_paths_below_the_folder_and_pages_them() {
        let mut files = vec![entry("files", EntryKind::Dir)];
        for i in 0..250 {
            files.push(entry(
                &format!("files/d{}/Report-{i:03}.PDF", i % 3),
                EntryKind::File,
            ));
        }
        files.push(entry("other/report.pdf", EntryKind::File));
        let m = manifest(files);
        let first = FileListing::of(&m, &wanted("files", "report", 1)).unwrap();
        assert_eq!(
            (first.matching, first.pages, first.rows.len()),
            (250, 3, 100)
        );
        assert_eq!(first.rows[0].name, "d0/Report-000.PDF");
        let last = FileListing::of(&m, &wanted("files", "report", 9)).unwrap();
        assert_eq!(
            (last.page, last.rows.len(), last.first_shown()),
            (3, 50, 201)
        );
        let everywhere = FileListing::of(&m, &wanted("", "REPORT-00", 1)).unwrap();
        assert_eq!(everywhere.matching, 10);
        let link = first.page_link("b1", 2);
        assert_eq!(link, "/backups/b1/files?path=files&q=report&page=2");
    }

    #[test]
    fn bad_queries_are_refused_with_a_reason() {
        let bad = |path: &str, q: &str, page: &str| {
            FilesQuery {
                path: Some(path.into()),
                q: Some(q.into()),
                page: Some(page.into()),
            }
            .parse()
            .unwrap_err()
            .to_string()
        };
        assert!(bad("../etc", "", "1").contains("climbs out"));
        assert!(bad("/etc", "", "1").contains("absolute"));
        assert!(bad("files", "a\u{1}", "1").contains("control"));
        assert!(bad("files", "", "zero").contains("not a page number"));
        let fine = FilesQuery {
            path: Some("files/sub/".into()),
            q: None,
            page: None,
        }
        .parse()
        .unwrap();
        assert_eq!((fine.folder.as_str(), fine.page), ("files/sub", 1));
    }
}
