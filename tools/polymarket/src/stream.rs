//! [`BookCache`]: the live bundle's streamed order books. One background
//! task runs [`ws::run`] over a single market-channel connection that
//! multiplexes every subscribed token id; it starts on the first
//! subscription (lazily, never at bundle construction), restarts with the
//! new id set when the set changes (the resubscription brings fresh `book`
//! snapshots), restarts lazily after it gave up, and is cancelled when the
//! cache (and so the bundle) is dropped.
//!
//! A lookup answers from the streamed book only when that book is in sync
//! and was updated within the allowed age; otherwise it says why (not
//! subscribed, no snapshot yet, gapped and awaiting a snapshot, stale,
//! stream down), and the caller falls back to a REST snapshot.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::book::L2Book;
use crate::error::{PolymarketError, Result};
use crate::rest::ClobClient;
use crate::ws::{self, StreamConfig, StreamState, StreamStats};

/// Most token ids one cache streams.
pub const MAX_SUBSCRIPTIONS: usize = 500;

/// Stream settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Market-channel URL.
    pub ws_url: String,
    /// Heartbeat period.
    pub ping_every: Duration,
    /// First reconnect delay.
    pub backoff: Duration,
    /// Reconnects before a run gives up (the next use starts a new run).
    pub max_reconnects: u32,
    /// A streamed book older than this (since its last message) is stale.
    pub max_age: Duration,
}

impl CacheConfig {
    /// Polymarket's documented heartbeat and backoff for `ws_url`, books
    /// trusted for 30 s after their last message.
    pub fn new(ws_url: &str) -> Self {
        let d = StreamConfig::new(ws_url, Vec::new());
        Self {
            ws_url: ws_url.to_string(),
            ping_every: d.ping_every,
            backoff: d.backoff,
            max_reconnects: d.max_reconnects,
            max_age: Duration::from_secs(30),
        }
    }
}

struct Running {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<Result<()>>,
    state: StreamState,
}

#[derive(Default)]
struct Inner {
    subscribed: BTreeSet<String>,
    running: Option<Running>,
    runs: u32,
    last_error: Option<String>,
}

/// What a lookup found.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A streamed book, in sync and fresh enough.
    Fresh {
        /// The book.
        book: L2Book,
        /// Milliseconds since its last message.
        age_ms: u64,
    },
    /// No usable streamed book; use REST.
    Miss {
        /// Why (for the answer).
        reason: String,
        /// Milliseconds since the book's last message, when there is one.
        age_ms: Option<u64>,
    },
}

/// Per-token state for status answers.
#[derive(Debug, Clone, Serialize)]
pub struct TokenStatus {
    /// Token id.
    pub token_id: String,
    /// A synced snapshot is held.
    pub synced: bool,
    /// Milliseconds since the last message for it.
    pub age_ms: Option<u64>,
    /// Venue timestamp of the book (ms).
    pub timestamp_ms: Option<i64>,
}

/// The cache's state for status answers.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStatus {
    /// Subscribed token ids.
    pub subscribed: Vec<String>,
    /// Whether the background task is running.
    pub running: bool,
    /// Runs started so far (a run is one `ws::run` with one id set).
    pub runs: u32,
    /// Counters of the current run.
    pub stats: StreamStats,
    /// Why the last run stopped, if it failed.
    pub last_error: Option<String>,
    /// Per token.
    pub tokens: Vec<TokenStatus>,
}

