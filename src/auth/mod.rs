//! Authentication primitives shared by the CLI and the console.

mod password;
mod token;

pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_LEN};
pub use token::{new_password, new_token, same_secret, token_hash};
