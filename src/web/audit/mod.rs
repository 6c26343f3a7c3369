//! `/audit`: the audit trail, read-only.

pub mod list; // GET /audit
