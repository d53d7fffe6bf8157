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
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use nt_mcp_core::clock::Clock;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::auth::ApiCreds;
use crate::error::{PolymarketError, Result};
use crate::live::LIVE_VENUE;
use crate::venue::{AuditInfo, audit_row};

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
    /// Reconnects allowed before giving up.
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

// ---------------------------------------------------------------- events

/// What an `order` event reports (its `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum OrderEventKind {
    /// The order was placed.
    Placement,
    /// Some of it matched.
    Update,
    /// It was cancelled.
    Cancellation,
    /// A type this client does not know (kept as sent).
    Other(String),
}

impl OrderEventKind {
    fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "PLACEMENT" => Self::Placement,
            "UPDATE" => Self::Update,
            "CANCELLATION" => Self::Cancellation,
            _ => Self::Other(s.to_string()),
        }
    }

    /// The venue's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Placement => "PLACEMENT",
            Self::Update => "UPDATE",
            Self::Cancellation => "CANCELLATION",
            Self::Other(s) => s,
        }
    }
}

/// An `order` event: one of this API key's orders changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderEvent {
    /// Venue order id.
    pub id: String,
    /// PLACEMENT, UPDATE or CANCELLATION.
    pub kind: OrderEventKind,
    /// Token id.
    pub asset_id: String,
    /// Condition id.
    pub market: String,
    /// BUY or SELL.
    pub side: String,
    /// Limit price.
    pub price: Decimal,
    /// Size when placed.
    pub original_size: Decimal,
    /// Shares matched so far.
    pub size_matched: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// The order's status when the event carries one.
    pub status: Option<String>,
    /// Ids of the trades the order took part in.
    pub associate_trades: Vec<String>,
    /// API key of the order's owner.
    pub owner: String,
    /// Event time as sent.
    pub timestamp: String,
}

/// A trade's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TradeStatus {
    /// Matched and sent to the exchange contract.
    Matched,
    /// Mined into the chain.
    Mined,
    /// Final.
    Confirmed,
    /// The transaction failed and is being retried.
    Retrying,
    /// Failed for good.
    Failed,
    /// A status this client does not know (kept as sent).
    Other(String),
}

impl TradeStatus {
    /// Parses the venue's spelling.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "MATCHED" => Self::Matched,
            "MINED" => Self::Mined,
            "CONFIRMED" => Self::Confirmed,
            "RETRYING" => Self::Retrying,
            "FAILED" => Self::Failed,
            _ => Self::Other(s.to_ascii_uppercase()),
        }
    }

    /// The venue's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched => "MATCHED",
            Self::Mined => "MINED",
            Self::Confirmed => "CONFIRMED",
            Self::Retrying => "RETRYING",
            Self::Failed => "FAILED",
            Self::Other(s) => s,
        }
    }

    /// CONFIRMED and FAILED never change again.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed)
    }

    /// Position on the documented path MATCHED -> (RETRYING ->) MINED ->
    /// CONFIRMED | FAILED, for frames with equal or no `last_update`.
    fn rank(&self) -> u8 {
        match self {
            Self::Matched => 0,
            Self::Retrying | Self::Other(_) => 1,
            Self::Mined => 2,
            Self::Confirmed | Self::Failed => 3,
        }
    }

    /// Whether a frame with `self` at `new_update` replaces the stored
    /// `old` status at `old_update`: never after a terminal status; else a
    /// later `last_update` wins, and on a tie (or without one) the status
    /// further along the path.
    pub fn supersedes(&self, new_update: Option<i64>, old: &Self, old_update: Option<i64>) -> bool {
        if self == old || old.is_terminal() {
            return false;
        }
        match (new_update, old_update) {
            (Some(n), Some(o)) if n != o => n > o,
            _ => self.rank() > old.rank(),
        }
    }
}

/// One maker order filled by a trade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MakerOrder {
    /// Venue order id.
    pub order_id: String,
    /// Token id.
    pub asset_id: String,
    /// Shares of this maker order matched in the trade.
    pub matched_amount: Decimal,
    /// The maker order's price.
    pub price: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// API key of the maker order's owner.
    pub owner: String,
}

