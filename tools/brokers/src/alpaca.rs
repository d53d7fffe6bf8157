//! Alpaca client: Trading API v2 (account, positions, orders placed with a
//! `client_order_id`, list, cancel, lookup by client id), Market Data API v2
//! (latest quote, bars) and the `trade_updates` WebSocket stream (auth,
//! listen, reconnect with backoff and re-auth).
//!
//! Auth is the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` header pair on
//! every REST call, and an `{"action":"auth","key":..,"secret":..}` message
//! on the stream. Paper or live is told by the base URL: only
//! `https://paper-api.alpaca.markets` is paper; any other host is reported
//! live, so the runtime's trading gate applies.
//!
//! Docs: <https://docs.alpaca.markets/reference/api-references>,
//! <https://docs.alpaca.markets/docs/working-with-orders>,
//! <https://docs.alpaca.markets/docs/websocket-streaming>.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use nt_mcp_core::bundle::{BundleSettings, VenueMode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::dates::{format_iso_ms, parse_iso_ms};
use crate::error::{BrokersError, Result};
use crate::http::{HttpPolicy, Resilient};
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side, TimeInForce,
};

const VENUE: &str = "alpaca";
/// The paper trading host; every other host is treated as live.
pub const PAPER_HOST: &str = "paper-api.alpaca.markets";
/// The market-data stream base (the feed is appended).
pub const DEFAULT_DATA_STREAM_URL: &str = "wss://stream.data.alpaca.markets/v2";

/// Alpaca connection settings.
#[derive(Clone)]
pub struct AlpacaConfig {
    /// Trading API base URL (`https://paper-api.alpaca.markets` or
    /// `https://api.alpaca.markets`).
    pub base_url: String,
    /// Market Data API base URL (`https://data.alpaca.markets`).
    pub data_url: String,
    /// Trade-updates stream URL (`wss://paper-api.alpaca.markets/stream`).
    pub stream_url: String,
    /// Market-data stream base URL without the feed
    /// (`wss://stream.data.alpaca.markets/v2`); the feed (`iex` unless
    /// [`AlpacaConfig::feed`] says otherwise) is appended.
    pub data_stream_url: String,
    /// API key id.
    pub key_id: String,
    /// API secret key.
    pub secret_key: String,
    /// Market-data feed (`iex` or `sip`), when set.
    pub feed: Option<String>,
    /// HTTP limits.
    pub policy: HttpPolicy,
}

impl std::fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No keys in debug output.
        f.debug_struct("AlpacaConfig")
            .field("base_url", &self.base_url)
            .field("data_url", &self.data_url)
            .field("stream_url", &self.stream_url)
            .field("data_stream_url", &self.data_stream_url)
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

impl AlpacaConfig {
    /// Paper when the trading base URL's host is the paper host.
    pub fn is_paper(&self) -> bool {
        crate::urls::host_is(&self.base_url, PAPER_HOST)
    }
}

/// The Alpaca client.
#[derive(Debug)]
pub struct AlpacaClient {
    cfg: AlpacaConfig,
    http: Resilient,
}

fn d(v: &Value, field: &str) -> Result<Decimal> {
    od(v).ok_or_else(|| {
        BrokersError::upstream(
            VENUE,
            None,
            format!("field {field}: missing or not a decimal"),
        )
    })
}

fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => {
            let t = n.to_string();
            t.parse().ok().or_else(|| Decimal::from_scientific(&t).ok())
        }
        _ => None,
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn ms(v: &Value) -> i64 {
    v.as_str().and_then(parse_iso_ms).unwrap_or(0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One `trade_updates` event.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeUpdate {
    /// `new`, `fill`, `partial_fill`, `canceled`, `expired`, `rejected`, ...
    pub event: String,
    /// The order as it stands after the event.
    pub order: Order,
    /// Execution id (fills).
    pub execution_id: Option<String>,
    /// Fill price (fills).
    pub price: Option<Decimal>,
    /// Fill quantity (fills).
    pub qty: Option<Decimal>,
    /// Position after the fill (fills).
    pub position_qty: Option<Decimal>,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// Bounds for one [`AlpacaClient::trade_updates`] run.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// Stop after this many events.
    pub max_events: usize,
    /// Give up after this many reconnects.
    pub max_reconnects: u32,
    /// First reconnect delay; doubles each time.
    pub backoff: Duration,
    /// Largest reconnect delay.
    pub max_backoff: Duration,
    /// Longest wait for any message (auth reply, ack, event).
    pub stall: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_events: 100,
            max_reconnects: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            stall: Duration::from_secs(60),
        }
    }
}

