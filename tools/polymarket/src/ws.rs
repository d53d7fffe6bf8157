//! The market-channel WebSocket client: subscribes to token ids, feeds
//! `book` / `price_change` / `tick_size_change` / `last_trade_price`
//! messages into a [`BookSet`], sends the text `PING` heartbeat Polymarket
//! asks for (its `PONG` replies are counted), reconnects with exponential
//! backoff and resubscribes (which brings fresh `book` snapshots), and on a
//! detected gap discards the token's book and takes a fresh snapshot — from
//! REST `GET /book` when a [`ClobClient`] is given, else by reconnecting
//! and resubscribing. Reconnects are bounded by [`StreamConfig::max_reconnects`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::book::{Applied, BookSet, parse_frame};
use crate::error::{PolymarketError, Result};
use crate::rest::ClobClient;

/// The public market channel.
pub const DEFAULT_WS_URL: &str = "wss://ws-subscriptions-clob.polymarket.com/ws/market";

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// `wss://…/ws/market` (or `ws://` for a local server).
    pub url: String,
    /// Token ids to subscribe to.
    pub asset_ids: Vec<String>,
    /// Heartbeat period (Polymarket: every 10 s).
    pub ping_every: Duration,
    /// First reconnect delay; doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
    /// Reconnects allowed before giving up.
    pub max_reconnects: u32,
}

impl StreamConfig {
    /// Polymarket's documented defaults for `asset_ids` at `url`.
    pub fn new(url: &str, asset_ids: Vec<String>) -> Self {
        Self {
            url: url.to_string(),
            asset_ids,
            ping_every: Duration::from_secs(10),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_reconnects: 20,
        }
    }
}

/// What the stream has done so far.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StreamStats {
    /// Successful connections.
    pub connects: u32,
    /// Subscription messages sent.
    pub subscriptions: u32,
    /// Reconnect attempts after a drop, error or gap.
    pub reconnects: u32,
    /// `book` snapshots applied.
    pub snapshots: u32,
    /// Deltas applied in sync.
    pub deltas: u32,
    /// Gaps detected.
    pub gaps: u32,
    /// Gapped books restored by a fresh snapshot.
    pub recoveries: u32,
    /// `PING`s sent.
    pub pings: u32,
    /// `PONG`s received.
    pub pongs: u32,
    /// Whether a connection is open and subscribed right now.
    pub connected: bool,
}

/// Shared state a running stream updates.
#[derive(Debug, Clone, Default)]
pub struct StreamState {
    /// The books.
    pub books: Arc<Mutex<BookSet>>,
    /// Counters.
    pub stats: Arc<Mutex<StreamStats>>,
}

