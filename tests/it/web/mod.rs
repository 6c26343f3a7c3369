//! The web console, driven over HTTP as a user would.

pub mod harness;

mod api;
mod api_backups;
mod api_checks;
mod api_document;
mod api_schedules;
mod audit;
mod backups;
mod browser;
mod delete_busy;
mod drill_schedule;
mod drills;
mod live_pages;
mod metrics;
mod monitor_rpo;
mod monitor_schedule;
mod monitor_stalls;
mod notify;
mod reflow;
mod restore;
mod restore_form;
mod restore_report;
mod roles;
mod settings;
mod sign_in;
mod sources;
pub mod tasks;
mod throttle;
pub mod users;
mod verify;
