//! A fixed set of worker threads applying one function to jobs, with results taken back in
//! submission order. At most `capacity` jobs are in flight, which bounds memory; the caller
//! takes the oldest result before submitting past that.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

struct Job<J, R> {
    input: J,
    reply: SyncSender<io::Result<R>>,
}

pub(super) struct OrderedPool<J: Send + 'static, R: Send + 'static> {
    jobs: Option<SyncSender<Job<J, R>>>,
    pending: VecDeque<Receiver<io::Result<R>>>,
    workers: Vec<JoinHandle<()>>,
    cancelled: Arc<AtomicBool>,
    capacity: usize,
    name: &'static str,
}

impl<J: Send + 'static, R: Send + 'static> OrderedPool<J, R> {
    /// Starts `threads` workers, each running its own closure from `make_worker` (so each can
    /// own a compressor), with up to `2 × threads` jobs in flight.
    pub fn new<F>(
        threads: usize,
        name: &'static str,
        mut make_worker: impl FnMut() -> F,
    ) -> io::Result<Self>
    where
        F: FnMut(J) -> io::Result<R> + Send + 'static,
    {
        let threads = threads.max(1);
        let capacity = 2 * threads;
        let (jobs, queue) = mpsc::sync_channel::<Job<J, R>>(capacity);
        let queue = Arc::new(Mutex::new(queue));
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut pool = OrderedPool {
            jobs: Some(jobs),
            pending: VecDeque::with_capacity(capacity),
            workers: Vec::with_capacity(threads),
            cancelled: cancelled.clone(),
            capacity,
            name,
        };
        for i in 0..threads {
            let queue = queue.clone();
            let cancelled = cancelled.clone();
            let mut work = make_worker();
            let handle = thread::Builder::new()
                .name(format!("coffer-{name}-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting, never while working.
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = job else { break };
                    if cancelled.load(Ordering::Relaxed) {
                        break;
                    }
                    // The owner may be gone already; then nobody wants the result.
                    let _ = job.reply.send(work(job.input));
                })
                .map_err(|e| io::Error::other(format!("cannot start {name} worker thread: {e}")))?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    pub fn is_full(&self) -> bool {
        self.pending.len() >= self.capacity
    }

    /// Queues a job; the caller makes room with [`Self::take_oldest`] first when full.
    pub fn submit(&mut self, input: J) -> io::Result<()> {
        debug_assert!(!self.is_full());
        let (reply, result) = mpsc::sync_channel(1);
        let sent = self
            .jobs
            .as_ref()
            .map(|jobs| jobs.send(Job { input, reply }));
        match sent {
            Some(Ok(())) => {
                self.pending.push_back(result);
                Ok(())
            }
            _ => Err(self.workers_died()),
        }
    }

    /// Waits for the oldest job's result; `None` when nothing is in flight.
    pub fn take_oldest(&mut self) -> Option<io::Result<R>> {
        let result = self.pending.pop_front()?;
        Some(result.recv().unwrap_or_else(|_| Err(self.workers_died())))
    }

    /// The oldest job's result if it is already done.
    pub fn take_ready(&mut self) -> Option<io::Result<R>> {
        let result = match self.pending.front()?.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(self.workers_died()),
        };
        self.pending.pop_front();
        Some(result)
    }

    fn workers_died(&self) -> io::Error {
        io::Error::other(format!(
            "a {} worker thread stopped unexpectedly",
            self.name
        ))
    }
}

impl<J: Send + 'static, R: Send + 'static> Drop for OrderedPool<J, R> {
    fn drop(&mut self) {
        // Queued jobs are skipped; a job already running finishes (one block, milliseconds).
        self.cancelled.store(true, Ordering::Relaxed);
        self.jobs = None;
        self.pending.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_come_back_in_order() {
        let mut pool = OrderedPool::new(3, "test", || {
            |n: u64| {
                // Later jobs finish first, order must hold anyway.
                thread::sleep(Duration::from_millis(10 - n % 10));
                Ok(n * 2)
            }
        })
        .unwrap();
        let mut out = Vec::new();
        for n in 0..50 {
            if pool.is_full() {
                out.push(pool.take_oldest().unwrap().unwrap());
            }
            pool.submit(n).unwrap();
        }
        while let Some(r) = pool.take_oldest() {
            out.push(r.unwrap());
        }
        assert_eq!(out, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert!(pool.take_oldest().is_none());
    }

    #[test]
    fn errors_and_panics_become_errors() {
        let mut pool = OrderedPool::new(2, "test", || {
            |n: u32| match n {
                1 => Err(io::Error::other("job one failed")),
                2 => panic!("job two panicked (expected in this test)"),
                _ => Ok(n),
            }
        })
        .unwrap();
        for n in 0..4 {
            pool.submit(n).unwrap();
        }
        assert_eq!(pool.take_oldest().unwrap().unwrap(), 0);
        assert_eq!(
            pool.take_oldest().unwrap().unwrap_err().to_string(),
            "job one failed"
        );
        assert!(pool
            .take_oldest()
            .unwrap()
            .unwrap_err()
            .to_string()
            .contains("stopped unexpectedly"));
        assert_eq!(pool.take_oldest().unwrap().unwrap(), 3);
    }

    #[test]
    fn dropping_with_jobs_in_flight_does_not_hang() {
        let mut pool = OrderedPool::new(2, "test", || {
            |n: u32| {
                thread::sleep(Duration::from_millis(20));
                Ok(n)
            }
        })
        .unwrap();
        for n in 0..4 {
            pool.submit(n).unwrap();
        }
        drop(pool);
    }
}
