//! The CLOB **user channel**: the authenticated WebSocket on which
//! Polymarket pushes this API key's own `order` events (PLACEMENT, UPDATE,
//! CANCELLATION) and `trade` events (MATCHED -> MINED -> CONFIRMED, or
//! RETRYING / FAILED), and the [`Recorder`] that applies them to the live
//! tables: `pm_live_orders` (status and size matched of the orders this
//! server placed) and `pm_live_fills` (one row per trade id; a repeated
//! frame changes nothing, a newer status updates the row), each change
//! with its `audit_log` row in the same transaction. Trades of orders this
//! server did not place are recorded too, with `placed_here = 0`.
//!
//! Protocol (CLOB V2, as documented in the user channel's AsyncAPI
//! `asyncapi-user.json` v1.0.0, <https://docs.polymarket.com/api-reference/wss/user>,
//! the page <https://docs.polymarket.com/market-data/websocket/user-channel>,
//! and py-clob-client-v2's `examples/account/user_socket.py`):
//! - endpoint `wss://ws-subscriptions-clob.polymarket.com/ws/user`;
//! - right after connecting, send `{"auth": {"apiKey", "secret", "passphrase"},
//!   "type": "user", "markets": [condition ids], "assets_ids": [],
//!   "initial_dump": true}` (the market list is an optional filter), and
//!   again after every reconnect;
//! - heartbeat: the text `PING` every 10 s, answered by `PONG`;
//! - a frame holds one event object or an array of them, told apart by
//!   `event_type` (`order` / `trade`).
//!
//! [`run`] keeps one connection up like the market channel client in
//! [`crate::ws`]: exponential backoff bounded by
//! [`UserStreamConfig::max_reconnects`], resubscription, a cancellation
//! token, and counters in [`UserStreamStats`]. [`UserStream`] owns one
//! running stream for the `polymarket_stream_orders` tool.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::auth::ApiCreds;
use crate::error::{PolymarketError, Result};

/// The user channel.
pub const DEFAULT_USER_WS_URL: &str = "wss://ws-subscriptions-clob.polymarket.com/ws/user";

/// How many recent order events [`UserStreamState`] keeps for display.
const RECENT: usize = 50;

/// The user-channel URL next to a market-channel URL
/// (`…/ws/market` -> `…/ws/user`; a bare host gets `/ws/user`).
pub fn user_url(market_url: &str) -> String {
    let base = market_url.trim().trim_end_matches('/');
    if let Some(root) = base.strip_suffix("/market") {
        format!("{root}/user")
    } else if base.ends_with("/ws") {
        format!("{base}/user")
    } else if base.ends_with("/ws/user") {
        base.to_string()
    } else {
        format!("{base}/ws/user")
    }
}

/// Connection settings.
#[derive(Clone)]
pub struct UserStreamConfig {
    /// `wss://…/ws/user` (or `ws://` for a local server).
    pub url: String,
    /// The API credentials the subscription authenticates with.
    pub creds: ApiCreds,
    /// Condition ids to receive events for (empty: no filter).
    pub markets: Vec<String>,
    /// Heartbeat period (Polymarket: every 10 s).
    pub ping_every: Duration,
    /// First reconnect delay; doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
    /// Consecutive reconnects allowed before giving up; a connection that
    /// delivered an event or a `PONG` starts the count again.
    pub max_reconnects: u32,
}

impl std::fmt::Debug for UserStreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStreamConfig")
            .field("url", &self.url)
            .field("markets", &self.markets)
            .finish_non_exhaustive()
    }
}

impl UserStreamConfig {
    /// Polymarket's documented defaults for `markets` at `url`.
    pub fn new(url: &str, creds: ApiCreds, markets: Vec<String>) -> Self {
        Self {
            url: url.to_string(),
            creds,
            markets,
            ping_every: Duration::from_secs(10),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_reconnects: 20,
        }
    }
}

/// The user channel's subscription message.
// Doc: https://docs.polymarket.com/market-data/websocket/user-channel (auth, markets, type)
// and py-clob-client-v2 examples/account/user_socket.py (assets_ids, initial_dump).
pub fn subscription(creds: &ApiCreds, markets: &[String]) -> String {
    json!({
        "auth": { "apiKey": creds.key, "secret": creds.secret, "passphrase": creds.passphrase },
        "type": "user",
        "markets": markets,
        "assets_ids": [],
        "initial_dump": true,
    })
    .to_string()
}

mod events;
mod record;

pub use events::{
    MakerOrder, OrderEvent, OrderEventKind, TradeEvent, TradeStatus, UserEvent, parse_event,
    parse_frame,
};
pub use record::{Outcome, Recorder};

// ---------------------------------------------------------------- state

