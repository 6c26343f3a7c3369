//! The web console, driven over HTTP as a user would.

pub mod harness;

mod settings;
mod sign_in;
