//! A stream read ahead on its own thread.
//!
//! Reading an archive is a chain: storage → SHA-256 of the stored bytes → AES-256-GCM →
//! gzip members → tar. The thread that walks the tar also cut the members and fed the inflate
//! workers, so hashing and decrypting sat on it too, and while it waited for them the
//! workers had nothing to do. Wrapping the decrypted stream in a [`ReadAhead`] moves
//! everything below gzip onto one more thread, a few chunks ahead.
//!
//! Memory is bounded ([`DEPTH`] chunks of [`CHUNK_SIZE`] bytes in flight, recycled). An error
//! of the inner reader is handed on once, in order; after it the stream stays failed. When
//! the reader is dropped early the thread stops at its next chunk.

use super::read_full::read_full;
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

/// Bytes per chunk handed from the reading thread.
const CHUNK_SIZE: usize = 1 << 20;
/// Chunks read ahead of the consumer.
const DEPTH: usize = 4;

pub struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    state: State,
}

#[derive(PartialEq)]
enum State {
    Reading,
    Ended,
    Failed,
}

impl ReadAhead {
    /// Starts the thread reading `inner`; nothing is lost if it cannot start (the error says so).
    pub fn spawn(inner: Box<dyn Read + Send>) -> io::Result<Self> {
        let (chunk_sender, chunks) = sync_channel(DEPTH);
        let (spare, spares) = sync_channel(DEPTH + 2);
        thread::Builder::new()
            .name("coffer-read-ahead".into())
            .spawn(move || read_ahead(inner, &chunk_sender, &spares))
            .map_err(|e| io::Error::other(format!("cannot start the read-ahead thread: {e}")))?;
        Ok(ReadAhead {
            chunks,
            spare,
            current: Vec::new(),
            pos: 0,
            state: State::Reading,
        })
    }

    /// Takes the next chunk; false at the end of the stream.
    fn next_chunk(&mut self) -> io::Result<bool> {
        match self.state {
            State::Ended => return Ok(false),
            State::Failed => return Err(io::Error::other("the archive stream failed earlier")),
            State::Reading => {}
        }
        let received = self.chunks.recv().unwrap_or_else(|_| {
            Err(io::Error::other(
                "the read-ahead thread stopped unexpectedly",
            ))
        });
        match received {
            Ok(chunk) if chunk.is_empty() => {
                self.state = State::Ended;
                Ok(false)
            }
            Ok(chunk) => {
                let used = std::mem::replace(&mut self.current, chunk);
                // A full spare queue only means the thread has enough; drop the buffer then.
                let _ = self.spare.try_send(used);
                self.pos = 0;
                Ok(true)
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.current.len() {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The thread: reads full chunks until the end (sent as an empty chunk) or an error.
fn read_ahead(
    mut inner: Box<dyn Read + Send>,
    chunks: &SyncSender<io::Result<Vec<u8>>>,
    spares: &Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = spares.try_recv().unwrap_or_default();
        chunk.resize(CHUNK_SIZE, 0);
        let filled = match read_full(&mut inner, &mut chunk) {
            Ok(filled) => filled,
            Err(e) => {
                let _ = chunks.send(Err(e));
                return;
            }
        };
        chunk.truncate(filled);
        let ended = filled == 0;
        if chunks.send(Ok(chunk)).is_err() || ended {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FailsAfter {
        left: usize,
    }

    impl Read for FailsAfter {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "tag mismatch"));
            }
            let n = out.len().min(self.left);
            out[..n].fill(7);
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn hands_on_every_byte_in_order_across_chunks() {
        let data: Vec<u8> = (0..(3 * CHUNK_SIZE + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut reader = ReadAhead::spawn(Box::new(io::Cursor::new(data.clone()))).unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
        assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0, "stays at its end");
    }

    #[test]
    fn an_error_of_the_inner_reader_arrives_after_the_bytes_before_it_and_sticks() {
        let mut reader = ReadAhead::spawn(Box::new(FailsAfter {
            left: CHUNK_SIZE + 10,
        }))
        .unwrap();
        let mut got = Vec::new();
        let error = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), "tag mismatch");
        assert_eq!(got.len(), CHUNK_SIZE, "the whole chunk before the error");
        assert!(reader.read(&mut [0u8; 8]).is_err(), "stays failed");
    }

    #[test]
    fn an_empty_stream_ends_at_once() {
        let mut reader = ReadAhead::spawn(Box::new(io::empty())).unwrap();
        assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0);
    }
}
