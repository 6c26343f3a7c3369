//! Backups: one folder, one file per page or action.

pub mod restore; // GET|POST /backups/{id}/restore
mod restore_form; // the restore form, checked field by field
pub mod verify; // GET|POST /backups/{id}/verify