/// Streamed books for the live bundle.
pub struct BookCache {
    cfg: CacheConfig,
    snapshot: Option<Arc<ClobClient>>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BookCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookCache")
            .field("ws_url", &self.cfg.ws_url)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl BookCache {
    /// A cache that streams from `cfg.ws_url` and recovers gapped books
    /// from `snapshot` (REST `GET /book`) when given.
    pub fn new(cfg: CacheConfig, snapshot: Option<Arc<ClobClient>>) -> Self {
        Self {
            cfg,
            snapshot,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The configured staleness limit.
    pub fn max_age(&self) -> Duration {
        self.cfg.max_age
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(inner: &mut Inner) {
        if let Some(r) = inner.running.take() {
            r.cancel.cancel();
            // The task ends at its next await point; it owns nothing else.
            drop(r.handle);
        }
    }

    fn start(&self, inner: &mut Inner) {
        Self::stop(inner);
        if inner.subscribed.is_empty() {
            return;
        }
        let mut cfg =
            StreamConfig::new(&self.cfg.ws_url, inner.subscribed.iter().cloned().collect());
        cfg.ping_every = self.cfg.ping_every;
        cfg.backoff = self.cfg.backoff;
        cfg.max_reconnects = self.cfg.max_reconnects;
        let state = StreamState::default();
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(ws::run(
            cfg,
            state.clone(),
            self.snapshot.clone(),
            cancel.clone(),
        ));
        inner.runs += 1;
        inner.running = Some(Running {
            cancel,
            handle,
            state,
        });
    }

    /// Restarts a run that ended (reconnect budget spent) while tokens are
    /// still subscribed; records why it ended.
    fn ensure_running(&self, inner: &mut Inner) {
        let finished = inner
            .running
            .as_ref()
            .is_none_or(|r| r.handle.is_finished());
        if !finished || inner.subscribed.is_empty() {
            return;
        }
        if let Some(r) = inner.running.take() {
            inner.last_error = Some(match r.handle.now_or_never() {
                Some(Ok(Err(e))) => format!("{e}; restarted"),
                Some(Err(e)) => format!("stream task failed: {e}; restarted"),
                _ => "stream ended; restarted".into(),
            });
        }
        self.start(inner);
    }

    /// Adds and removes token ids; starts, restarts or stops the
    /// connection when the set changes. Returns the subscribed ids.
    pub fn update(&self, add: &[String], remove: &[String]) -> Result<Vec<String>> {
        for (field, ids) in [("subscribe", add), ("unsubscribe", remove)] {
            if let Some(bad) = ids
                .iter()
                .find(|t| t.is_empty() || t.len() > 100 || !t.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(PolymarketError::invalid(
                    field,
                    format!("`{bad}` is not a CLOB token id (a decimal number)"),
                ));
            }
        }
        let mut inner = self.lock();
        let mut next = inner.subscribed.clone();
        next.extend(add.iter().cloned());
        for t in remove {
            next.remove(t);
        }
        if next.len() > MAX_SUBSCRIPTIONS {
            return Err(PolymarketError::invalid(
                "subscribe",
                format!("at most {MAX_SUBSCRIPTIONS} tokens can be streamed at once"),
            ));
        }
        if next != inner.subscribed {
            inner.subscribed = next;
            self.start(&mut inner);
        } else {
            self.ensure_running(&mut inner);
        }
        Ok(inner.subscribed.iter().cloned().collect())
    }

    /// Whether `token_id` is subscribed.
    pub fn is_subscribed(&self, token_id: &str) -> bool {
        self.lock().subscribed.contains(token_id)
    }

    /// The streamed book of `token_id` if it is in sync and its last
    /// message is at most `max_age` old.
    pub fn lookup(&self, token_id: &str, max_age: Duration) -> Lookup {
        let mut inner = self.lock();
        if !inner.subscribed.contains(token_id) {
            return Lookup::Miss {
                reason: "not subscribed (polymarket_stream_books subscribes tokens)".into(),
                age_ms: None,
            };
        }
        self.ensure_running(&mut inner);
        let Some(run) = &inner.running else {
            return Lookup::Miss {
                reason: "stream not running".into(),
                age_ms: None,
            };
        };
        let connected = run.state.stats().connected;
        let books = run.state.books.lock().unwrap_or_else(|p| p.into_inner());
        let Some(book) = books.get(token_id) else {
            return Lookup::Miss {
                reason: if connected {
                    "no streamed snapshot yet (or gapped, awaiting a fresh snapshot)".into()
                } else {
                    "market channel not connected".into()
                },
                age_ms: None,
            };
        };
        let age = book.received_at.map(|t| ms(t.elapsed()));
        if !book.synced || book.received_at.is_none() {
            return Lookup::Miss {
                reason: "streamed book out of sync (gap); awaiting a fresh snapshot".into(),
                age_ms: age,
            };
        }
        let age_ms = age.unwrap_or(u64::MAX);
        if age_ms > ms(max_age) {
            return Lookup::Miss {
                reason: format!(
                    "streamed book stale: last update {age_ms} ms ago, limit {} ms",
                    ms(max_age)
                ),
                age_ms: age,
            };
        }
        if !connected {
            return Lookup::Miss {
                reason: "market channel disconnected; reconnecting".into(),
                age_ms: age,
            };
        }
        Lookup::Fresh {
            book: book.clone(),
            age_ms,
        }
    }

    /// Subscriptions, counters and per-token freshness.
    pub fn status(&self) -> CacheStatus {
        let inner = self.lock();
        let (stats, running) = inner
            .running
            .as_ref()
            .map(|r| (r.state.stats(), !r.handle.is_finished()))
            .unwrap_or_default();
        let tokens = inner
            .subscribed
            .iter()
            .map(|t| {
                let book = inner.running.as_ref().and_then(|r| {
                    let books = r.state.books.lock().unwrap_or_else(|p| p.into_inner());
                    books.get(t).cloned()
                });
                TokenStatus {
                    token_id: t.clone(),
                    synced: book.as_ref().is_some_and(|b| b.synced),
                    age_ms: book
                        .as_ref()
                        .and_then(|b| b.received_at)
                        .map(|r| ms(r.elapsed())),
                    timestamp_ms: book.map(|b| b.timestamp_ms),
                }
            })
            .collect();
        CacheStatus {
            subscribed: inner.subscribed.iter().cloned().collect(),
            running,
            runs: inner.runs,
            stats,
            last_error: inner.last_error.clone(),
            tokens,
        }
    }

    /// Stops the connection (also done on drop).
    pub fn shutdown(&self) {
        Self::stop(&mut self.lock());
    }
}

impl Drop for BookCache {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_run_that_gave_up_is_reported_and_restarted_on_next_use() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("ws://{}/ws/market", listener.local_addr().expect("addr"));
        drop(listener);
        let mut cfg = CacheConfig::new(&url);
        cfg.backoff = Duration::from_millis(2);
        cfg.max_reconnects = 1;
        let cache = BookCache::new(cfg, None);
        assert!(cache.update(&["12".into()], &[]).is_ok());
        assert!(cache.update(&["x".into()], &[]).is_err());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while cache.status().running {
            assert!(tokio::time::Instant::now() < deadline, "run never ended");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(cache.status().runs, 1);
        match cache.lookup("12", Duration::from_secs(1)) {
            Lookup::Miss { reason, .. } => assert!(
                reason.contains("no streamed snapshot") || reason.contains("not connected"),
                "{reason}"
            ),
            Lookup::Fresh { .. } => panic!("no server, no book"),
        }
        let status = cache.status();
        assert_eq!(status.runs, 2);
        assert!(
            status
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("gave up after 1 reconnects")),
            "{status:?}"
        );
        assert!(
            matches!(cache.lookup("13", Duration::from_secs(1)), Lookup::Miss { reason, .. } if reason.contains("not subscribed"))
        );
        cache.update(&[], &["12".into()]).expect("unsubscribe");
        assert!(!cache.status().running);
        assert!(cache.status().subscribed.is_empty());
    }
}
