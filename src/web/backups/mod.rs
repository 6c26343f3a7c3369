//! The backup pages: list (filters, keyset pages, totals), create, detail (record, chain,
//! sources' totals, tasks, log, actions), the file browser, streamed downloads (the whole
//! backup, one file or folder), delete with its confirmation, and the stats JSON.

pub mod body_channel; // a response body fed by a blocking writer, its end held back
pub mod create; // GET /backups/new, POST /backups
pub mod delete; // GET (confirm) | POST /backups/{id}/delete
pub mod detail; // GET /backups/{id}
pub mod download; // GET /backups/{id}/download
pub mod figures_cache; // totals and stats reused briefly when they are costly
pub mod files; // GET /backups/{id}/files: the file browser
pub mod filters; // the list's query string
pub mod list; // GET /backups
pub mod manifest_view; // the manifest as sources' totals and browser pages
pub mod part_download; // GET /backups/{id}/files/download?path=: one file or folder
pub mod pin; // POST /backups/{id}/pin
pub mod restore; // GET|POST /backups/{id}/restore
pub mod restore_changes; // GET /backups/{id}/restore/preview.csv: every changed path
mod restore_form; // the restore form, checked field by field
pub mod restore_preview; // GET /backups/{id}/restore/preview: the confirmation page
pub mod rows; // backups, tasks and log entries as pages show them
pub mod safety; // what the pages say about a restore's safety backup
pub mod stats; // GET /backups/stats
pub mod verify; // GET|POST /backups/{id}/verify
