//! Reading one object as a stream: a task on the S3 runtime pulls the response body and
//! passes its chunks through a small bounded channel, so a slow reader holds back the
//! download instead of buffering the object in memory.

use std::io::{self, Read};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::GetResult;
use tokio::sync::mpsc;

use super::runtime::spawn;
use super::to_io;

/// Chunks (typically 8–64 KiB each) waiting for the reader.
const CHUNKS_AHEAD: usize = 16;

pub(super) struct S3Reader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    done: bool,
}

impl S3Reader {
    pub(super) fn new(result: GetResult) -> S3Reader {
        let (sender, chunks) = mpsc::channel(CHUNKS_AHEAD);
        let mut body = result.into_stream();
        spawn(async move {
            while let Some(chunk) = body.next().await {
                let failed = chunk.is_err();
                if sender.send(chunk.map_err(to_io)).await.is_err() || failed {
                    break; // the reader went away, or the error is delivered
                }
            }
        });
        S3Reader {
            chunks,
            current: Bytes::new(),
            done: false,
        }
    }
}

impl Read for S3Reader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            // Storage reads run on blocking threads (like file reads), never on async ones.
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => self.done = true,
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
