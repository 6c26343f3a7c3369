//! Tasks: the list of all work, the page of one task and its live progress as Server-Sent
//! Events. The progress partial ([`progress`]) is shared with other pages that show a task (a backup's page).

pub mod cancel; // POST /tasks/{id}/cancel
pub mod events; // GET /tasks/{id}/events
mod feed; // where the event stream gets its snapshots: live hub or polled row
pub mod list; // GET /tasks
pub mod page; // GET /tasks/{id}
pub mod progress; // ProgressView and the partial templates
mod restore_summary; // what a restore task asked for and did
