//! The files of a restore, written and checked on their own threads.
//!
//! The tar stream is read on one thread, but checking a file (SHA-256 against the manifest)
//! and writing it cost more than cutting it out of the stream; done on the reading thread,
//! they left a core idle. So each file goes, whole and in order, to one of a few writer
//! threads ("lanes", round-robin): the reading thread cuts it into pieces, a lane creates the
//! file (through the folder descriptor `Staging` opened without following links), hashes and
//! writes each piece, then checks size and digest and sets mode and time. The first failure
//! is kept and returned to the reading thread before its next file, and by [`FileWriters::finish`].
//!
//! Memory is bounded: a lane queues at most [`LANE_DEPTH`] pieces of [`PIECE_SIZE`] bytes, and
//! pieces are recycled, so a buffer is zeroed only when it is first allocated.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

use rustix::fs::{Mode, OFlags};
use sha2::{Digest, Sha256};

use super::staging::timestamps;
use crate::engine::manifest::{FileEntry, Sha256Sum};
use crate::engine::read_full::read_full;
use crate::error::{Error, IoContext, Result};

/// Bytes per piece handed to a lane.
const PIECE_SIZE: usize = 256 * 1024;
/// Pieces a lane may have queued before the reading thread waits for it.
const LANE_DEPTH: usize = 8;

/// One file to create: the folder it goes in (opened without following links), its own
/// name there, what the manifest says it must be, and the mode bits it may get.
pub(super) struct FileJob<'e> {
    pub dir: OwnedFd,
    pub name: &'e str,
    pub entry: &'e FileEntry,
    /// Where it lands on disk, for messages.
    pub disk_path: PathBuf,
    pub mode_mask: u32,
}

enum Piece<'e> {
    /// A whole file in one piece.
    Whole(FileJob<'e>, Vec<u8>, usize),
    Start(FileJob<'e>),
    /// A recycled buffer and how many of its bytes are content.
    Data(Vec<u8>, usize),
    End,
}

/// What the lanes share with the reading thread: recycled buffers and the first failure.
#[derive(Default)]
pub(super) struct Shared {
    spare: Mutex<Vec<Vec<u8>>>,
    failed: AtomicBool,
    failure: Mutex<Option<Error>>,
}

impl Shared {
    fn spare_buffer(&self) -> Vec<u8> {
        let recycled = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        recycled.unwrap_or_else(|| vec![0; PIECE_SIZE])
    }

    fn recycle(&self, buffer: Vec<u8>) {
        self.spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
    }

    fn fail(&self, error: Error) {
        let mut first = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(error);
        }
        self.failed.store(true, Ordering::Release);
    }

    fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The writer lanes of one archive's walk, living inside a `std::thread::scope`.
pub(super) struct FileWriters<'scope, 'e> {
    lanes: Vec<SyncSender<Piece<'e>>>,
    handles: Vec<ScopedJoinHandle<'scope, ()>>,
    next: usize,
    shared: &'scope Shared,
}

impl<'scope, 'e: 'scope> FileWriters<'scope, 'e> {
    /// Starts `lanes` writer threads (at least one) in `scope`.
    pub fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        shared: &'scope Shared,
        lanes: usize,
    ) -> Result<Self> {
        let mut writers = FileWriters {
            lanes: Vec::new(),
            handles: Vec::new(),
            next: 0,
            shared,
        };
        for i in 0..lanes.max(1) {
            let (send, receive) = sync_channel(LANE_DEPTH);
            let handle = std::thread::Builder::new()
                .name(format!("coffer-restore-write-{i}"))
                .spawn_scoped(scope, move || lane(receive, shared))
                .map_err(|e| Error::Archive(format!("cannot start a writer thread: {e}")))?;
            writers.lanes.push(send);
            writers.handles.push(handle);
        }
        Ok(writers)
    }

    /// Hands `job` and its content, read to the end, to the next lane. Fails with an earlier
    /// file's failure, if a lane met one, before reading anything. A file that fits in one
    /// piece (most files of a tree) travels as one message: one wake-up of the lane, not three.
    pub fn write(&mut self, job: FileJob<'e>, content: &mut dyn Read) -> Result<()> {
        self.check()?;
        let lane = self.next;
        self.next = (self.next + 1) % self.lanes.len();
        let (buffer, filled) = self.read_piece(job.entry, content)?;
        if filled < PIECE_SIZE {
            return self.send(lane, Piece::Whole(job, buffer, filled));
        }
        let entry = job.entry;
        self.send(lane, Piece::Start(job))?;
        self.send(lane, Piece::Data(buffer, filled))?;
        loop {
            let (buffer, filled) = self.read_piece(entry, content)?;
            if filled == 0 {
                self.shared.recycle(buffer);
                break;
            }
            self.send(lane, Piece::Data(buffer, filled))?;
            if filled < PIECE_SIZE {
                break;
            }
        }
        self.send(lane, Piece::End)
    }

    /// A recycled buffer filled from `content` (full, or holding the rest of it).
    fn read_piece(&self, entry: &FileEntry, content: &mut dyn Read) -> Result<(Vec<u8>, usize)> {
        let mut buffer = self.shared.spare_buffer();
        match read_full(content, &mut buffer) {
            Ok(filled) => Ok((buffer, filled)),
            Err(e) => {
                self.shared.recycle(buffer);
                Err(e).ctx(|| format!("reading `{}` from the archive", entry.path))
            }
        }
    }

    /// Waits for every lane to finish its files; the first failure, if any.
    pub fn finish(mut self) -> Result<()> {
        self.lanes.clear();
        for handle in self.handles.drain(..) {
            if handle.join().is_err() {
                return Err(Error::Archive("a restore writer thread panicked".into()));
            }
        }
        match self.shared.take_failure() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn check(&self) -> Result<()> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        Err(self
            .shared
            .take_failure()
            .unwrap_or_else(|| Error::Archive("an earlier file failed to restore".into())))
    }

    fn send(&self, lane: usize, piece: Piece<'e>) -> Result<()> {
        self.lanes[lane]
            .send(piece)
            .map_err(|_| Error::Archive("a restore writer thread stopped".into()))
    }
}