/// A `trade` event: a match involving one of this API key's orders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeEvent {
    /// Trade id.
    pub id: String,
    /// Status.
    pub status: TradeStatus,
    /// Token id (the taker's).
    pub asset_id: String,
    /// Condition id.
    pub market: String,
    /// Taker side, BUY or SELL.
    pub side: String,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub size: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// The taker order's id.
    pub taker_order_id: String,
    /// The maker orders it filled.
    pub maker_orders: Vec<MakerOrder>,
    /// API key of the event's owner.
    pub owner: String,
    /// API key of the trade's (taker's) owner.
    pub trade_owner: String,
    /// Match time as sent.
    pub matchtime: String,
    /// Last update of the trade as sent (unix seconds).
    pub last_update: String,
}

impl TradeEvent {
    fn last_update_secs(&self) -> Option<i64> {
        self.last_update.trim().parse().ok()
    }
}

/// A user-channel event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum UserEvent {
    /// An `order` event.
    Order(OrderEvent),
    /// A `trade` event.
    Trade(TradeEvent),
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn decimal(v: &Value, key: &str) -> Result<Decimal> {
    let t = text(v, key);
    if t.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(t.trim())
        .map(|d| d.normalize())
        .map_err(|_| {
            PolymarketError::Upstream(format!("user channel: `{key}` = `{t}` is not a decimal"))
        })
}

fn required(v: &Value, key: &str) -> Result<String> {
    let t = text(v, key);
    if t.is_empty() {
        return Err(PolymarketError::Upstream(format!(
            "user channel: event without `{key}`"
        )));
    }
    Ok(t)
}

/// Parses one event object; `Ok(None)` for event types this client does
/// not use.
pub fn parse_event(v: &Value) -> Result<Option<UserEvent>> {
    let kind = text(v, "event_type").to_ascii_lowercase();
    match kind.as_str() {
        "order" => Ok(Some(UserEvent::Order(OrderEvent {
            id: required(v, "id")?,
            kind: OrderEventKind::parse(&text(v, "type")),
            asset_id: text(v, "asset_id"),
            market: text(v, "market"),
            side: text(v, "side").to_ascii_uppercase(),
            price: decimal(v, "price")?,
            original_size: decimal(v, "original_size")?,
            size_matched: decimal(v, "size_matched")?,
            outcome: text(v, "outcome"),
            status: Some(text(v, "status")).filter(|s| !s.is_empty()),
            associate_trades: v
                .get("associate_trades")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            owner: Some(text(v, "order_owner"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| text(v, "owner")),
            timestamp: text(v, "timestamp"),
        }))),
        "trade" => {
            let mut makers = Vec::new();
            for m in v
                .get("maker_orders")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                makers.push(MakerOrder {
                    order_id: required(m, "order_id")?,
                    asset_id: text(m, "asset_id"),
                    matched_amount: decimal(m, "matched_amount")?,
                    price: decimal(m, "price")?,
                    outcome: text(m, "outcome"),
                    owner: text(m, "owner"),
                });
            }
            Ok(Some(UserEvent::Trade(TradeEvent {
                id: required(v, "id")?,
                status: TradeStatus::parse(&required(v, "status")?),
                asset_id: text(v, "asset_id"),
                market: text(v, "market"),
                side: text(v, "side").to_ascii_uppercase(),
                price: decimal(v, "price")?,
                size: decimal(v, "size")?,
                outcome: text(v, "outcome"),
                taker_order_id: text(v, "taker_order_id"),
                maker_orders: makers,
                owner: text(v, "owner"),
                trade_owner: text(v, "trade_owner"),
                matchtime: text(v, "matchtime"),
                last_update: text(v, "last_update"),
            })))
        }
        _ => Ok(None),
    }
}

/// Parses one text frame (one event or an array of them). Returns the
/// events read and how many entries were unreadable; `PONG` and other
/// non-JSON keepalives give neither.
pub fn parse_frame(frame: &str) -> (Vec<UserEvent>, u32) {
    let t = frame.trim();
    if !t.starts_with('{') && !t.starts_with('[') {
        return (Vec::new(), 0);
    }
    let Ok(v) = serde_json::from_str::<Value>(t) else {
        return (Vec::new(), 1);
    };
    let items = match v {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut events = Vec::new();
    let mut bad = 0;
    for item in &items {
        match parse_event(item) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "user channel: unreadable event");
                bad += 1;
            }
        }
    }
    (events, bad)
}

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