/// What a [`AlpacaClient::trade_updates`] run saw.
#[derive(Debug, Clone, Default)]
pub struct StreamReport {
    /// Events, in arrival order.
    pub events: Vec<TradeUpdate>,
    /// Successful authorizations (1 + reconnects that got through).
    pub connects: u32,
    /// Reconnects after a drop.
    pub reconnects: u32,
}

enum SessionEnd {
    Done,
    Dropped(String),
}

impl AlpacaClient {
    /// A client for `cfg`.
    pub fn new(cfg: AlpacaConfig) -> Result<Self> {
        if cfg.key_id.trim().is_empty() || cfg.secret_key.trim().is_empty() {
            return Err(BrokersError::Config(
                "Alpaca key id and secret key must both be set".into(),
            ));
        }
        let http = Resilient::new(VENUE, cfg.policy.clone())?;
        Ok(Self { cfg, http })
    }

    /// Built from `ALPACA_API_KEY_ID` + `ALPACA_API_SECRET_KEY` (and
    /// optionally `ALPACA_BASE_URL`, `ALPACA_DATA_URL`, `ALPACA_STREAM_URL`,
    /// `ALPACA_DATA_STREAM_URL`, `ALPACA_DATA_FEED`, or the manifest's
    /// `alpaca_base_url` / `alpaca_data_url` / `alpaca_stream_url` /
    /// `alpaca_data_stream_url` / `alpaca_data_feed`); the base URL
    /// defaults to paper trading, the market-data stream to
    /// `wss://stream.data.alpaca.markets/v2`. `None` when the keys are not
    /// set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let (Some(key_id), Some(secret_key)) = (
            std::env::var("ALPACA_API_KEY_ID")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            std::env::var("ALPACA_API_SECRET_KEY")
                .ok()
                .filter(|v| !v.trim().is_empty()),
        ) else {
            return Ok(None);
        };
        let base_url = settings
            .string("alpaca_base_url", "ALPACA_BASE_URL")
            .unwrap_or_else(|| format!("https://{PAPER_HOST}"));
        let stream_url = settings
            .string("alpaca_stream_url", "ALPACA_STREAM_URL")
            .unwrap_or_else(|| default_stream_url(&base_url));
        Self::new(AlpacaConfig {
            data_url: settings
                .string("alpaca_data_url", "ALPACA_DATA_URL")
                .unwrap_or_else(|| "https://data.alpaca.markets".into()),
            base_url,
            stream_url,
            data_stream_url: settings
                .string("alpaca_data_stream_url", "ALPACA_DATA_STREAM_URL")
                .unwrap_or_else(|| DEFAULT_DATA_STREAM_URL.into()),
            key_id: key_id.trim().to_string(),
            secret_key: secret_key.trim().to_string(),
            feed: settings.string("alpaca_data_feed", "ALPACA_DATA_FEED"),
            policy: HttpPolicy::default(),
        })
        .map(Some)
    }

    /// The settings in use.
    pub fn config(&self) -> &AlpacaConfig {
        &self.cfg
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let key = self.cfg.key_id.clone();
        let secret = self.cfg.secret_key.clone();
        let answer = self
            .http
            .send(|c| {
                let mut rb = c
                    .request(method.clone(), &url)
                    .header("APCA-API-KEY-ID", &key)
                    .header("APCA-API-SECRET-KEY", &secret)
                    .header("Accept", "application/json");
                if !query.is_empty() {
                    rb = rb.query(query);
                }
                if let Some(b) = &body {
                    rb = rb
                        .header("Content-Type", "application/json")
                        .body(b.to_string());
                }
                rb
            })
            .await?;
        let value: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if (200..300).contains(&answer.status) {
            return Ok((answer.status, value));
        }
        // Alpaca errors: {"code": 40010001, "message": "..."}.
        let mut message = value["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(300)
                    .collect()
            });
        if message.trim().is_empty() {
            message = "no error message in the answer".into();
        }
        if let Some(code) = value.get("code").filter(|c| !c.is_null()) {
            message = format!("{message} (code {})", s(code));
        }
        Err(BrokersError::upstream(VENUE, Some(answer.status), message))
    }

    fn trading(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.base_url.trim_end_matches('/'))
    }

    fn data(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.data_url.trim_end_matches('/'))
    }

    fn feed_query(&self) -> Vec<(&'static str, String)> {
        self.cfg.feed.iter().map(|f| ("feed", f.clone())).collect()
    }

    /// An Alpaca order object as an [`Order`].
    /// <https://docs.alpaca.markets/reference/getallorders>
    pub fn order_from(o: &Value) -> Result<Order> {
        let id = s(&o["id"]);
        if id.is_empty() {
            return Err(BrokersError::upstream(
                VENUE,
                None,
                "order object without an id",
            ));
        }
        let side = match o["side"].as_str().unwrap_or("") {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unknown side `{other}`"),
                ));
            }
        };
        // `type` (and the older `order_type`).
        let kind = o["type"]
            .as_str()
            .or(o["order_type"].as_str())
            .unwrap_or("");
        let order_type = match kind {
            "market" => OrderType::Market,
            "limit" => OrderType::Limit,
            "stop" => OrderType::Stop,
            "stop_limit" => OrderType::StopLimit,
            "trailing_stop" => OrderType::TrailingStop,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unknown type `{other}`"),
                ));
            }
        };
        let tif = match o["time_in_force"].as_str().unwrap_or("day") {
            "gtc" => TimeInForce::Gtc,
            "ioc" => TimeInForce::Ioc,
            "fok" => TimeInForce::Fok,
            _ => TimeInForce::Day,
        };
        let status = match o["status"].as_str().unwrap_or("new") {
            "filled" => OrderStatus::Filled,
            "partially_filled" => OrderStatus::PartiallyFilled,
            "canceled" | "replaced" | "done_for_day" => OrderStatus::Cancelled,
            "expired" => OrderStatus::Expired,
            "rejected" | "suspended" | "stopped" => OrderStatus::Rejected,
            // new, accepted, pending_new, accepted_for_bidding, pending_cancel,
            // pending_replace, calculated, held: still working.
            _ => OrderStatus::Open,
        };
        let created = ms(&o["created_at"]);
        let updated = ms(&o["updated_at"]).max(created);
        let reason = match status {
            OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Rejected => {
                Some(s(&o["status"]))
            }
            _ => None,
        };
        Ok(Order {
            id,
            client_order_id: s(&o["client_order_id"]),
            account_id: String::new(),
            symbol: s(&o["symbol"]),
            currency: "USD".into(),
            side,
            order_type,
            time_in_force: tif,
            qty: od(&o["qty"]).unwrap_or(Decimal::ZERO),
            limit_price: od(&o["limit_price"]),
            stop_price: od(&o["stop_price"]),
            trail_amount: od(&o["trail_price"]),
            trail_percent: od(&o["trail_percent"]),
            status,
            filled_qty: od(&o["filled_qty"]).unwrap_or(Decimal::ZERO),
            avg_fill_price: od(&o["filled_avg_price"]),
            commission: od(&o["commission"]).unwrap_or(Decimal::ZERO).abs(),
            reason,
            created_ms: created,
            updated_ms: updated,
        })
    }

    /// Parses one stream message; `Some` for a `trade_updates` event.
    /// <https://docs.alpaca.markets/docs/websocket-streaming>
    pub fn parse_trade_update(v: &Value) -> Result<Option<TradeUpdate>> {
        if v["stream"].as_str() != Some("trade_updates") {
            return Ok(None);
        }
        let data = &v["data"];
        let order = Self::order_from(&data["order"])?;
        Ok(Some(TradeUpdate {
            event: s(&data["event"]),
            execution_id: data["execution_id"].as_str().map(str::to_string),
            price: od(&data["price"]),
            qty: od(&data["qty"]),
            position_qty: od(&data["position_qty"]),
            at_ms: data["timestamp"]
                .as_str()
                .and_then(parse_iso_ms)
                .unwrap_or(order.updated_ms),
            order,
        }))
    }

    /// Reads the `trade_updates` stream: connects, authenticates, listens,
    /// and collects events until `limits.max_events` arrive. A dropped or
    /// stalled connection is reopened (with backoff, re-auth and re-listen)
    /// up to `limits.max_reconnects` times; a refused authorization ends
    /// the run at once.
    /// <https://docs.alpaca.markets/docs/websocket-streaming>
    pub async fn trade_updates(&self, limits: &StreamLimits) -> Result<StreamReport> {
        let mut report = StreamReport::default();
        let mut events = Vec::new();
        let max = limits.max_events;
        let run = run_trade_updates(
            &self.cfg,
            limits,
            &mut report.connects,
            &mut report.reconnects,
            &mut |ev| {
                events.push(ev);
                events.len() < max
            },
        )
        .await;
        report.events = events;
        run.map(|()| report)
    }

    /// The `trade_updates` stream as a live stream of events, reconnecting
    /// (backoff, re-auth, re-listen) as [`AlpacaClient::trade_updates`]
    /// does, until the stream is dropped; `limits.max_events` is ignored. A
    /// refused authorization or too many reconnects is yielded as an error,
    /// then the stream ends.
    pub fn trade_update_stream(&self, limits: StreamLimits) -> EventStream<TradeUpdate> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<TradeUpdate>>();
        let cfg = self.cfg.clone();
        tokio::spawn(async move {
            let closer = tx.clone();
            let sink = tx.clone();
            let run = async move {
                let (mut connects, mut reconnects) = (0, 0);
                run_trade_updates(&cfg, &limits, &mut connects, &mut reconnects, &mut |ev| {
                    sink.send(Ok(ev)).is_ok()
                })
                .await
            };
            tokio::select! {
                // The watcher went away: stop listening at once.
                () = closer.closed() => {}
                r = run => {
                    if let Err(e) = r {
                        let _ = tx.send(Err(e));
                    }
                }
            }
        });
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }
}

