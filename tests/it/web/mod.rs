//! The web console, driven over HTTP as a user would.

pub mod harness;

mod api;
mod audit;
mod backups;
mod settings;
mod sign_in;
pub mod users;
