//! Filling a buffer from a reader that may hand out less than asked for.

use std::io::{self, Read};

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
/// Interrupted reads are retried; any other error is returned as it is.
pub fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