/// What the stream has done so far.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct UserStreamStats {
    /// Successful connections.
    pub connects: u32,
    /// Subscription messages sent (one per connection).
    pub subscriptions: u32,
    /// Reconnect attempts after a drop or error.
    pub reconnects: u32,
    /// `PING`s sent.
    pub pings: u32,
    /// `PONG`s received.
    pub pongs: u32,
    /// `order` events received.
    pub order_events: u32,
    /// `trade` events received.
    pub trade_events: u32,
    /// Orders of this server whose status or size matched changed.
    pub orders_updated: u32,
    /// Order events that changed nothing (repeats, initial dumps).
    pub orders_unchanged: u32,
    /// Order events for orders this server did not place.
    pub orders_not_placed_here: u32,
    /// New trades recorded in `pm_live_fills`.
    pub fills_recorded: u32,
    /// Trades whose status moved on.
    pub fills_updated: u32,
    /// Trade events that changed nothing (repeats, stale statuses).
    pub fills_unchanged: u32,
    /// New trades of orders this server did not place.
    pub fills_not_placed_here: u32,
    /// Entries that could not be read.
    pub unreadable: u32,
    /// Events the store failed to record.
    pub store_errors: u32,
    /// Whether a connection is open and subscribed right now.
    pub connected: bool,
    /// Why the stream stopped, when it gave up.
    pub last_error: Option<String>,
    /// The last text the venue sent that was neither an event nor `PONG`
    /// (an authentication error, say), at most 200 characters.
    pub notice: Option<String>,
}

/// One recent order event, as the tool shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OrderSeen {
    /// Venue order id.
    pub order_id: String,
    /// Our client order id, when this server placed the order.
    pub client_order_id: Option<String>,
    /// Whether this server placed the order.
    pub placed_here: bool,
    /// PLACEMENT, UPDATE or CANCELLATION.
    pub event: String,
    /// The status it implies (`live`, `matched`, `cancelled`).
    pub status: String,
    /// Shares matched so far.
    pub size_matched: Decimal,
    /// Size when placed.
    pub original_size: Decimal,
    /// Condition id.
    pub market: String,
}

/// Shared state a running stream updates.
#[derive(Debug, Clone, Default)]
pub struct UserStreamState {
    stats: Arc<Mutex<UserStreamStats>>,
    recent: Arc<Mutex<VecDeque<OrderSeen>>>,
}

impl UserStreamState {
    /// A copy of the counters.
    pub fn stats(&self) -> UserStreamStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The latest order events, newest first.
    pub fn recent_orders(&self) -> Vec<OrderSeen> {
        let r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        r.iter().rev().cloned().collect()
    }