impl StreamState {
    /// A copy of the counters.
    pub fn stats(&self) -> StreamStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn bump(&self, f: impl FnOnce(&mut StreamStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// The subscription message of the market channel.
// Doc: https://docs.polymarket.com/market-data/websocket/overview ({"assets_ids": [...], "type": "market"})
pub fn subscription(asset_ids: &[String]) -> String {
    serde_json::json!({ "assets_ids": asset_ids, "type": "market" }).to_string()
}

enum Exit {
    Dropped,
    Gap,
    Cancelled,
}

/// Runs the stream until `cancel` fires (Ok) or the reconnect budget is
/// spent (Err).
// Doc: https://docs.polymarket.com/market-data/websocket/overview (heartbeats: send
// `PING` every 10 s, expect `PONG`; reconnect with backoff and resubscribe; rebuild
// the book from the new snapshot) and https://docs.polymarket.com/api-reference/wss/market
pub async fn run(
    cfg: StreamConfig,
    state: StreamState,
    snapshot: Option<Arc<ClobClient>>,
    cancel: CancellationToken,
) -> Result<()> {
    if cfg.asset_ids.is_empty() {
        return Err(PolymarketError::invalid(
            "asset_ids",
            "subscribe to at least one token id",
        ));
    }
    nt_venue_http::install_crypto_provider();
    let mut backoff = cfg.backoff;
    let mut reconnects = 0u32;
    let mut awaiting: HashSet<String> = HashSet::new();
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        let exit = match tokio_tungstenite::connect_async(cfg.url.as_str()).await {
            Ok((ws, _)) => {
                state.bump(|s| s.connects += 1);
                backoff = cfg.backoff;
                let exit = session(
                    &cfg,
                    &state,
                    snapshot.as_deref(),
                    &cancel,
                    ws,
                    &mut awaiting,
                )
                .await;
                state.bump(|s| s.connected = false);
                exit
            }
            Err(err) => {
                tracing::warn!(url = %cfg.url, error = %err, "market channel connect failed");
                Exit::Dropped
            }
        };
        if matches!(exit, Exit::Cancelled) {
            return Ok(());
        }
        reconnects += 1;
        if reconnects > cfg.max_reconnects {
            return Err(PolymarketError::Upstream(format!(
                "market channel: gave up after {} reconnects",
                cfg.max_reconnects
            )));
        }
        state.bump(|s| s.reconnects += 1);
        let delay = if matches!(exit, Exit::Gap) {
            Duration::ZERO
        } else {
            backoff
        };
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}

async fn session<S>(
    cfg: &StreamConfig,
    state: &StreamState,
    snapshot: Option<&ClobClient>,
    cancel: &CancellationToken,
    ws: tokio_tungstenite::WebSocketStream<S>,
    awaiting: &mut HashSet<String>,
) -> Exit
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = ws.split();
    if tx
        .send(Message::Text(subscription(&cfg.asset_ids).into()))
        .await
        .is_err()
    {
        return Exit::Dropped;
    }
    state.bump(|s| {
        s.subscriptions += 1;
        s.connected = true;
    });
    let mut ping = tokio::time::interval(cfg.ping_every.max(Duration::from_millis(1)));
    ping.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                let _ = tx.close().await;
                return Exit::Cancelled;
            }
            _ = ping.tick() => {
                if tx.send(Message::Text("PING".into())).await.is_err() {
                    return Exit::Dropped;
                }
                state.bump(|s| s.pings += 1);
            }
            msg = rx.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Exit::Dropped,
                    Some(Ok(_)) => continue,
                };
                if text.trim() == "PONG" {
                    state.bump(|s| s.pongs += 1);
                    continue;
                }
                let events = match parse_frame(text.as_str()) {
                    Ok(e) => e,
                    Err(err) => {
                        tracing::warn!(error = %err, "market channel: unreadable message");
                        continue;
                    }
                };
                let mut gapped = Vec::new();
                {
                    let now = Instant::now();
                    let mut books = state.books.lock().unwrap_or_else(|p| p.into_inner());
                    for event in &events {
                        let Ok(applied) = books.apply(event) else { continue };
                        for a in applied {
                            match a {
                                Applied::Snapshot { asset_id } => {
                                    books.touch(&asset_id, now);
                                    let recovered = awaiting.remove(&asset_id);
                                    state.bump(|s| {
                                        s.snapshots += 1;
                                        s.recoveries += u32::from(recovered);
                                    });
                                }
                                Applied::Delta { asset_id } => {
                                    books.touch(&asset_id, now);
                                    state.bump(|s| s.deltas += 1);
                                }
                                Applied::Gap { asset_id, reason } => {
                                    tracing::warn!(%asset_id, %reason, "market channel gap");
                                    books.discard(&asset_id);
                                    awaiting.insert(asset_id.clone());
                                    state.bump(|s| s.gaps += 1);
                                    gapped.push(asset_id);
                                }
                                Applied::Meta { asset_id } => books.touch(&asset_id, now),
                                Applied::Stale { .. } => {}
                            }
                        }
                    }
                }
                if gapped.is_empty() {
                    continue;
                }
                let Some(clob) = snapshot else {
                    // No REST client: resubscribing brings fresh snapshots.
                    let _ = tx.close().await;
                    return Exit::Gap;
                };
                for id in gapped {
                    match clob.book(&id).await {
                        Ok(msg) => {
                            let mut books = state.books.lock().unwrap_or_else(|p| p.into_inner());
                            if books.apply_book(&msg).is_ok() {
                                books.touch(&id, Instant::now());
                            }
                            if books.get(&id).is_some_and(|b| b.synced) && awaiting.remove(&id) {
                                state.bump(|s| {
                                    s.snapshots += 1;
                                    s.recoveries += 1;
                                });
                            }
                        }
                        Err(err) => {
                            tracing::warn!(asset_id = %id, error = %err, "REST snapshot failed; resubscribing");
                            let _ = tx.close().await;
                            return Exit::Gap;
                        }
                    }
                }
            }
        }
    }
}
