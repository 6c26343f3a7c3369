//! The web console, driven over HTTP as a user would.

pub mod harness;

mod browser;
mod restore;
mod sign_in;
mod tasks;
mod verify;
