//! Archive encryption: AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway,
//! Vizár 2015), with the nonce layout of `aead::stream::StreamBE32` (see `crypt/segment.rs`).
//!
//! Layout of an encrypted archive:
//!
//! ```text
//! header:   magic "\x89COFFER\n" | version u8 = 1 | key-id length u8 | key id (UTF-8)
//!           | segment size u32 BE | nonce prefix (7 random bytes)
//! segments: AES-256-GCM(plaintext segment) ‖ 16-byte tag, one after another
//! ```
//!
//! Every segment but the last holds exactly `segment size` plaintext bytes; the last holds
//! 0..=`segment size` and is always present, so an empty archive is one empty sealed segment.
//! Segment `n` is sealed with nonce = prefix ‖ n (u32 BE) ‖ last-flag (1 on the last one, else 0)
//! and the whole header as associated data. Hence a changed header or byte, reordered segments,
//! a missing tail and appended data all fail authentication.
//!
//! Segments are 64 KiB (as in age): the tag costs 0.02%, a reader or writer buffers one segment,
//! plaintext is released 64 KiB at a time after authentication, and a u32 counter allows
//! archives up to 256 TiB.

use std::io::{self, Read, Write};

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;

use super::keyring::{is_valid_key_id, Keyring};
use super::read_full::read_full;
use segment::SegmentCipher;

mod segment;

/// First bytes of every encrypted archive. 0x89 keeps it from looking like text, `\n`
/// reveals newline mangling (the PNG trick).
pub const MAGIC: [u8; 8] = *b"\x89COFFER\n";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Plaintext bytes per segment written by this code.
pub const SEGMENT_SIZE: u32 = 64 * 1024;
/// Bytes of the nonce chosen per archive; STREAM uses the other 5 of GCM's 12.
pub const NONCE_PREFIX_LEN: usize = 7;
const TAG_LEN: usize = 16;
/// Segment sizes a reader accepts: bounds the memory a forged header can make us allocate.
const SEGMENT_SIZE_RANGE: std::ops::RangeInclusive<u32> = 1024..=(16 << 20);

/// The plaintext header of an encrypted archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub key_id: String,
    pub segment_size: u32,
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl Header {
    /// The exact bytes of the header as stored (also the associated data of every segment).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 2 + self.key_id.len() + 4 + NONCE_PREFIX_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(self.version);
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.segment_size.to_be_bytes());
        out.extend_from_slice(&self.nonce_prefix);
        out
    }
}

/// Whether `prefix` (the first bytes of a stored object) starts like an encrypted archive.
pub fn is_encrypted(prefix: &[u8]) -> bool {
    prefix.starts_with(&MAGIC)
}

/// Reads and checks the header, leaving `r` at the first segment.
pub fn read_header(r: &mut impl Read) -> io::Result<Header> {
    let mut magic = [0u8; 8];
    let got = read_full(r, &mut magic)?;
    if got < magic.len() || magic != MAGIC {
        let truncated = got > 0 && got < magic.len() && MAGIC.starts_with(&magic[..got]);
        return Err(invalid(if truncated {
            "archive is truncated: its encryption header is incomplete".into()
        } else {
            "not a Coffer encrypted archive".into()
        }));
    }
    let mut fixed = [0u8; 2];
    read_header_part(r, &mut fixed)?;
    let [version, id_len] = fixed;
    if version != FORMAT_VERSION {
        return Err(invalid(format!(
            "unsupported encrypted archive version {version} (this Coffer reads {FORMAT_VERSION})"
        )));
    }
    let mut id = vec![0u8; usize::from(id_len)];
    read_header_part(r, &mut id)?;
    let key_id = String::from_utf8(id)
        .ok()
        .filter(|id| is_valid_key_id(id))
        .ok_or_else(|| invalid("archive is corrupt: its header holds an invalid key id".into()))?;
    let mut size = [0u8; 4];
    read_header_part(r, &mut size)?;
    let segment_size = u32::from_be_bytes(size);
    if !SEGMENT_SIZE_RANGE.contains(&segment_size) {
        return Err(invalid(format!(
            "archive is corrupt: unsupported segment size {segment_size}"
        )));
    }
    let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
    read_header_part(r, &mut nonce_prefix)?;
    Ok(Header {
        version,
        key_id,
        segment_size,
        nonce_prefix,
    })
}

fn read_header_part(r: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    if read_full(r, buf)? < buf.len() {
        return Err(invalid(
            "archive is truncated: its encryption header is incomplete".into(),
        ));
    }
    Ok(())
}

fn stream_cipher(key: &[u8; 32], header: &Header) -> SegmentCipher {
    SegmentCipher::new(key, header.nonce_prefix)
}