// ---------------------------------------------------------------- store

/// What applying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An order of this server changed (status or size matched).
    OrderUpdated,
    /// An order event that changed nothing.
    OrderUnchanged,
    /// An order this server did not place (nothing written).
    OrderNotPlacedHere,
    /// A new trade was recorded; `placed_here` says whether it fills an
    /// order of this server.
    FillRecorded {
        /// Whether this server placed the order filled.
        placed_here: bool,
    },
    /// A known trade moved to a newer status.
    FillUpdated,
    /// A repeated or stale trade event.
    FillUnchanged,
}

/// Applies user-channel events to the store, writing an audit row with
/// each change.
#[derive(Clone)]
pub struct Recorder {
    pool: sqlx::AnyPool,
    clock: Arc<dyn Clock>,
    audit: AuditInfo,
    api_key: String,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("tool", &self.audit.tool)
            .finish_non_exhaustive()
    }
}

/// The status an order event implies, given the one stored.
fn next_status(stored: &str, ev: &OrderEvent, matched: Decimal) -> String {
    if matches!(stored, "cancelled" | "matched" | "rejected") {
        return stored.to_string();
    }
    let filled = ev.original_size > Decimal::ZERO && matched >= ev.original_size;
    match &ev.kind {
        OrderEventKind::Cancellation => "cancelled".into(),
        OrderEventKind::Placement | OrderEventKind::Update if filled => "matched".into(),
        OrderEventKind::Placement | OrderEventKind::Update => "live".into(),
        OrderEventKind::Other(_) => match ev.status.as_deref().map(str::to_ascii_lowercase) {
            Some(s) if s == "canceled" || s == "cancelled" => "cancelled".into(),
            Some(s) if !s.is_empty() => s,
            _ => stored.to_string(),
        },
    }
}

fn stored_decimal(row: &sqlx::any::AnyRow, col: &str) -> Decimal {
    row.try_get::<Option<String>, _>(col)
        .ok()
        .flatten()
        .and_then(|t| Decimal::from_str(&t).ok())
        .unwrap_or_default()
}

impl Recorder {
    /// A recorder writing to `pool`; audit rows copy `audit` (tool, caller,
    /// variant) with the time from `clock`. `api_key` tells this key's
    /// maker orders in a trade.
    pub fn new(
        pool: sqlx::AnyPool,
        clock: Arc<dyn Clock>,
        audit: AuditInfo,
        api_key: &str,
    ) -> Self {
        Self {
            pool,
            clock,
            audit,
            api_key: api_key.to_string(),
        }
    }

    fn audit_now(&self) -> AuditInfo {
        AuditInfo {
            at_ms: self.clock.now_ms(),
            ..self.audit.clone()
        }
    }

    /// Applies one event (in one transaction with its audit row).
    pub async fn apply(&self, event: &UserEvent, state: &UserStreamState) -> Result<Outcome> {
        match event {
            UserEvent::Order(o) => self.apply_order(o, state).await,
            UserEvent::Trade(t) => self.apply_trade(t).await,
        }
    }

