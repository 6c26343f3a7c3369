//! The web console, driven over HTTP as a user would.

pub mod harness;

mod api;
mod audit;
mod backups;
mod browser;
mod metrics;
mod monitor_rpo;
mod monitor_schedule;
mod monitor_stalls;
mod restore;
mod roles;
mod settings;
mod sign_in;
mod sources;
mod tasks;
mod throttle;
pub mod users;
mod verify;
