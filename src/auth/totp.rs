//! Time-based one-time passwords (RFC 6238, on HOTP of RFC 4226) as every authenticator app
//! computes them: HMAC-SHA-1, 6 digits, 30-second steps. A code is accepted for the step
//! before and after the current one too (clocks drift, typing takes time); which step a
//! code matched is returned so that the caller can refuse the same step twice (replay).

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;
use ring::hmac;

/// Seconds per step (RFC 6238's default, the only one apps agree on).
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of the current one.
pub const WINDOW: i64 = 1;
/// RFC 4226 recommends a 160-bit shared secret (the size of an HMAC-SHA-1 block output).
pub const SECRET_BYTES: usize = 20;

/// A shared secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// 160 random bits from the operating system.
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Base32 without padding, as apps take it for manual entry and in `otpauth://` URIs.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// Reads a base32 secret; spaces are ignored and letters may be lower case.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(cleaned.trim_end_matches('=').as_bytes())
            .ok()?;
        (!bytes.is_empty()).then_some(TotpSecret(bytes))
    }

    /// The base32 text in groups of four, easier to type from the screen.
    pub fn grouped(&self) -> String {
        let text = self.to_base32();
        text.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The code of `step`.
    pub fn code_at(&self, step: i64) -> String {
        let value = hotp(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            &self.0,
            step as u64,
            DIGITS,
        );
        format!("{value:0width$}", width = DIGITS as usize)
    }

    /// The step within the window around `unix_seconds` whose code is `code`, if any.
    /// Every step of the window is computed and compared in constant time, so the answer's
    /// timing does not tell which one matched.
    pub fn matching_step(&self, code: &str, unix_seconds: i64) -> Option<i64> {
        let code = normalize_code(code)?;
        let now = step_of(unix_seconds);
        let mut found = None;
        for step in (now - WINDOW)..=(now + WINDOW) {
            if super::same_secret(&self.code_at(step), &code) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://totp/...` URI that the QR code holds.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, URI_COMPONENT).to_string();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            enc(issuer),
            enc(account),
            self.to_base32(),
            enc(issuer)
        )
    }
}

const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The step a time falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// Six digits as typed (spaces allowed, "123 456"); anything else is no code.
pub fn normalize_code(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.chars().all(|c| c.is_ascii_digit()))
        .then_some(digits)
}

/// HOTP (RFC 4226 section 5.3): HMAC of the big-endian counter, dynamic truncation, modulo
/// 10^digits. The algorithm is a parameter so that the RFC 6238 vectors of all three can run.
fn hotp(algorithm: hmac::Algorithm, key: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(algorithm, key);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: (time, SHA-1, SHA-256, SHA-512), 8 digits, 30-second steps.
    const VECTORS: &[(i64, &str, &str, &str)] = &[
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];
    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn totp8(algorithm: hmac::Algorithm, seed: &[u8], time: i64) -> String {
        format!("{:08}", hotp(algorithm, seed, step_of(time) as u64, 8))
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        for (time, sha1, sha256, sha512) in VECTORS {
            assert_eq!(
                totp8(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, SEED_SHA1, *time),
                *sha1,
                "SHA-1 at {time}"
            );
            assert_eq!(
                totp8(hmac::HMAC_SHA256, SEED_SHA256, *time),
                *sha256,
                "SHA-256 at {time}"
            );
            assert_eq!(
                totp8(hmac::HMAC_SHA512, SEED_SHA512, *time),
                *sha512,
                "SHA-512 at {time}"
            );
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_of_the_rfc_values() {
        let secret = TotpSecret(SEED_SHA1.to_vec());
        for (time, sha1, _, _) in VECTORS {
            assert_eq!(secret.code_at(step_of(*time)), sha1[2..], "at {time}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_values() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.iter().enumerate() {
            assert_eq!(
                hotp(
                    hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                    SEED_SHA1,
                    counter as u64,
                    6
                ),
                *value
            );
        }
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let secret = TotpSecret(SEED_SHA1.to_vec());
        let now = 1111111111;
        let step = step_of(now);
        for offset in -1..=1 {
            let code = secret.code_at(step + offset);
            assert_eq!(secret.matching_step(&code, now), Some(step + offset));
        }
        for offset in [-2, 2] {
            let code = secret.code_at(step + offset);
            assert_eq!(secret.matching_step(&code, now), None, "offset {offset}");
        }
    }

    #[test]
    fn codes_are_read_with_spaces_but_nothing_else() {
        let secret = TotpSecret(SEED_SHA1.to_vec());
        let code = secret.code_at(step_of(59));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(secret.matching_step(&spaced, 59).is_some());
        assert_eq!(secret.matching_step("12345", 59), None);
        assert_eq!(secret.matching_step("12345a", 59), None);
        assert_eq!(secret.matching_step("", 59), None);
    }

    #[test]
    fn secrets_are_160_random_bits_and_survive_base32() {
        let a = TotpSecret::generate();
        assert_eq!(a.0.len(), 20);
        assert_ne!(a, TotpSecret::generate());
        assert_eq!(a.to_base32().len(), 32);
        assert_eq!(TotpSecret::from_base32(&a.to_base32()), Some(a.clone()));
        assert_eq!(
            TotpSecret::from_base32(&a.grouped().to_lowercase()),
            Some(a.clone())
        );
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
        assert!(!format!("{a:?}").contains(&a.to_base32()));
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret(SEED_SHA1.to_vec());
        let uri = secret.uri("Coffer", "ann smith");
        assert_eq!(
            uri,
            "otpauth://totp/Coffer:ann%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Coffer&algorithm=SHA1&digits=6&period=30"
        );
    }
}
