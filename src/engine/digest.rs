//! SHA-256 tees: adapters that hash and count the bytes flowing through a pipeline, so the
//! checksum of the stored archive is computed in the same pass that writes (or reads) it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Passes writes through to `inner`, hashing and counting exactly the bytes `inner` accepted.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Returns the inner writer, the lowercase hex SHA-256 and the byte count.
    /// It does not flush: the caller finishes the inner writer its own way.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        // Hash only what was accepted: the caller will retry the rest.
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Passes reads through from `inner`, hashing and counting every byte handed out.
pub struct HashingReader<R: Read> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Returns the inner reader, the lowercase hex SHA-256 of what was read and the byte count.
    pub fn finish(self) -> (R, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        self.bytes += read as u64;
        Ok(read)
    }
}

/// SHA-256 (lowercase hex) and size of a whole file, read in large chunks.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    let mut reader = HashingReader::new(file);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        }
    }
    let (_, hex, bytes) = reader.finish();
    Ok((hex, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// A writer that accepts at most 3 bytes per call, to check partial writes are hashed right.
    struct Trickle(Vec<u8>);
    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writer_hashes_known_vectors() {
        let (out, hex, n) = HashingWriter::new(Vec::new()).finish();
        assert_eq!((out.len(), hex.as_str(), n), (0, EMPTY_SHA256, 0));

        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"a").unwrap();
        w.write_all(b"bc").unwrap();
        let (out, hex, n) = w.finish();
        assert_eq!(
            (out.as_slice(), hex.as_str(), n),
            (&b"abc"[..], ABC_SHA256, 3)
        );
    }

    #[test]
    fn writer_hashes_only_accepted_bytes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = HashingWriter::new(Trickle(Vec::new()));
        w.write_all(&data).unwrap();
        let (inner, hex, n) = w.finish();
        assert_eq!(inner.0, data);
        assert_eq!(n, data.len() as u64);
        assert_eq!(hex, hex::encode(Sha256::digest(&data)));
    }

    #[test]
    fn reader_and_file_agree() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i ^ (i >> 8)) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, &data).unwrap();

        let mut r = HashingReader::new(&data[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        let (_, reader_hex, reader_n) = r.finish();

        let (file_hex, file_n) = sha256_file(&path).unwrap();
        assert_eq!((reader_hex.as_str(), reader_n), (file_hex.as_str(), file_n));
        assert_eq!(file_hex, hex::encode(Sha256::digest(&data)));
        assert_eq!(file_n, 1_000_000);
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = sha256_file(Path::new("/nonexistent/coffer-test")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string().contains("/nonexistent/coffer-test"),
            "{err}"
        );
    }
}
