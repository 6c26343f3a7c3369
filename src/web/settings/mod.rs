//! `/settings`: backup schedules (add, edit, delete; next run times, the last run and its
//! result) and notification channels (send a test). Viewers read the page, operators also
//! run a schedule now; admins change it.

pub mod delete; // GET (confirm) and POST /settings/schedules/{id}/delete
pub mod form; // the posted schedule form → ScheduleInput
pub mod notify_test; // POST /settings/notify/test
pub mod page; // GET /settings
pub mod run_now; // POST /settings/schedules/{id}/run
pub mod save; // POST add, edit