    fn bump(&self, f: impl FnOnce(&mut UserStreamStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn remember(&self, seen: OrderSeen) {
        let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        r.retain(|o| o.order_id != seen.order_id);
        r.push_back(seen);
        while r.len() > RECENT {
            r.pop_front();
        }
    }
}

// ---------------------------------------------------------------- connection

enum Exit {
    /// The connection ended; `healthy` when it delivered an event or a `PONG`.
    Dropped {
        healthy: bool,
    },
    Cancelled,
}

/// Runs the stream until `cancel` fires (Ok) or the reconnect budget is
/// spent (Err), applying every event with `recorder`.
// Doc: https://docs.polymarket.com/market-data/websocket/overview (send `PING` every
// 10 s, expect `PONG`; reconnect with backoff and resubscribe).
pub async fn run(
    cfg: UserStreamConfig,
    recorder: Recorder,
    state: UserStreamState,
    cancel: CancellationToken,
) -> Result<()> {
    nt_venue_http::install_crypto_provider();
    let mut backoff = cfg.backoff;
    let mut reconnects = 0u32;
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        let exit = match tokio_tungstenite::connect_async(cfg.url.as_str()).await {
            Ok((ws, _)) => {
                state.bump(|s| s.connects += 1);
                backoff = cfg.backoff;
                let exit = session(&cfg, &recorder, &state, &cancel, ws).await;
                state.bump(|s| s.connected = false);
                exit
            }
            Err(err) => {
                tracing::warn!(url = %cfg.url, error = %err, "user channel connect failed");
                Exit::Dropped { healthy: false }
            }
        };
        match exit {
            Exit::Cancelled => return Ok(()),
            Exit::Dropped { healthy: true } => reconnects = 0,
            Exit::Dropped { healthy: false } => {}
        }
        reconnects += 1;
        if reconnects > cfg.max_reconnects {
            return Err(PolymarketError::Upstream(format!(
                "user channel: gave up after {} reconnects in a row",
                cfg.max_reconnects
            )));
        }
        state.bump(|s| s.reconnects += 1);
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}

async fn session<S>(
    cfg: &UserStreamConfig,
    recorder: &Recorder,
    state: &UserStreamState,
    cancel: &CancellationToken,
    ws: tokio_tungstenite::WebSocketStream<S>,
) -> Exit
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = ws.split();
    let sub = subscription(&cfg.creds, &cfg.markets);
    let mut healthy = false;
    if tx.send(Message::Text(sub.into())).await.is_err() {
        return Exit::Dropped { healthy };
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
                    return Exit::Dropped { healthy };
                }
                state.bump(|s| s.pings += 1);
            }
            msg = rx.next() => {
                let frame = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Exit::Dropped { healthy },
                    Some(Ok(_)) => continue,
                };
                let t = frame.trim();
                if t == "PONG" {
                    healthy = true;
                    state.bump(|s| s.pongs += 1);
                    continue;
                }
                if !t.is_empty() && !t.starts_with('{') && !t.starts_with('[') {
                    tracing::warn!(text = %t, "user channel: message from the venue");
                    let notice: String = t.chars().take(200).collect();
                    state.bump(|s| s.notice = Some(notice));
                    continue;
                }
                let (events, bad) = parse_frame(t);
                healthy |= !events.is_empty();
                state.bump(|s| s.unreadable += bad);
                for event in &events {
                    state.bump(|s| match event {
                        UserEvent::Order(_) => s.order_events += 1,
                        UserEvent::Trade(_) => s.trade_events += 1,
                    });
                    match recorder.apply(event, state).await {
                        Ok(outcome) => state.bump(|s| match outcome {
                            Outcome::OrderUpdated => s.orders_updated += 1,
                            Outcome::OrderUnchanged => s.orders_unchanged += 1,
                            Outcome::OrderNotPlacedHere => s.orders_not_placed_here += 1,
                            Outcome::FillRecorded { placed_here } => {
                                s.fills_recorded += 1;
                                s.fills_not_placed_here += u32::from(!placed_here);
                            }
                            Outcome::FillUpdated => s.fills_updated += 1,
                            Outcome::FillUnchanged => s.fills_unchanged += 1,
                        }),
                        Err(err) => {
                            tracing::warn!(error = %err, "user channel: event not recorded");
                            state.bump(|s| s.store_errors += 1);
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- owner

struct Running {
    markets: Vec<String>,
    url: String,
    state: UserStreamState,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// What [`UserStream::start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Started {
    /// A new stream was started.
    Started,
    /// A stream with the same markets was already running.
    AlreadyRunning,
    /// The running stream was replaced by one for other markets.
    Restarted,
}

/// A stream's status as the tool reports it.
#[derive(Debug, Clone, Serialize)]
pub struct UserStreamStatus {
    /// Whether the stream task is running.
    pub running: bool,
    /// Where it connects.
    pub url: String,
    /// The markets subscribed (empty: no filter).
    pub markets: Vec<String>,
    /// Counters.
    pub stats: UserStreamStats,
    /// The latest order events, newest first.
    pub recent_orders: Vec<OrderSeen>,
}

/// Owns at most one running user-channel stream (the bundle holds one).
#[derive(Default)]
pub struct UserStream {
    inner: Mutex<Option<Running>>,
}

impl std::fmt::Debug for UserStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStream")
            .field("running", &self.status().is_some_and(|s| s.running))
            .finish()
    }
}

fn status_of(r: &Running) -> UserStreamStatus {
    UserStreamStatus {
        running: !r.task.is_finished(),
        url: r.url.clone(),
        markets: r.markets.clone(),
        stats: r.state.stats(),
        recent_orders: r.state.recent_orders(),
    }
}

impl UserStream {
    /// Starts streaming `cfg.markets` (sorted, deduplicated); keeps a
    /// running stream for the same markets, replaces one for others.
    pub fn start(&self, mut cfg: UserStreamConfig, recorder: Recorder) -> Started {
        cfg.markets.sort();
        cfg.markets.dedup();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut outcome = Started::Started;
        if let Some(r) = inner.as_ref() {
            if !r.task.is_finished() && r.markets == cfg.markets && r.url == cfg.url {
                return Started::AlreadyRunning;
            }
            if !r.task.is_finished() {
                outcome = Started::Restarted;
            }
            r.cancel.cancel();
        }
        let state = UserStreamState::default();
        let cancel = CancellationToken::new();
        let (markets, url) = (cfg.markets.clone(), cfg.url.clone());
        let task = {
            let (state, cancel) = (state.clone(), cancel.clone());
            tokio::spawn(async move {
                if let Err(err) = run(cfg, recorder, state.clone(), cancel).await {
                    tracing::warn!(error = %err, "user channel stopped");
                    state.bump(|s| s.last_error = Some(err.to_string()));
                }
            })
        };
        *inner = Some(Running {
            markets,
            url,
            state,
            cancel,
            task,
        });
        outcome
    }

    /// Stops the stream; returns its last status, `None` if none ran.
    pub fn stop(&self) -> Option<UserStreamStatus> {
        let r = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        r.cancel.cancel();
        let mut status = status_of(&r);
        status.running = false;
        Some(status)
    }

    /// The stream's status, `None` if none was started.
    pub fn status(&self) -> Option<UserStreamStatus> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(status_of)
    }
}

impl Drop for UserStream {
    fn drop(&mut self) {
        if let Some(r) = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            r.cancel.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_url_follows_the_market_url() {
        assert_eq!(
            user_url("wss://ws-subscriptions-clob.polymarket.com/ws/market"),
            DEFAULT_USER_WS_URL
        );
        assert_eq!(user_url("ws://127.0.0.1:9/ws/"), "ws://127.0.0.1:9/ws/user");
        assert_eq!(user_url("ws://127.0.0.1:9"), "ws://127.0.0.1:9/ws/user");
        assert_eq!(user_url("ws://h/ws/user"), "ws://h/ws/user");
    }
}
