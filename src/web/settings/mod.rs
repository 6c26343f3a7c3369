//! `/settings`: backup schedules (add, edit, delete; next run times) and notification
//! channels (send a test). Viewers and operators read the page; admins change it.

pub mod form; // the posted schedule form → ScheduleInput
pub mod notify_test; // POST /settings/notify/test
pub mod page; // GET /settings
pub mod save; // POST add, edit, delete
