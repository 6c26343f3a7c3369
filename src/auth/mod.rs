//! Authentication primitives shared by the CLI and the console.

mod password;
mod recovery;
mod token;
pub mod totp;

pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_LEN};
pub use recovery::{
    new_recovery_codes, normalize_recovery_code, recovery_code_hash, RECOVERY_CODES,
};
pub use token::{new_password, new_token, same_secret, token_hash};
pub use totp::TotpSecret;
