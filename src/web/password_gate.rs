//! Password hashing and checking (argon2, about 19 MiB and tens of milliseconds each) is
//! the one costly thing an anonymous visitor can start. A semaphore lets only as many run at
//! once as there are cores; a request that gets no turn within a second is answered 503, so
//! a flood of sign-ins cannot exhaust memory or stall the blocking pool other pages need.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::sync::Semaphore;

use crate::web::error::{WebError, WebResult};

/// How long a request waits for a turn before it is refused.
const WAIT_FOR_TURN: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct PasswordGate {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl PasswordGate {
    pub fn new(permits: usize, wait: Duration) -> PasswordGate {
        PasswordGate {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            wait,
        }
    }

    /// One turn per core.
    pub fn for_this_machine() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordGate::new(cores, WAIT_FOR_TURN)
    }

    /// Runs `work` (hashing or verifying) on the blocking pool once a turn is free. The turn
    /// is held until the work ends, even if the client has gone away meanwhile.
    pub async fn run<T, F>(&self, work: F) -> WebResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                WebError::Unavailable(
                    "The server is busy checking other passwords; try again in a moment.".into(),
                )
            })?
            .map_err(|e| WebError::Internal(format!("password gate closed: {e}")))?;
        Ok(web::block(move || {
            let _turn = permit;
            work()
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_saturated_gate_refuses_and_a_free_one_runs() {
        let gate = PasswordGate::new(1, Duration::from_millis(50));
        assert_eq!(gate.run(|| 7).await.unwrap(), 7);
        let held = gate.permits.clone().acquire_owned().await.unwrap();
        let refused = gate.run(|| 7).await.unwrap_err();
        assert!(matches!(refused, WebError::Unavailable(_)), "{refused:?}");
        drop(held);
        assert_eq!(gate.run(|| 8).await.unwrap(), 8);
    }
}
