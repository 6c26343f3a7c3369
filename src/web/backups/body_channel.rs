//! A response body fed by a blocking thread: the thread writes into a [`ChannelWriter`], the
//! body reads fixed-size chunks from a bounded channel. At most [`CHUNKS_IN_FLIGHT`] ×
//! [`CHUNK_SIZE`] bytes are held, so memory does not grow with what is sent, and a slow
//! client slows the writer instead of filling memory. A client that goes away makes the
//! next write fail (`BrokenPipe`), which stops the writer.
//!
//! The writer always holds back its last chunk until [`ChannelWriter::finish`]: whoever
//! checks what was written (a file against its SHA-256) does so before the end goes out. On
//! failure the body ends with an error instead: actix then drops the connection, short of the
//! declared `Content-Length` or without the final chunk of a chunked body, so every client
//! sees a broken download, never a complete-looking wrong file.

use std::io::{self, Write};

use actix_web::web::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::sync::mpsc;

pub const CHUNK_SIZE: usize = 64 * 1024;
pub const CHUNKS_IN_FLIGHT: usize = 8;

pub type Chunk = Result<Bytes, io::Error>;

/// A channel for one response: the writer's end and the body's end.
pub fn channel() -> (mpsc::Sender<Chunk>, impl Stream<Item = Chunk>) {
    let (sender, receiver) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (sender, body)
}

/// Ends the body with an error (the connection is dropped; see the module's comment).
pub fn fail(sender: &mpsc::Sender<Chunk>, reason: String) {
    let _ = sender.blocking_send(Err(io::Error::other(reason)));
}

/// A `Write` that hands chunks to the response body, waiting while the channel is full.
pub struct ChannelWriter {
    sender: mpsc::Sender<Chunk>,
    buffer: BytesMut,
}

impl ChannelWriter {
    pub fn new(sender: mpsc::Sender<Chunk>) -> ChannelWriter {
        ChannelWriter {
            sender,
            buffer: BytesMut::with_capacity(CHUNK_SIZE),
        }
    }

    fn send_buffered(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = self.buffer.split().freeze();
        self.buffer.reserve(CHUNK_SIZE);
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Sends what is held back; the body ends when the last sender is dropped.
    pub fn finish(mut self) -> io::Result<()> {
        self.send_buffered()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full buffer goes out only when more bytes come: the end stays here until
        // `finish` (or `flush`).
        if self.buffer.len() >= CHUNK_SIZE {
            self.send_buffered()?;
        }
        let taken = data.len().min(CHUNK_SIZE - self.buffer.len());
        self.buffer.extend_from_slice(&data[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffered()
    }
}
