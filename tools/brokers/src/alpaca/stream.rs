//! Alpaca streams: the `trade_updates` WebSocket (auth, listen, reconnect
//! with backoff and re-auth) and the market-data quote stream.

use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::VENUE;
use super::config::AlpacaConfig;
use super::http::AlpacaClient;
use super::types::{d, ms, od, s};
use crate::broker::EventStream;
use crate::dates::parse_iso_ms;
use crate::error::{BrokersError, Result};
use crate::types::{Order, Quote};

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