/// Encrypts everything written to it into `inner`; [`EncryptingWriter::finish`] seals the
/// last segment. Dropping it unfinished leaves a stream every reader rejects as truncated.
pub struct EncryptingWriter<W: Write> {
    inner: W,
    stream: SegmentCipher,
    header: Vec<u8>,
    segment: Vec<u8>,
    counter: u32,
    failed: bool,
}

impl<W: Write> EncryptingWriter<W> {
    /// Writes the header to `inner` at once.
    pub fn new(mut inner: W, key: &[u8; 32], key_id: &str) -> io::Result<Self> {
        if !is_valid_key_id(key_id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid key id `{key_id}`"),
            ));
        }
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        OsRng
            .try_fill_bytes(&mut nonce_prefix)
            .map_err(|e| io::Error::other(format!("cannot get random bytes for a nonce: {e}")))?;
        let header = Header {
            version: FORMAT_VERSION,
            key_id: key_id.to_string(),
            segment_size: SEGMENT_SIZE,
            nonce_prefix,
        };
        let stream = stream_cipher(key, &header);
        let header = header.to_bytes();
        inner.write_all(&header)?;
        let segment = Vec::with_capacity(SEGMENT_SIZE as usize + TAG_LEN);
        Ok(EncryptingWriter {
            inner,
            stream,
            header,
            segment,
            counter: 0,
            failed: false,
        })
    }

    /// Seals the buffered bytes as the last segment (possibly empty), flushes and returns `inner`.
    pub fn finish(mut self) -> io::Result<W> {
        self.check_healthy()?;
        self.seal(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        self.failed = true;
        self.stream
            .seal(self.counter, last, &self.header, &mut self.segment)
            .map_err(|_| io::Error::other("AES-GCM encryption failed"))?;
        self.inner.write_all(&self.segment)?;
        self.segment.clear();
        self.counter = self.counter.checked_add(1).ok_or_else(|| {
            io::Error::other("archive too large: more than 2^32 encrypted segments")
        })?;
        self.failed = false;
        Ok(())
    }

    fn check_healthy(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "encryption stream failed earlier; the archive is incomplete",
            ));
        }
        Ok(())
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_healthy()?;
        if buf.is_empty() {
            return Ok(0);
        }
        // A full segment is sealed only once more data arrives: until then it may be the last.
        if self.segment.len() == SEGMENT_SIZE as usize {
            self.seal(false)?;
        }
        let room = SEGMENT_SIZE as usize - self.segment.len();
        let n = room.min(buf.len());
        self.segment.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Flushes `inner`; the open segment stays buffered until it is full or finished.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts an archive written by [`EncryptingWriter`], releasing each segment's plaintext
/// only once that segment has been authenticated.
pub struct DecryptingReader<R: Read> {
    inner: R,
    stream: SegmentCipher,
    header: Header,
    /// The header as stored: associated data of every segment.
    header_bytes: Vec<u8>,
    segment_size: usize,
    /// Holds one sealed segment plus one byte read ahead, which tells whether it is the last.
    buf: Vec<u8>,
    carry: Option<u8>,
    pos: usize,
    counter: u32,
    done: bool,
    failed: bool,
}

impl<R: Read> DecryptingReader<R> {
    /// Reads the header and looks its key up in `keyring`.
    pub fn new(mut inner: R, keyring: &Keyring) -> io::Result<Self> {
        let header = read_header(&mut inner)?;
        let key = keyring.get(&header.key_id).ok_or_else(|| {
            invalid(format!(
                "archive was encrypted with key `{}`, which is not in the keyring",
                header.key_id
            ))
        })?;
        let stream = stream_cipher(key, &header);
        let segment_size = header.segment_size as usize;
        Ok(DecryptingReader {
            inner,
            stream,
            header_bytes: header.to_bytes(),
            header,
            segment_size,
            buf: Vec::with_capacity(segment_size + TAG_LEN + 1),
            carry: None,
            pos: 0,
            counter: 0,
            done: false,
            failed: false,
        })
    }

