//! The manifest of a backup as a browsable file list: its sources with their totals, and one
//! page of entries under a path prefix. A manifest can hold 100k+ entries; a page never
//! shows more than [`FILES_PER_PAGE`].

use serde::Deserialize;

use crate::engine::manifest::{EntryKind, Manifest};
use crate::present::human_bytes;
use crate::web::error::{WebError, WebResult};

pub const FILES_PER_PAGE: usize = 100;

/// `?path=PREFIX&files_page=N` of the detail page.
#[derive(Debug, Default, Deserialize)]
pub struct FilesQuery {
    pub path: Option<String>,
    pub files_page: Option<String>,
}

/// Which part of the file list to show.
#[derive(Debug, Clone, Default)]
pub struct FilesWanted {
    pub prefix: String,
    /// Counted from 1.
    pub page: usize,
}

impl FilesQuery {
    pub fn parse(&self) -> WebResult<FilesWanted> {
        let prefix = self.path.as_deref().unwrap_or("").trim().to_string();
        if prefix.len() > 4096 {
            return Err(WebError::bad_request("the path filter is too long"));
        }
        let page = match self.files_page.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(n) => n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                WebError::BadRequest(format!("`{n}` is not a page number (1, 2, …)"))
            })?,
        };
        Ok(FilesWanted { prefix, page })
    }
}

pub struct SourceLine {
    pub name: String,
    pub service: String,
    pub kind: String,
    pub origin: String,
    pub files: usize,
    pub size: String,
}

pub struct FileLine {
    pub path: String,
    pub kind: &'static str,
    pub size: String,
    pub mode: String,
    pub link_target: String,
    /// The backup whose archive holds the content, when not this one.
    pub stored_in: String,
}

/// What the detail page shows of a manifest.
pub struct FileListing {
    pub sources: Vec<SourceLine>,
    pub files: Vec<FileLine>,
    /// Entries under the prefix, all pages together.
    pub matching: usize,
    pub total_entries: usize,
    pub page: usize,
    pub pages: usize,
    pub prefix: String,
    pub deleted: usize,
}

impl FileListing {
    pub fn of(manifest: &Manifest, wanted: &FilesWanted) -> FileListing {
        let sources = manifest
            .sources
            .iter()
            .map(|s| {
                let (files, size) = manifest
                    .files
                    .iter()
                    .filter(|f| f.kind == EntryKind::File && f.source() == s.name)
                    .fold((0, 0u64), |(n, bytes), f| (n + 1, bytes + f.size));
                SourceLine {
                    name: s.name.clone(),
                    service: s.service.clone(),
                    kind: s.kind.to_string(),
                    origin: s.origin.clone(),
                    files,
                    size: human_bytes(size),
                }
            })
            .collect();
        let under: Vec<_> = manifest
            .files
            .iter()
            .filter(|f| f.path.starts_with(&wanted.prefix))
            .collect();
        let pages = under.len().div_ceil(FILES_PER_PAGE).max(1);
        let page = wanted.page.min(pages);
        let files = under
            .iter()
            .skip((page - 1) * FILES_PER_PAGE)
            .take(FILES_PER_PAGE)
            .map(|f| FileLine {
                path: f.path.to_string(),
                kind: match f.kind {
                    EntryKind::File => "file",
                    EntryKind::Dir => "dir",
                    EntryKind::Symlink => "link",
                },
                size: if f.kind == EntryKind::File {
                    human_bytes(f.size)
                } else {
                    String::new()
                },
                mode: format!("{:o}", f.mode & 0o7777),
                link_target: f.link_target.as_deref().unwrap_or_default().to_string(),
                stored_in: f.stored_in.as_deref().unwrap_or_default().to_string(),
            })
            .collect();
        FileListing {
            sources,
            files,
            matching: under.len(),
            total_entries: manifest.files.len(),
            page,
            pages,
            prefix: wanted.prefix.clone(),
            deleted: manifest.deleted.len(),
        }
    }

    /// The link to page `page` of this listing on the detail page of `backup_id`.
    pub fn page_link(&self, backup_id: &str, page: usize) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("path", &self.prefix)
            .append_pair("files_page", &page.to_string())
            .finish();
        format!("/backups/{backup_id}?{query}#files")
    }
}