/// One lane: creates, fills and checks the files handed to it, in order. After a failure
/// the rest of that file's pieces are dropped; later files are still taken (the reading
/// thread stops at its next file).
fn lane(pieces: Receiver<Piece<'_>>, shared: &Shared) {
    let mut current: Option<OpenFile<'_>> = None;
    for piece in pieces {
        match piece {
            Piece::Whole(job, buffer, filled) => {
                let written = OpenFile::create(job).and_then(|mut file| {
                    file.append(&buffer[..filled])?;
                    file.finish()
                });
                shared.recycle(buffer);
                if let Err(e) = written {
                    shared.fail(e);
                }
            }
            Piece::Start(job) => match OpenFile::create(job) {
                Ok(file) => current = Some(file),
                Err(e) => shared.fail(e),
            },
            Piece::Data(buffer, filled) => {
                if let Some(file) = current.as_mut() {
                    if let Err(e) = file.append(&buffer[..filled]) {
                        current = None;
                        shared.fail(e);
                    }
                }
                shared.recycle(buffer);
            }
            Piece::End => {
                if let Some(Err(e)) = current.take().map(OpenFile::finish) {
                    shared.fail(e);
                }
            }
        }
    }
}

struct OpenFile<'e> {
    job: FileJob<'e>,
    file: File,
    hasher: Sha256,
    written: u64,
}

impl<'e> OpenFile<'e> {
    /// Creates a file that did not exist, never opening an existing one or a link.
    fn create(job: FileJob<'e>) -> Result<Self> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let fd = rustix::fs::openat(
            &job.dir,
            job.name,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io::Error::from)
        .ctx(|| format!("creating {}", job.disk_path.display()))?;
        Ok(OpenFile {
            job,
            file: File::from(fd),
            hasher: Sha256::new(),
            written: 0,
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.file
            .write_all(bytes)
            .ctx(|| format!("writing {}", self.job.disk_path.display()))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Checks the file against the manifest, then sets its mode and time on the descriptor.
    fn finish(self) -> Result<()> {
        let OpenFile {
            job,
            file,
            hasher,
            written,
        } = self;
        let entry = job.entry;
        let sha = Sha256Sum::of(hasher);
        if written != entry.size || Some(sha) != entry.sha256 {
            return Err(Error::Archive(format!(
                "`{}` does not match the manifest ({written} bytes, sha256 {sha})",
                entry.path
            )));
        }
        let shown = || job.disk_path.display();
        rustix::fs::fchmod(&file, Mode::from_raw_mode(entry.mode & job.mode_mask))
            .map_err(io::Error::from)
            .ctx(|| format!("setting the mode of {}", shown()))?;
        rustix::fs::futimens(&file, &timestamps(entry.mtime_ns))
            .map_err(io::Error::from)
            .ctx(|| format!("setting the time of {}", shown()))
    }
}
