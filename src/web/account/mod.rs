//! The signed-in user's own account.

pub mod password;