/// Connects, authenticates, listens and hands each `trade_updates` event
/// to `on_event` until it answers `false`. A dropped or stalled connection
/// is reopened (with backoff, re-auth and re-listen) up to
/// `limits.max_reconnects` times; a refused authorization ends the run.
async fn run_trade_updates(
    cfg: &AlpacaConfig,
    limits: &StreamLimits,
    connects: &mut u32,
    reconnects: &mut u32,
    on_event: &mut (dyn FnMut(TradeUpdate) -> bool + Send),
) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut backoff = limits.backoff;
    let mut received = 0usize;
    loop {
        let end = match tokio::time::timeout(
            limits.stall,
            tokio_tungstenite::connect_async(cfg.stream_url.as_str()),
        )
        .await
        {
            Ok(Ok((ws, _))) => session(cfg, ws, limits, connects, &mut received, on_event).await?,
            Ok(Err(e)) => SessionEnd::Dropped(format!("connect failed: {e}")),
            Err(_) => SessionEnd::Dropped("connect timed out".into()),
        };
        let why = match end {
            SessionEnd::Done => return Ok(()),
            SessionEnd::Dropped(why) => why,
        };
        if *reconnects >= limits.max_reconnects {
            return Err(BrokersError::upstream(
                VENUE,
                None,
                format!(
                    "trade_updates stream: gave up after {} reconnects ({received} events received); last: {why}",
                    *reconnects
                ),
            ));
        }
        tracing::warn!(venue = VENUE, reason = %why, "trade_updates stream dropped; reconnecting");
        *reconnects += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(limits.max_backoff);
    }
}

