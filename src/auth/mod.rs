//! Authentication primitives shared by the CLI and the console.

mod password;

pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_LEN};
