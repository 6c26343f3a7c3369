//! One-time recovery codes: for signing in when the authenticator is lost. Each is 80 random
//! bits written as 16 base32 letters and digits in four groups (`ABCD-EFGH-JKLM-NPQR`).
//!
//! They are stored as a plain SHA-256 (of the user's id and the code), not argon2id: argon2id
//! protects guessable human passwords by making each guess slow, but 2^80 random codes
//! cannot be guessed at any hashing speed, and a plain hash lets a typed code be found by
//! its hash with one indexed lookup. The user's id in the hash keeps two users' codes apart.

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;

/// Codes made at enrolment (and at each renewal).
pub const RECOVERY_CODES: usize = 10;
const CODE_BYTES: usize = 10;

/// `RECOVERY_CODES` new codes, in their shown form.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; CODE_BYTES];
            OsRng.fill_bytes(&mut bytes);
            let text = data_encoding::BASE32_NOPAD.encode(&bytes);
            text.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// A typed code without dashes or spaces, upper case; `None` when it cannot be one.
pub fn normalize_recovery_code(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (cleaned.len() == 16
        && cleaned
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)))
    .then_some(cleaned)
}

/// What the database keeps of `user_id`'s code `code` (normalized or as shown).
pub fn recovery_code_hash(user_id: &str, code: &str) -> Option<String> {
    let code = normalize_recovery_code(code)?;
    Some(super::token_hash(&format!("{user_id}:{code}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_of_80_bits_in_four_groups() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            assert_eq!(code.matches('-').count(), 3, "{code}");
            assert!(normalize_recovery_code(code).is_some(), "{code}");
        }
    }

    #[test]
    fn typed_codes_are_forgiving_about_case_spaces_and_dashes_only() {
        let code = "ABCD-EFGH-JKLM-NP23";
        let hash = recovery_code_hash("u1", code).unwrap();
        assert_eq!(
            recovery_code_hash("u1", " abcd efgh jklm np23 "),
            Some(hash.clone())
        );
        assert_ne!(recovery_code_hash("u2", code), Some(hash));
        assert_eq!(normalize_recovery_code("ABCD-EFGH-JKLM-NP2"), None);
        assert_eq!(normalize_recovery_code("ABCD-EFGH-JKLM-NP21"), None);
        assert_eq!(normalize_recovery_code("123456"), None);
    }
}
