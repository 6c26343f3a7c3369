//! AES-256-GCM over one archive's segments, with the STREAM nonce layout of
//! `aead::stream::StreamBE32`: the archive's 7-byte prefix ‖ segment counter (u32 BE) ‖
//! last-flag (1 on the last segment, else 0), so archives written by earlier versions (which
//! used that type) read unchanged, and theirs read ours.
//!
//! Through ring: its AES-GCM (AES-NI with carry-less multiplication, stitched) is several
//! times faster than the pure-Rust crates' here, where decryption had been a tenth of a
//! restore's CPU time.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use super::NONCE_PREFIX_LEN;

pub(super) struct SegmentCipher {
    key: LessSafeKey,
    prefix: [u8; NONCE_PREFIX_LEN],
}

/// Sealing or opening a segment failed (for opening: it did not authenticate).
#[derive(Debug)]
pub(super) struct Rejected;

impl SegmentCipher {
    pub fn new(key: &[u8; 32], prefix: [u8; NONCE_PREFIX_LEN]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, key).expect("AES-256 takes a 32-byte key");
        SegmentCipher {
            key: LessSafeKey::new(key),
            prefix,
        }
    }

    /// Each (counter, last) pair is used once per archive, and every archive has its own
    /// random prefix: a nonce is never reused under one key in practice (56 random bits).
    fn nonce(&self, counter: u32, last: bool) -> Nonce {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts `segment` in place and appends its tag.
    pub fn seal(
        &self,
        counter: u32,
        last: bool,
        aad: &[u8],
        segment: &mut Vec<u8>,
    ) -> Result<(), Rejected> {
        self.key
            .seal_in_place_append_tag(self.nonce(counter, last), Aad::from(aad), segment)
            .map_err(|_| Rejected)
    }

    /// Authenticates and decrypts `sealed` (ciphertext ‖ tag) in place, leaving the
    /// plaintext; on failure the contents of `sealed` are unspecified.
    pub fn open(
        &self,
        counter: u32,
        last: bool,
        aad: &[u8],
        sealed: &mut Vec<u8>,
    ) -> Result<(), Rejected> {
        let plain = self
            .key
            .open_in_place(self.nonce(counter, last), Aad::from(aad), sealed)
            .map_err(|_| Rejected)?
            .len();
        sealed.truncate(plain);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aes_gcm::aead::generic_array::GenericArray;
    use aes_gcm::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
    use aes_gcm::{Aes256Gcm, KeyInit};

    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const PREFIX: [u8; NONCE_PREFIX_LEN] = [1, 2, 3, 4, 5, 6, 7];

    /// The construction archives of earlier versions were written with.
    fn stream_be32() -> StreamBE32<Aes256Gcm> {
        let aead = Aes256Gcm::new(GenericArray::from_slice(&KEY));
        StreamBE32::from_aead(aead, GenericArray::from_slice(&PREFIX))
    }

    #[test]
    fn segments_are_byte_for_byte_those_of_stream_be32_both_ways() {
        let cipher = SegmentCipher::new(&KEY, PREFIX);
        let aad = b"header bytes";
        for (counter, last, len) in [
            (0, false, 65536),
            (1, false, 65536),
            (2, true, 1234),
            (7, true, 0),
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut ours = plain.clone();
            cipher.seal(counter, last, aad, &mut ours).unwrap();
            let mut theirs = plain.clone();
            stream_be32()
                .encrypt_in_place(counter, last, aad, &mut theirs)
                .unwrap();
            assert_eq!(ours, theirs, "segment {counter}");
            cipher.open(counter, last, aad, &mut theirs).unwrap();
            assert_eq!(theirs, plain);
            stream_be32()
                .decrypt_in_place(counter, last, aad, &mut ours)
                .unwrap();
            assert_eq!(ours, plain);
        }
    }

    #[test]
    fn a_segment_opens_only_at_its_own_place_with_its_own_flag_and_header() {
        let cipher = SegmentCipher::new(&KEY, PREFIX);
        let mut sealed = b"segment".to_vec();
        cipher.seal(3, false, b"aad", &mut sealed).unwrap();
        for (counter, last, aad) in [
            (4, false, &b"aad"[..]),
            (3, true, b"aad"),
            (3, false, b"aaD"),
        ] {
            let mut copy = sealed.clone();
            assert!(cipher.open(counter, last, aad, &mut copy).is_err());
        }
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(cipher.open(3, false, b"aad", &mut flipped).is_err());
        cipher.open(3, false, b"aad", &mut sealed).unwrap();
        assert_eq!(sealed, b"segment");
    }
}
