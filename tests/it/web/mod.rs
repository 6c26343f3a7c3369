//! The web console, driven over HTTP as a user would.

pub mod harness;

mod backups;
mod sign_in;