    async fn apply_order(&self, ev: &OrderEvent, state: &UserStreamState) -> Result<Outcome> {
        let audit = self.audit_now();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT client_order_id, status, size_matched FROM pm_live_orders WHERE venue_order_id = $1",
        )
        .bind(&ev.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            state.remember(OrderSeen {
                order_id: ev.id.clone(),
                client_order_id: None,
                placed_here: false,
                event: ev.kind.as_str().to_string(),
                status: next_status("live", ev, ev.size_matched),
                size_matched: ev.size_matched,
                original_size: ev.original_size,
                market: ev.market.clone(),
            });
            return Ok(Outcome::OrderNotPlacedHere);
        };
        let cid: String = row.try_get("client_order_id")?;
        let before: String = row.try_get("status")?;
        let had = row.try_get::<Option<String>, _>("size_matched")?.is_some();
        let old_matched = stored_decimal(&row, "size_matched");
        let matched = old_matched.max(ev.size_matched);
        let status = next_status(&before, ev, matched);
        state.remember(OrderSeen {
            order_id: ev.id.clone(),
            client_order_id: Some(cid.clone()),
            placed_here: true,
            event: ev.kind.as_str().to_string(),
            status: status.clone(),
            size_matched: matched,
            original_size: ev.original_size,
            market: ev.market.clone(),
        });
        if status == before && matched == old_matched && had {
            tx.rollback().await?;
            return Ok(Outcome::OrderUnchanged);
        }
        sqlx::query(
            "UPDATE pm_live_orders SET status = $1, size_matched = $2, updated_ms = $3 WHERE client_order_id = $4",
        )
        .bind(&status)
        .bind(matched.normalize().to_string())
        .bind(audit.at_ms)
        .bind(&cid)
        .execute(&mut *tx)
        .await?;
        audit_row(
            &mut tx,
            &audit,
            "live_order_update",
            &json!({ "venue": LIVE_VENUE, "source": "user_channel", "client_order_id": cid,
                     "order_id": ev.id, "event": ev.kind.as_str(), "status_before": before,
                     "status": status, "size_matched": matched, "original_size": ev.original_size }),
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::OrderUpdated)
    }

    async fn apply_trade(&self, ev: &TradeEvent) -> Result<Outcome> {
        let audit = self.audit_now();
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query(
            "SELECT status, last_update, client_order_id FROM pm_live_fills WHERE trade_id = $1",
        )
        .bind(&ev.id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            let old = TradeStatus::parse(&row.try_get::<String, _>("status")?);
            let old_update = row
                .try_get::<Option<String>, _>("last_update")?
                .and_then(|t| t.trim().parse::<i64>().ok());
            if !ev
                .status
                .supersedes(ev.last_update_secs(), &old, old_update)
            {
                tx.rollback().await?;
                return Ok(Outcome::FillUnchanged);
            }
            sqlx::query(
                "UPDATE pm_live_fills SET status = $1, last_update = $2, updated_ms = $3 WHERE trade_id = $4",
            )
            .bind(ev.status.as_str())
            .bind(Some(ev.last_update.clone()).filter(|s| !s.is_empty()))
            .bind(audit.at_ms)
            .bind(&ev.id)
            .execute(&mut *tx)
            .await?;
            let cid: Option<String> = row.try_get("client_order_id")?;
            audit_row(
                &mut tx,
                &audit,
                "live_fill_status",
                &json!({ "venue": LIVE_VENUE, "source": "user_channel", "trade_id": ev.id,
                         "status_before": old.as_str(), "status": ev.status.as_str(),
                         "client_order_id": cid, "placed_here": cid.is_some() }),
            )
            .await?;
            tx.commit().await?;
            return Ok(Outcome::FillUpdated);
        }
        let own = self.ownership(&mut tx, ev).await?;
        let placed_here = own.client_order_id.is_some();
        let makers = serde_json::to_string(&ev.maker_orders)
            .map_err(|e| PolymarketError::Config(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO pm_live_fills (trade_id, market, asset_id, side, price, size, outcome, status, \
             taker_order_id, role, venue_order_id, client_order_id, placed_here, own_size, own_price, \
             maker_orders, match_time, last_update, first_seen_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             ON CONFLICT (trade_id) DO NOTHING",
        )
        .bind(&ev.id)
        .bind(&ev.market)
        .bind(&ev.asset_id)
        .bind(&ev.side)
        .bind(ev.price.to_string())
        .bind(ev.size.to_string())
        .bind(Some(ev.outcome.clone()).filter(|s| !s.is_empty()))
        .bind(ev.status.as_str())
        .bind(&ev.taker_order_id)
        .bind(own.role)
        .bind(own.venue_order_id.clone())
        .bind(own.client_order_id.clone())
        .bind(i64::from(placed_here))
        .bind(own.size.normalize().to_string())
        .bind(own.price.normalize().to_string())
        .bind(makers)
        .bind(Some(ev.matchtime.clone()).filter(|s| !s.is_empty()))
        .bind(Some(ev.last_update.clone()).filter(|s| !s.is_empty()))
        .bind(audit.at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(Outcome::FillUnchanged);
        }
        audit_row(
            &mut tx,
            &audit,
            "live_fill",
            &json!({ "venue": LIVE_VENUE, "source": "user_channel", "trade_id": ev.id,
                     "status": ev.status.as_str(), "market": ev.market, "asset_id": ev.asset_id,
                     "role": own.role, "order_id": own.venue_order_id,
                     "client_order_id": own.client_order_id, "placed_here": placed_here,
                     "size": own.size, "price": own.price,
                     "note": if placed_here { "fill of an order this server placed" }
                             else { "fill of an order this server did not place" } }),
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::FillRecorded { placed_here })
    }

    /// Which side of the trade is this key's: the taker order when this
    /// server placed it (or the trade's owner is this key and none of the
    /// maker orders is), else this key's maker orders.
    async fn ownership(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ev: &TradeEvent,
    ) -> Result<Ownership> {
        let taker_cid = if ev.taker_order_id.is_empty() {
            None
        } else {
            placed_here(tx, &ev.taker_order_id).await?
        };
        let mut mine: Vec<(&MakerOrder, Option<String>)> = Vec::new();
        for m in &ev.maker_orders {
            let cid = placed_here(tx, &m.order_id).await?;
            let key_match = !self.api_key.is_empty() && m.owner == self.api_key;
            if cid.is_some() || key_match {
                mine.push((m, cid));
            }
        }
        let key_is_taker = !self.api_key.is_empty() && ev.trade_owner == self.api_key;
        if taker_cid.is_some() || (key_is_taker && mine.is_empty()) {
            return Ok(Ownership {
                role: "taker",
                venue_order_id: Some(ev.taker_order_id.clone()).filter(|s| !s.is_empty()),
                client_order_id: taker_cid,
                size: ev.size,
                price: ev.price,
            });
        }
        if mine.is_empty() {
            return Ok(Ownership {
                role: "unknown",
                venue_order_id: None,
                client_order_id: None,
                size: ev.size,
                price: ev.price,
            });
        }
        // Ours first among our maker orders: the one this server placed.
        mine.sort_by_key(|(_, cid)| cid.is_none());
        let (first, cid) = &mine[0];
        Ok(Ownership {
            role: "maker",
            venue_order_id: Some(first.order_id.clone()),
            client_order_id: cid.clone(),
            size: mine.iter().map(|(m, _)| m.matched_amount).sum(),
            price: first.price,
        })
    }
}

/// The client order id of the order with venue id `id`, when this server
/// placed it.
async fn placed_here(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT client_order_id FROM pm_live_orders WHERE venue_order_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

struct Ownership {
    role: &'static str,
    venue_order_id: Option<String>,
    client_order_id: Option<String>,
    size: Decimal,
    price: Decimal,
}

// ---------------------------------------------------------------- connection

enum Exit {
    Dropped,
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
                Exit::Dropped
            }
        };
        if matches!(exit, Exit::Cancelled) {
            return Ok(());
        }
        reconnects += 1;
        if reconnects > cfg.max_reconnects {
            return Err(PolymarketError::Upstream(format!(
                "user channel: gave up after {} reconnects",
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
    if tx.send(Message::Text(sub.into())).await.is_err() {
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
                let frame = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Exit::Dropped,
                    Some(Ok(_)) => continue,
                };
                if frame.trim() == "PONG" {
                    state.bump(|s| s.pongs += 1);
                    continue;
                }
                let (events, bad) = parse_frame(frame.as_str());
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

    #[test]
    fn trade_status_moves_forward_only() {
        use TradeStatus::*;
        // Same last_update: the status further along the documented path wins.
        assert!(Mined.supersedes(Some(5), &Matched, Some(5)));
        assert!(Confirmed.supersedes(None, &Mined, None));
        assert!(!Matched.supersedes(None, &Mined, None));
        // A later last_update wins even against the path (MINED -> RETRYING).
        assert!(Retrying.supersedes(Some(6), &Mined, Some(5)));
        // An older frame never replaces a newer one.
        assert!(!Confirmed.supersedes(Some(4), &Mined, Some(5)));
        // Nothing moves a terminal status; a repeat is no change.
        assert!(!Retrying.supersedes(Some(9), &Confirmed, Some(5)));
        assert!(!Matched.supersedes(Some(9), &Matched, Some(5)));
    }
}
