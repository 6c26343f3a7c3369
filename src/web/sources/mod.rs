//! `/sources`: the configured sources and their "test connection" button.

pub mod check;
pub mod list;