    /// The archive's header: key id, segment size.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads, authenticates and decrypts the next segment into `buf`.
    fn next_segment(&mut self) -> io::Result<()> {
        let sealed_len = self.segment_size + TAG_LEN;
        self.pos = 0;
        self.buf.clear();
        self.buf.extend(self.carry.take());
        let carried = self.buf.len();
        self.buf.resize(sealed_len + 1, 0);
        let got = carried + read_full(&mut self.inner, &mut self.buf[carried..])?;
        self.buf.truncate(got);
        let last = got <= sealed_len;
        if !last {
            self.carry = self.buf.pop();
        }
        if got < TAG_LEN {
            return Err(invalid(
                "archive is truncated: its last segment is missing".into(),
            ));
        }
        let segment = self.counter;
        // A full-size segment at the very end is the last one, or the archive lost its tail:
        // keep a copy to tell the two apart if authentication fails.
        let maybe_cut = (last && got == sealed_len).then(|| self.buf.clone());
        if self
            .stream
            .open(segment, last, &self.header_bytes, &mut self.buf)
            .is_err()
        {
            if let Some(mut copy) = maybe_cut {
                if self
                    .stream
                    .open(segment, false, &self.header_bytes, &mut copy)
                    .is_ok()
                {
                    return Err(invalid(
                        "archive is truncated: its last segment is missing".into(),
                    ));
                }
            }
            return Err(invalid(format!(
                "archive is corrupt or was tampered with: segment {segment} failed authentication"
            )));
        }
        self.done = last;
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| invalid("archive is corrupt: more than 2^32 segments".into()))?;
        Ok(())
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(invalid(
                "encrypted archive failed to read earlier; see the first error".into(),
            ));
        }
        while self.pos == self.buf.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            if let Err(e) = self.next_segment() {
                // Never hand out the bytes of a segment that did not authenticate.
                self.buf.clear();
                self.pos = 0;
                self.failed = true;
                return Err(e);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const SEG: usize = SEGMENT_SIZE as usize;

    fn keyring() -> (tempfile::TempDir, Keyring) {
        let dir = tempfile::tempdir().unwrap();
        let (keyring, _) = Keyring::open_or_create(dir.path()).unwrap();
        (dir, keyring)
    }

    fn data(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn encrypt(keyring: &Keyring, plain: &[u8]) -> Vec<u8> {
        let (id, key) = keyring.active().unwrap();
        let mut w = EncryptingWriter::new(Vec::new(), key, id).unwrap();
        // Uneven writes exercise the segment buffering.
        for chunk in plain.chunks(7919) {
            w.write_all(chunk).unwrap();
        }
        w.finish().unwrap()
    }

    fn decrypt(keyring: &Keyring, sealed: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        DecryptingReader::new(sealed, keyring)?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn header_len(keyring: &Keyring) -> usize {
        8 + 2 + keyring.active().unwrap().0.len() + 4 + NONCE_PREFIX_LEN
    }

    #[test]
    fn round_trips_every_boundary_size() {
        let (_dir, keyring) = keyring();
        for len in [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 17, 5 << 20] {
            let plain = data(len);
            let sealed = encrypt(&keyring, &plain);
            let segments = len.div_ceil(SEG).max(1);
            assert_eq!(
                sealed.len(),
                header_len(&keyring) + len + segments * TAG_LEN,
                "len {len}"
            );
            assert!(is_encrypted(&sealed));
            assert_eq!(decrypt(&keyring, &sealed).unwrap(), plain, "len {len}");
        }
    }

    #[test]
    fn header_is_readable_without_the_key() {
        let (_dir, keyring) = keyring();
        let sealed = encrypt(&keyring, b"hello");
        let header = read_header(&mut &sealed[..]).unwrap();
        let reader = DecryptingReader::new(&sealed[..], &keyring).unwrap();
        assert_eq!(reader.header(), &header);
        assert_eq!(header.version, 1);
        assert_eq!(header.key_id, keyring.active().unwrap().0);
        assert_eq!(header.segment_size, SEGMENT_SIZE);
        assert_eq!(header.to_bytes(), sealed[..header_len(&keyring)]);
        // Two archives with one key never share a nonce prefix.
        let other = read_header(&mut &encrypt(&keyring, b"hello")[..]).unwrap();
        assert_ne!(header.nonce_prefix, other.nonce_prefix);
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let (_dir, keyring) = keyring();
        let sealed = encrypt(&keyring, &data(2 * SEG + SEG / 2));
        let mut positions: Vec<usize> = (0..header_len(&keyring)).collect();
        positions.extend((0..sealed.len()).step_by(4099));
        let tag_ends = [
            SEG + TAG_LEN,
            2 * (SEG + TAG_LEN),
            sealed.len() - header_len(&keyring),
        ];
        for end in tag_ends.map(|e| e + header_len(&keyring)) {
            positions.extend(end - TAG_LEN - 1..end);
        }
        for pos in positions {
            let mut bad = sealed.clone();
            bad[pos] ^= 0x01;
            assert!(
                decrypt(&keyring, &bad).is_err(),
                "flip at {pos} went unnoticed"
            );
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let (_dir, keyring) = keyring();
        let sealed = encrypt(&keyring, &data(2 * SEG));
        let hl = header_len(&keyring);
        let mut cuts: Vec<usize> = (0..hl + 40).collect();
        cuts.extend((hl..sealed.len()).step_by(1013));
        cuts.extend([
            hl + SEG + TAG_LEN - 1,
            hl + SEG + TAG_LEN,
            hl + SEG + TAG_LEN + 1,
            sealed.len() - 1,
        ]);
        for cut in cuts {
            let err = decrypt(&keyring, &sealed[..cut]).unwrap_err();
            assert_eq!(
                err.kind(),
                io::ErrorKind::InvalidData,
                "cut at {cut}: {err}"
            );
        }
        // Cut exactly at a segment boundary: the message says what happened.
        let err = decrypt(&keyring, &sealed[..hl + SEG + TAG_LEN]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "archive is truncated: its last segment is missing"
        );
        let err = decrypt(&keyring, &sealed[..hl]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "archive is truncated: its last segment is missing"
        );
    }

    #[test]
    fn swapped_segments_fail_and_release_nothing_unauthenticated() {
        let (_dir, keyring) = keyring();
        let plain = data(3 * SEG);
        let sealed = encrypt(&keyring, &plain);
        let hl = header_len(&keyring);
        let seg = SEG + TAG_LEN;
        let mut swapped = sealed.clone();
        swapped[hl + seg..hl + 2 * seg].copy_from_slice(&sealed[hl..hl + seg]);
        swapped[hl..hl + seg].copy_from_slice(&sealed[hl + seg..hl + 2 * seg]);
        let err = decrypt(&keyring, &swapped).unwrap_err();
        assert_eq!(
            err.to_string(),
            "archive is corrupt or was tampered with: segment 0 failed authentication"
        );

        // Tamper with segment 1: exactly segment 0 comes out, then the error, then only errors.
        let mut bad = sealed.clone();
        bad[hl + seg + 100] ^= 0x80;
        let mut reader = DecryptingReader::new(&bad[..], &keyring).unwrap();
        let mut released = Vec::new();
        let mut buf = [0u8; 10_000];
        let err = loop {
            match reader.read(&mut buf) {
                Ok(0) => panic!("tampering went unnoticed"),
                Ok(n) => released.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
        };
        assert!(
            err.to_string().contains("segment 1 failed authentication"),
            "{err}"
        );
        assert_eq!(released, plain[..SEG]);
        assert!(reader.read(&mut buf).is_err());
    }

    #[test]
    fn appended_bytes_are_detected() {
        let (_dir, keyring) = keyring();
        for len in [0, 10, SEG] {
            let sealed = encrypt(&keyring, &data(len));
            for extra in [&[0u8][..], &[0u8; 16][..], &sealed[header_len(&keyring)..]] {
                let mut longer = sealed.clone();
                longer.extend_from_slice(extra);
                assert!(
                    decrypt(&keyring, &longer).is_err(),
                    "len {len} + {} bytes",
                    extra.len()
                );
            }
        }
    }

    #[test]
    fn wrong_or_missing_key_is_reported() {
        let (_dir, keyring) = keyring();
        let sealed = encrypt(&keyring, &data(1000));
        let id = keyring.active().unwrap().0;

        let (_other_dir, other) = self::keyring();
        let err = decrypt(&other, &sealed).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("archive was encrypted with key `{id}`, which is not in the keyring")
        );

        // Same id, different bytes: authentication fails.
        let impostor = tempfile::tempdir().unwrap();
        fs::write(
            impostor.path().join(format!("{id}.key")),
            format!("{}\n", "42".repeat(32)),
        )
        .unwrap();
        fs::write(impostor.path().join("active"), format!("{id}\n")).unwrap();
        let impostor = Keyring::open(impostor.path()).unwrap();
        let err = decrypt(&impostor, &sealed).unwrap_err();
        assert!(
            err.to_string().contains("segment 0 failed authentication"),
            "{err}"
        );
    }

    #[test]
    fn plain_input_is_not_an_archive() {
        let (_dir, keyring) = keyring();
        for input in [&b""[..], b"\x1f\x8b\x08\x00 some gzip", b"COFFER"] {
            let err = decrypt(&keyring, input).unwrap_err();
            assert_eq!(err.to_string(), "not a Coffer encrypted archive");
            assert!(!is_encrypted(input));
        }
        let err = decrypt(&keyring, &MAGIC[..5]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let mut future = encrypt(&keyring, b"x");
        future[8] = 2;
        assert!(decrypt(&keyring, &future)
            .unwrap_err()
            .to_string()
            .contains("version 2"));
    }

    #[test]
    fn unfinished_writer_yields_a_truncated_archive() {
        let (_dir, keyring) = keyring();
        let (id, key) = keyring.active().unwrap();
        let mut out = Vec::new();
        {
            let mut w = EncryptingWriter::new(&mut out, key, id).unwrap();
            w.write_all(&data(3 * SEG)).unwrap();
        }
        assert!(decrypt(&keyring, &out).is_err());
        assert!(EncryptingWriter::new(Vec::new(), key, "../etc").is_err());
    }
}
