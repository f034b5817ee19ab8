//! A repeated `client_request_id` (a widget retrying after a dropped connection) gets the
//! stored result instead of paying for a second generation. A retry that arrives while the
//! first call is still running waits for it.
use crate::error::{Error, Result};
use crate::payload::Answer;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

type Outcome = Option<Result<Answer>>;

#[derive(Debug)]
struct Entry {
    fingerprint: [u8; 32],
    outcome: watch::Receiver<Outcome>,
    at: Instant,
}

#[derive(Debug)]
pub struct IdempotencyCache {
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for IdempotencyCache {
    fn default() -> Self {
        IdempotencyCache::new(Duration::from_secs(30 * 60), 256)
    }
}

impl IdempotencyCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        IdempotencyCache { ttl, max_entries, entries: Mutex::default() }
    }

    /// Runs `work` once per (`key`, request body) within the TTL. The work runs on its own
    /// task, so a client that disconnects does not cancel a generation already paid for.
    /// Failures are not kept: a retry after an error tries again.
    pub async fn run<F>(&self, key: String, body: &[u8], work: F) -> Result<Answer>
    where
        F: Future<Output = Result<Answer>> + Send + 'static,
    {
        let fingerprint: [u8; 32] = Sha256::digest(body).into();
        let mut rx = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            entries.retain(|_, e| now.duration_since(e.at) < self.ttl);
            match entries.get(&key) {
                Some(e) if e.fingerprint != fingerprint => {
                    return Err(Error::invalid("This client_request_id was already used for a different edit."));
                }
                Some(e) => e.outcome.clone(),
                None => {
                    if entries.len() >= self.max_entries {
                        if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone()) {
                            entries.remove(&oldest);
                        }
                    }
                    let (tx, rx) = watch::channel(None);
                    entries.insert(key.clone(), Entry { fingerprint, outcome: rx.clone(), at: now });
                    tokio::spawn(async move {
                        let outcome = work.await;
                        tx.send_replace(Some(outcome));
                    });
                    rx
                }
            }
        };
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or_else(|| Err(Error::upstream("The edit was interrupted."))),
            Err(_) => Err(Error::upstream("The edit was interrupted.")),
        };
        if outcome.is_err() {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.get(&key).is_some_and(|e| e.fingerprint == fingerprint) {
                entries.remove(&key);
            }
        }
        outcome
    }
}
