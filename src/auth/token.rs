//! Random secrets handed to browsers and scripts (session cookies, CSRF tokens, API tokens).
//! They are 256-bit random values, so a plain SHA-256 is enough to store them: unlike
//! passwords, there is nothing to guess.

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;
use sha2::{Digest, Sha256};

/// A new random token, URL- and cookie-safe (64 hex characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A readable random password for a generated first admin: 20 characters from 56, about
/// 116 bits. Bytes that would favour the first letters (modulo bias) are drawn again.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const LENGTH: usize = 20;
    // The largest multiple of the alphabet's size that fits in a byte: 224 = 4 × 56.
    let unbiased = (256 / ALPHABET.len() * ALPHABET.len()) as u16;
    let mut password = String::with_capacity(LENGTH);
    let mut bytes = [0u8; 32];
    while password.len() < LENGTH {
        OsRng.fill_bytes(&mut bytes);
        for b in bytes.iter().filter(|b| u16::from(**b) < unbiased) {
            if password.len() == LENGTH {
                break;
            }
            password.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
        }
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn generated_passwords_are_long_enough() {
        let p = new_password();
        assert_eq!(p.len(), 20);
        assert!(p.len() >= crate::auth::MIN_PASSWORD_LEN);
        assert_ne!(p, new_password());
    }
}
