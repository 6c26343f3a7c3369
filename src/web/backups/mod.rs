//! Backups: one folder, one file per page or action.

pub mod restore; // GET|POST /backups/{id}/restore
pub mod verify; // GET|POST /backups/{id}/verify
