//! The S3 client is async (object_store on tokio); Coffer's archive engine is synchronous
//! (`Read` / `Write` on blocking threads). One small runtime owned by the process runs every
//! S3 request, and `wait` lets a blocking thread hand it a future and sleep until the answer.
//! It is never dropped: dropping a runtime from inside another runtime's context panics,
//! and storages are dropped wherever their `App` happens to be.

use std::future::Future;
use std::io;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("coffer-s3")
            .enable_all()
            .build()
            .expect("a tokio runtime for S3 requests can be created")
    })
}

/// Runs `future` on the S3 runtime and blocks this thread until it is done. Works from any
/// thread (also from inside another runtime's blocking pool), so callers need not know.
pub(super) fn wait<F, T>(future: F) -> io::Result<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = answer.send(future.await);
    });
    answered
        .recv()
        .map_err(|_| io::Error::other("an S3 request ended without an answer (its task panicked)"))
}

/// Starts `future` on the S3 runtime without waiting (parts of an upload in flight).
pub(super) fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(future)
}
