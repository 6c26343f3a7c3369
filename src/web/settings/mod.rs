//! `/settings`: backup schedules (add, edit, delete; next run times). Viewers and
//! operators read the page; admins change it.

pub mod form; // the schedule form ↔ domain ↔ stored row
pub mod page; // GET /settings
pub mod save; // POST add, edit, delete