async fn session<S>(
    cfg: &AlpacaConfig,
    ws: tokio_tungstenite::WebSocketStream<S>,
    limits: &StreamLimits,
    connects: &mut u32,
    received: &mut usize,
    on_event: &mut (dyn FnMut(TradeUpdate) -> bool + Send),
) -> Result<SessionEnd>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = ws.split();
    let auth = json!({"action": "auth", "key": cfg.key_id, "secret": cfg.secret_key});
    if let Err(e) = tx.send(Message::Text(auth.to_string().into())).await {
        return Ok(SessionEnd::Dropped(format!("sending auth: {e}")));
    }
    let mut authorized = false;
    loop {
        let msg = match tokio::time::timeout(limits.stall, rx.next()).await {
            Err(_) => {
                return Ok(SessionEnd::Dropped(format!(
                    "no message for {} ms",
                    limits.stall.as_millis()
                )));
            }
            Ok(None) => return Ok(SessionEnd::Dropped("connection closed".into())),
            Ok(Some(Err(e))) => return Ok(SessionEnd::Dropped(e.to_string())),
            Ok(Some(Ok(m))) => m,
        };
        // Paper sends binary frames, live text frames; both carry JSON.
        let bytes: Vec<u8> = match msg {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            Message::Ping(p) => {
                let _ = tx.send(Message::Pong(p)).await;
                continue;
            }
            Message::Close(_) => return Ok(SessionEnd::Dropped("closed by server".into())),
            _ => continue,
        };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        match v["stream"].as_str() {
            Some("authorization") => {
                if v["data"]["status"].as_str() == Some("authorized") {
                    authorized = true;
                    *connects += 1;
                    let listen =
                        json!({"action": "listen", "data": {"streams": ["trade_updates"]}});
                    if let Err(e) = tx.send(Message::Text(listen.to_string().into())).await {
                        return Ok(SessionEnd::Dropped(format!("sending listen: {e}")));
                    }
                } else {
                    let status = s(&v["data"]["status"]);
                    return Err(BrokersError::upstream(
                        VENUE,
                        None,
                        format!("trade_updates stream refused authorization (status `{status}`)"),
                    ));
                }
            }
            Some("listening") => {
                let ok = v["data"]["streams"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "trade_updates"));
                if !ok {
                    return Err(BrokersError::upstream(
                        VENUE,
                        None,
                        "trade_updates stream: the server did not confirm listening to trade_updates",
                    ));
                }
            }
            Some("trade_updates") if authorized => {
                if let Some(ev) = AlpacaClient::parse_trade_update(&v)? {
                    *received += 1;
                    if !on_event(ev) {
                        let _ = tx.send(Message::Close(None)).await;
                        return Ok(SessionEnd::Done);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The market-data stream for quotes: `wss://stream.data.alpaca.markets/v2/{feed}`.
///
/// Documented handshake (<https://docs.alpaca.markets/docs/streaming-market-data>,
/// <https://alpaca.markets/docs/api-references/market-data-api/stock-pricing-data/realtime/>):
/// the server greets with `[{"T":"success","msg":"connected"}]`; the client
/// sends `{"action":"auth","key":..,"secret":..}` and gets
/// `[{"T":"success","msg":"authenticated"}]` (or `{"T":"error","code":402,
/// "msg":"auth failed"}`); then `{"action":"subscribe","quotes":[..]}` is
/// acknowledged with `[{"T":"subscription",..}]`. Every server message is
/// a JSON array; quotes are `{"T":"q","S":sym,"bx","bp","bs","ax","ap",
/// "as","t":RFC-3339,"c","z"}`.
struct MarketData {
    venue_url: String,
    key: String,
    secret: String,
    symbols: Vec<String>,
    authed: bool,
}

impl MarketData {
    fn subscribe(&self) -> String {
        json!({"action": "subscribe", "quotes": self.symbols}).to_string()
    }
}

/// Parses one market-data quote message (`"T":"q"`).
/// <https://docs.alpaca.markets/docs/real-time-stock-pricing-data>
pub fn parse_stream_quote(m: &Value) -> Result<Quote> {
    let symbol = s(&m["S"]);
    if symbol.is_empty() {
        return Err(BrokersError::upstream(
            VENUE,
            None,
            "quote without a symbol (S)",
        ));
    }
    let bid = d(&m["bp"], "q.bp")?;
    let ask = d(&m["ap"], "q.ap")?;
    Ok(Quote {
        symbol,
        currency: "USD".into(),
        bid,
        ask,
        last: ((bid + ask) / Decimal::TWO).round_dp(6),
        at_ms: ms(&m["t"]),
    })
}

/// Alpaca market-data error codes that no reconnect will cure: invalid
/// syntax (400), not authenticated (401), auth failed (402), already
/// authenticated (403), symbol limit exceeded (405), slow client (407),
/// insufficient subscription (409), invalid subscribe action (410).
/// Connection limit exceeded (406), auth timeout (404) and internal
/// errors (500) are retried.
fn fatal_data_error(code: i64) -> bool {
    matches!(code, 400..=403 | 405 | 407..=499)
}

#[async_trait]
impl crate::ws::WsProtocol for MarketData {
    type Item = Quote;

    fn venue(&self) -> &'static str {
        VENUE
    }

    fn name(&self) -> &'static str {
        "market-data stream"
    }

    async fn target(&mut self) -> std::result::Result<crate::ws::Target, crate::ws::WsFail> {
        self.authed = false;
        Ok(crate::ws::Target {
            url: self.venue_url.clone(),
            ..Default::default()
        })
    }

    fn opening(&mut self) -> Vec<String> {
        // The server speaks first (`connected`); auth follows it.
        Vec::new()
    }

    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<crate::ws::WsStep<Quote>>,
    ) -> std::result::Result<(), crate::ws::WsFail> {
        use crate::ws::{WsFail, WsStep};
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Ok(());
        };
        let msgs = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        for m in msgs {
            match m["T"].as_str().unwrap_or("") {
                "success" => match m["msg"].as_str() {
                    Some("connected") => out.push(WsStep::Send(
                        json!({"action": "auth", "key": self.key, "secret": self.secret})
                            .to_string(),
                    )),
                    Some("authenticated") => {
                        self.authed = true;
                        out.push(WsStep::Send(self.subscribe()));
                    }
                    _ => {}
                },
                "error" => {
                    let code = m["code"].as_i64().unwrap_or(0);
                    let msg = format!(
                        "market-data stream error {code}: {}",
                        m["msg"].as_str().unwrap_or("no message")
                    );
                    return Err(if fatal_data_error(code) {
                        WsFail::Fatal(BrokersError::upstream(VENUE, None, msg))
                    } else {
                        WsFail::Retry(msg)
                    });
                }
                "subscription" => {
                    let listed: Vec<&str> = m["quotes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let missing: Vec<&String> = self
                        .symbols
                        .iter()
                        .filter(|s| !listed.contains(&s.as_str()))
                        .collect();
                    if !missing.is_empty() {
                        tracing::warn!(
                            venue = VENUE,
                            ?missing,
                            "quotes subscription lacks symbols"
                        );
                    }
                }
                "q" if self.authed => match parse_stream_quote(&m) {
                    Ok(q) => out.push(WsStep::Emit(q)),
                    Err(e) => {
                        tracing::warn!(venue = VENUE, error = %e, "skipping a malformed quote")
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }
}

impl AlpacaClient {
    /// Live quotes for `symbols` from the market-data stream
    /// (`{data_stream_url}/{feed}`, `iex` by default), reconnecting with
    /// backoff and re-auth / re-subscribe on a drop within `limits`. A
    /// refused authorization (402), an insufficient subscription (409) or
    /// too many symbols (405) end the stream with the venue's message.
    pub async fn quote_stream_with(
        &self,
        symbols: &[String],
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<Quote>> {
        let mut wanted: Vec<String> = Vec::new();
        for sym in symbols {
            let sym = sym.trim().to_ascii_uppercase();
            if sym.is_empty()
                || !sym
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-'))
            {
                return Err(BrokersError::invalid(
                    "symbols",
                    format!("`{sym}` is not a stock symbol"),
                ));
            }
            if !wanted.contains(&sym) {
                wanted.push(sym);
            }
        }
        if wanted.is_empty() {
            return Err(BrokersError::invalid("symbols", "give at least one symbol"));
        }
        let feed = self.cfg.feed.as_deref().unwrap_or("iex");
        if feed.is_empty() || !feed.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(BrokersError::Config(format!(
                "alpaca_data_feed `{feed}` is not a feed name"
            )));
        }
        let proto = MarketData {
            venue_url: format!("{}/{feed}", self.cfg.data_stream_url.trim_end_matches('/')),
            key: self.cfg.key_id.clone(),
            secret: self.cfg.secret_key.clone(),
            symbols: wanted,
            authed: false,
        };
        crate::ws::open(proto, limits).await
    }
}

/// `https://host/...` -> `wss://host/stream`.
fn default_stream_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{ws}/stream")
}

#[async_trait]
impl Broker for AlpacaClient {
    fn venue(&self) -> &str {
        VENUE
    }

    /// Order updates from the `trade_updates` WebSocket stream
    /// (<https://docs.alpaca.markets/docs/websocket-streaming>), with the
    /// venue's event names (`new`, `fill`, `partial_fill`, `canceled`,
    /// `replaced`, ...).
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        let stream = self.trade_update_stream(StreamLimits::default());
        Ok(Box::pin(stream.map(|item| {
            item.map(|u| OrderUpdate {
                event: u.event,
                order: u.order,
                fill_price: u.price,
                fill_qty: u.qty,
                at_ms: u.at_ms,
            })
        })))
    }

    /// Quotes from the market-data WebSocket stream
    /// (<https://docs.alpaca.markets/docs/streaming-market-data>).
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        self.quote_stream_with(symbols, crate::ws::WsLimits::default())
            .await
    }

    fn mode(&self) -> VenueMode {
        if self.cfg.is_paper() {
            VenueMode::Paper
        } else {
            VenueMode::Live
        }
    }

    // https://docs.alpaca.markets/reference/getaccount-1
    async fn account(&self) -> Result<Account> {
        let (_, a) = self
            .call(reqwest::Method::GET, self.trading("/v2/account"), &[], None)
            .await?;
        let currency = a["currency"].as_str().unwrap_or("USD").to_string();
        Ok(Account {
            id: s(&a["account_number"]),
            venue: VENUE.into(),
            currency: currency.clone(),
            balances: vec![Balance {
                currency,
                cash: d(&a["cash"], "cash")?,
                equity: od(&a["equity"]),
                buying_power: od(&a["buying_power"]),
            }],
        })
    }

    // https://docs.alpaca.markets/reference/getallopenpositions
    async fn positions(&self) -> Result<Vec<Position>> {
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.trading("/v2/positions"),
                &[],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for p in v.as_array().into_iter().flatten() {
            let mut qty = d(&p["qty"], "position.qty")?;
            if p["side"].as_str() == Some("short") && qty > Decimal::ZERO {
                qty = -qty;
            }
            out.push(Position {
                symbol: s(&p["symbol"]),
                currency: "USD".into(),
                qty,
                avg_price: d(&p["avg_entry_price"], "position.avg_entry_price")?,
                market_price: od(&p["current_price"]),
                unrealized_pnl: od(&p["unrealized_pl"]),
            });
        }
        Ok(out)
    }

    // https://docs.alpaca.markets/reference/stocklatestquotesingle
    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() || symbol.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid("symbol", "must be a stock symbol"));
        }
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.data(&format!("/v2/stocks/{symbol}/quotes/latest")),
                &self.feed_query(),
                None,
            )
            .await?;
        let q = &v["quote"];
        if !q.is_object() {
            return Err(BrokersError::NotFound(format!(
                "Alpaca has no quote for {symbol}"
            )));
        }
        let bid = d(&q["bp"], "quote.bp")?;
        let ask = d(&q["ap"], "quote.ap")?;
        Ok(Quote {
            symbol,
            currency: "USD".into(),
            bid,
            ask,
            last: ((bid + ask) / Decimal::TWO).round_dp(6),
            at_ms: ms(&q["t"]),
        })
    }

    // https://docs.alpaca.markets/reference/stockbarsingle-1
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() || symbol.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid("symbol", "must be a stock symbol"));
        }
        let count = count.clamp(1, 10_000);
        let timeframe = match granularity {
            Granularity::M1 => "1Min",
            Granularity::M5 => "5Min",
            Granularity::M15 => "15Min",
            Granularity::H1 => "1Hour",
            Granularity::D1 => "1Day",
        };
        // Bars exist only in trading hours: look back far enough (weekends,
        // holidays, nights) and take the newest `count`.
        let span = granularity.millis() * i64::from(count);
        let lookback = match granularity {
            Granularity::D1 => span * 2 + 10 * 86_400_000,
            _ => span * 5 + 4 * 86_400_000,
        };
        let mut query = vec![
            ("timeframe", timeframe.to_string()),
            ("start", format_iso_ms(now_ms() - lookback)),
            ("limit", count.to_string()),
            ("sort", "desc".to_string()),
        ];
        query.extend(self.feed_query());
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.data(&format!("/v2/stocks/{symbol}/bars")),
                &query,
                None,
            )
            .await?;
        let mut out = Vec::new();
        for b in v["bars"].as_array().into_iter().flatten() {
            out.push(Candle {
                start_ms: ms(&b["t"]),
                open: d(&b["o"], "bar.o")?,
                high: d(&b["h"], "bar.h")?,
                low: d(&b["l"], "bar.l")?,
                close: d(&b["c"], "bar.c")?,
                volume: od(&b["v"]),
            });
        }
        out.sort_by_key(|c| c.start_ms);
        Ok(out)
    }

    // https://docs.alpaca.markets/reference/postorder
    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        let cid = req.client_order_id.trim();
        let mut body = json!({
            "symbol": req.symbol.trim().to_ascii_uppercase(),
            "qty": req.qty.normalize().to_string(),
            // Alpaca has only buy and sell; a sell with no long position is a short.
            "side": if req.side.is_buy() { "buy" } else { "sell" },
            "type": req.order_type.as_str(),
            "time_in_force": req.time_in_force.as_str(),
            "client_order_id": cid,
        });
        if let Some(p) = req.limit_price {
            body["limit_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = req.stop_price {
            body["stop_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = req.trail_amount {
            body["trail_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = req.trail_percent {
            body["trail_percent"] = json!(p.normalize().to_string());
        }
        match self
            .call(
                reqwest::Method::POST,
                self.trading("/v2/orders"),
                &[],
                Some(body),
            )
            .await
        {
            Ok((_, o)) => Self::order_from(&o),
            // A retried POST whose first attempt got through: Alpaca refuses
            // the repeated client_order_id; answer with the order it placed.
            Err(BrokersError::Upstream {
                status: Some(422),
                message,
                ..
            }) if message.contains("client_order_id") => match self.find_by_client_id(cid).await? {
                Some(order) => Ok(order),
                None => Err(BrokersError::upstream(VENUE, Some(422), message)),
            },
            Err(e) => Err(e),
        }
    }

    /// `PATCH /v2/orders/{order_id}` with only the changed fields (`qty`,
    /// `limit_price`, `stop_price`, as strings); Alpaca answers with the
    /// new order that replaces the old one (new id, `replaces` = old id).
    /// Verified against the Trading API's "Replace Order by ID" page,
    /// <https://docs.alpaca.markets/us/v1.1/reference/patchorderbyorderid-1>
    /// (body fields `qty`, `time_in_force`, `limit_price`, `stop_price`,
    /// `trail`, `client_order_id`; each overrides the existing order's,
    /// the rest stay), and the Broker API's
    /// <https://docs.alpaca.markets/us/reference/replaceorderforaccount>.
    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        change.validate()?;
        let id = order_id.trim();
        if id.is_empty() || id.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid(
                "order_id",
                "must be an Alpaca order id",
            ));
        }
        let venue_id = match self.find_by_client_id(id).await {
            Ok(Some(o)) => o.id,
            _ => id.to_string(),
        };
        let mut body = json!({});
        if let Some(q) = change.qty {
            body["qty"] = json!(q.normalize().to_string());
        }
        if let Some(p) = change.limit_price {
            body["limit_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = change.stop_price {
            body["stop_price"] = json!(p.normalize().to_string());
        }
        let (_, o) = self
            .call(
                reqwest::Method::PATCH,
                self.trading(&format!("/v2/orders/{venue_id}")),
                &[],
                Some(body),
            )
            .await?;
        Self::order_from(&o)
    }

    // https://docs.alpaca.markets/reference/deleteorderbyorderid
    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        let id = order_id.trim();
        if id.is_empty() || id.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid(
                "order_id",
                "must be an Alpaca order id",
            ));
        }
        // Our client id is accepted too: look the venue id up first.
        let venue_id = match self.find_by_client_id(id).await {
            Ok(Some(o)) => o.id,
            _ => id.to_string(),
        };
        self.call(
            reqwest::Method::DELETE,
            self.trading(&format!("/v2/orders/{venue_id}")),
            &[],
            None,
        )
        .await?;
        // https://docs.alpaca.markets/reference/getorderbyorderid
        let (_, o) = self
            .call(
                reqwest::Method::GET,
                self.trading(&format!("/v2/orders/{venue_id}")),
                &[],
                None,
            )
            .await?;
        Self::order_from(&o)
    }

    // https://docs.alpaca.markets/reference/getallorders
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let status = if open_only { "open" } else { "all" };
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.trading("/v2/orders"),
                &[
                    ("status", status.to_string()),
                    ("limit", "500".to_string()),
                    ("direction", "desc".to_string()),
                ],
                None,
            )
            .await?;
        v.as_array()
            .into_iter()
            .flatten()
            .map(Self::order_from)
            .collect()
    }

    // Fills of the most recent orders (Alpaca reports them per order:
    // filled_qty at filled_avg_price).
    // https://docs.alpaca.markets/reference/getallorders
    async fn executions(&self) -> Result<Vec<Execution>> {
        let orders = self.orders(false).await?;
        Ok(orders
            .into_iter()
            .filter(|o| o.filled_qty > Decimal::ZERO)
            .filter_map(|o| {
                let price = o.avg_fill_price?;
                Some(Execution {
                    id: format!("{}-fill", o.id),
                    order_id: o.id,
                    account_id: o.account_id,
                    symbol: o.symbol,
                    currency: o.currency,
                    side: o.side,
                    qty: o.filled_qty,
                    price,
                    commission: o.commission,
                    at_ms: o.updated_ms,
                })
            })
            .collect())
    }

    // https://docs.alpaca.markets/reference/getorderbyclientorderid
    async fn find_by_client_id(&self, client_order_id: &str) -> Result<Option<Order>> {
        match self
            .call(
                reqwest::Method::GET,
                self.trading("/v2/orders:by_client_order_id"),
                &[("client_order_id", client_order_id.trim().to_string())],
                None,
            )
            .await
        {
            Ok((_, o)) => Self::order_from(&o).map(Some),
            Err(BrokersError::Upstream {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_only_for_the_paper_host() {
        let mut cfg = AlpacaConfig {
            base_url: "https://paper-api.alpaca.markets".into(),
            data_url: String::new(),
            stream_url: String::new(),
            data_stream_url: String::new(),
            key_id: "key-id-123".into(),
            secret_key: "sekrit-456".into(),
            feed: None,
            policy: HttpPolicy::default(),
        };
        assert!(cfg.is_paper());
        cfg.base_url = "https://api.alpaca.markets/".into();
        assert!(!cfg.is_paper());
        cfg.base_url = "https://paper-api.alpaca.markets.evil.example".into();
        assert!(!cfg.is_paper());
        cfg.base_url = "http://127.0.0.1:9999".into();
        assert!(!cfg.is_paper());
        assert_eq!(
            default_stream_url("https://paper-api.alpaca.markets/"),
            "wss://paper-api.alpaca.markets/stream"
        );
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("sekrit-456") && !dbg.contains("key-id-123"),
            "{dbg}"
        );
    }
}
