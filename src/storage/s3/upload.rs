//! Writing one object: bytes are gathered into parts of `part_size` and uploaded as an S3
//! multipart upload, a few parts in flight at once, so memory stays at about
//! `part_size × (MAX_IN_FLIGHT + 1)` whatever the archive's size. Nothing is visible under
//! the key until `commit` completes the upload; an error or a drop before that aborts it
//! (S3 then discards the parts). A process killed mid-upload leaves only an incomplete
//! multipart upload, which is never an object: a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`) reclaims its parts.
//! On a target with Object Lock, the version the upload created is locked before `commit`
//! returns (`object_lock.rs`).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;

use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;

use super::runtime::{spawn, wait};
use super::signed::SignedClient;
use super::to_io;
use crate::config::ObjectLock;
use crate::storage::PendingObject;

/// The retention to set on the finished object.
pub(super) struct Locking {
    pub client: Arc<SignedClient>,
    pub lock: ObjectLock,
}

/// Parts uploading at once: enough to keep the connection busy while the next part fills.
const MAX_IN_FLIGHT: usize = 3;

pub(super) struct S3Upload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    part_size: usize,
    buffer: Vec<u8>,
    /// Started with the first full part; a small object is one plain PUT at commit.
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: VecDeque<JoinHandle<object_store::Result<()>>>,
    locking: Option<Locking>,
}

impl S3Upload {
    pub(super) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        part_size: usize,
        locking: Option<Locking>,
    ) -> S3Upload {
        S3Upload {
            store,
            path,
            part_size,
            buffer: Vec::with_capacity(part_size),
            upload: None,
            in_flight: VecDeque::new(),
            locking,
        }
    }

    /// Locks the version the upload just created, when the target asks for it.
    fn lock(&self, version: Option<String>) -> io::Result<()> {
        let Some(locking) = &self.locking else {
            return Ok(());
        };
        let (client, path, lock) = (locking.client.clone(), self.path.clone(), locking.lock);
        wait(async move {
            super::object_lock::lock_version(&client, &path, version.as_deref(), lock).await
        })?
        .map(|_| ())
    }

    /// Hands the filled buffer to the upload as its next part.
    fn send_part(&mut self) -> io::Result<()> {
        if self.upload.is_none() {
            let (store, path) = (self.store.clone(), self.path.clone());
            let started = wait(async move { store.put_multipart(&path).await })?;
            self.upload = Some(started.map_err(to_io)?);
        }
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
        let upload = self.upload.as_mut().expect("started above");
        let part = upload.put_part(PutPayload::from(data));
        self.in_flight.push_back(spawn(part));
        while self.in_flight.len() > MAX_IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> io::Result<()> {
        if let Some(part) = self.in_flight.pop_front() {
            wait(part)?
                .map_err(|e| io::Error::other(format!("an upload task failed: {e}")))?
                .map_err(to_io)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let Some(mut upload) = self.upload.take() else {
            let (store, path) = (self.store.clone(), self.path.clone());
            let body = PutPayload::from(std::mem::take(&mut self.buffer));
            let put = wait(async move { store.put(&path, body).await })?.map_err(to_io)?;
            return self.lock(put.version);
        };
        if !self.buffer.is_empty() {
            let data = std::mem::take(&mut self.buffer);
            self.in_flight
                .push_back(spawn(upload.put_part(PutPayload::from(data))));
        }
        let parts = (|| {
            while !self.in_flight.is_empty() {
                self.wait_oldest()?;
            }
            Ok(())
        })();
        if let Err(e) = parts {
            self.upload = Some(upload); // aborted by drop
            return Err(e);
        }
        let (done, upload) = wait(async move {
            let done = upload.complete().await;
            (done, upload)
        })?;
        match done {
            Ok(put) => self.lock(put.version),
            Err(e) => {
                self.upload = Some(upload);
                Err(to_io(e))
            }
        }
    }
}

impl Write for S3Upload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.part_size - self.buffer.len();
        let taken = room.min(data.len());
        self.buffer.extend_from_slice(&data[..taken]);
        if self.buffer.len() == self.part_size {
            self.send_part()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // parts go out when full; the rest at commit
    }
}

impl PendingObject for S3Upload {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        self.finish()
    }
}

impl Drop for S3Upload {
    /// Not committed (an error, a cancelled backup): abort, so no part lingers and nothing
    /// appears under the key.
    fn drop(&mut self) {
        for part in self.in_flight.drain(..) {
            part.abort();
        }
        if let Some(mut upload) = self.upload.take() {
            let path = self.path.clone();
            match wait(async move { upload.abort().await }) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("aborting the upload of {path} failed: {e}"),
                Err(e) => tracing::warn!("aborting the upload of {path} failed: {e}"),
            }
        }
    }
}
