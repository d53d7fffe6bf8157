//! Tradier Brokerage API client: user profile (default account), account
//! balances, positions, orders (list, one, place form-encoded with the
//! client id as `tag`, modify, cancel), market quotes and history /
//! time-and-sales bars, and the WebSocket streams (market events for
//! quotes, account events for order updates). Auth is
//! `Authorization: Bearer <token>` with `Accept: application/json` on
//! every call. Sandbox or live is told by the base URL: only
//! `https://sandbox.tradier.com` is paper; any other host is reported live.
//!
//! Docs: <https://documentation.tradier.com/brokerage-api>. Streaming,
//! as verified: a session from `POST /v1/markets/events/session` or
//! `POST /v1/accounts/events/session`
//! (<https://documentation.tradier.com/brokerage-api/streaming/create-market-session>,
//! <https://documentation.tradier.com/brokerage-api/streaming/create-account-session>;
//! answer `{"stream": {"url", "sessionid"}}`, valid 5 minutes, one at a
//! time), then `wss://ws.tradier.com/v1/markets/events` with
//! `{"symbols", "sessionid", "filter", "linebreak"}`
//! (<https://documentation.tradier.com/brokerage-api/streaming/wss-market-websocket>)
//! and `wss://ws.tradier.com/v1/accounts/events` with
//! `{"events": ["order"], "sessionid", "excludeAccounts"}`
//! (<https://documentation.tradier.com/brokerage-api/streaming/wss-account-websocket>;
//! paper accounts use `wss://sandbox-ws.tradier.com`). Payloads:
//! <https://docs.tradier.com/docs/streaming> (quote: `bid`, `bidsz`,
//! `biddate`, `ask`, `asksz`, `askdate`, dates in ms) and
//! <https://docs.tradier.com/docs/account-streaming-responses> (order
//! events carry `id`, `status`, `type`, `price`, `stop_price`,
//! `avg_fill_price`, `exec_quantity`, `last_fill_quantity`,
//! `remaining_quantity`, dates and `account`, but no symbol or side: those
//! are read from the order itself).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use nt_mcp_core::bundle::{BundleSettings, VenueMode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::dates::{format_date, parse_date, parse_iso_ms};
use crate::error::{BrokersError, Result};
use crate::http::{HttpPolicy, Resilient};
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side, TimeInForce,
};

const VENUE: &str = "tradier";
/// The sandbox host; every other host is treated as live.
pub const SANDBOX_HOST: &str = "sandbox.tradier.com";
/// The live WebSocket streaming host.
pub const STREAM_URL: &str = "wss://ws.tradier.com";
/// The paper-trading (sandbox) WebSocket streaming host.
pub const SANDBOX_STREAM_URL: &str = "wss://sandbox-ws.tradier.com";

/// Tradier connection settings.
#[derive(Clone)]
pub struct TradierConfig {
    /// API base URL (`https://sandbox.tradier.com` or `https://api.tradier.com`).
    pub base_url: String,
    /// Access token.
    pub token: String,
    /// Account number; the profile's first account when `None`.
    pub account_id: Option<String>,
    /// WebSocket streaming base URL; when `None`, `wss://ws.tradier.com`
    /// for the live API, `wss://sandbox-ws.tradier.com` for the sandbox,
    /// and the base URL's own host (as `ws(s)://`) for anything else.
    pub stream_url: Option<String>,
    /// HTTP limits.
    pub policy: HttpPolicy,
}

impl std::fmt::Debug for TradierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No token in debug output.
        f.debug_struct("TradierConfig")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .field("stream_url", &self.stream_url)
            .finish_non_exhaustive()
    }
}

impl TradierConfig {
    /// The WebSocket streaming base URL in use.
    pub fn ws_base(&self) -> String {
        if let Some(u) = self.stream_url.as_ref().filter(|u| !u.trim().is_empty()) {
            return u.trim().trim_end_matches('/').to_string();
        }
        if self.is_sandbox() {
            return SANDBOX_STREAM_URL.into();
        }
        let base = self.base_url.trim().trim_end_matches('/');
        if base.eq_ignore_ascii_case("https://api.tradier.com") {
            return STREAM_URL.into();
        }
        crate::ws::ws_scheme(base)
    }

    /// Paper when the base URL's host is the sandbox host.
    pub fn is_sandbox(&self) -> bool {
        crate::urls::host_is(&self.base_url, SANDBOX_HOST)
    }
}

/// The Tradier client.
#[derive(Debug)]
pub struct TradierClient {
    cfg: TradierConfig,
    http: Arc<Resilient>,
    account: Mutex<Option<String>>,
}

/// Tradier sends money as JSON floats (`6363.860000000000582`): parsed as
/// f64 they carry binary noise, so numbers are rounded to 8 places (finer
/// than any price or share quantity Tradier quotes).
fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => {
            let t = n.to_string();
            t.parse::<Decimal>()
                .ok()
                .or_else(|| Decimal::from_scientific(&t).ok())
                .map(|x| x.round_dp(8).normalize())
        }
        _ => None,
    }
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

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Tradier wraps lists as `{"x": [..]}`, `{"x": {..}}` for one item, and
/// `"null"` for none.
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => Vec::new(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Tradier's tag: letters, digits and `-`, at most 255 characters.
fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl TradierClient {
    /// A client for `cfg`.
    pub fn new(cfg: TradierConfig) -> Result<Self> {
        if cfg.token.trim().is_empty() {
            return Err(BrokersError::Config("Tradier access token is empty".into()));
        }
        let http = Arc::new(Resilient::new(VENUE, cfg.policy.clone())?);
        Ok(Self {
            account: Mutex::new(cfg.account_id.clone()),
            cfg,
            http,
        })
    }

    /// Built from `TRADIER_ACCESS_TOKEN` (and optionally
    /// `TRADIER_ACCOUNT_ID`, `TRADIER_BASE_URL`, `TRADIER_STREAM_URL`, or
    /// the manifest's `tradier_account_id` / `tradier_base_url` /
    /// `tradier_stream_url`); the base URL defaults to the sandbox. `None`
    /// when the token is not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let Some(token) = std::env::var("TRADIER_ACCESS_TOKEN")
            .ok()
            .filter(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        Self::new(TradierConfig {
            base_url: settings
                .string("tradier_base_url", "TRADIER_BASE_URL")
                .unwrap_or_else(|| format!("https://{SANDBOX_HOST}")),
            token: token.trim().to_string(),
            account_id: settings.string("tradier_account_id", "TRADIER_ACCOUNT_ID"),
            stream_url: settings.string("tradier_stream_url", "TRADIER_STREAM_URL"),
            policy: HttpPolicy::default(),
        })
        .map(Some)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        form: Option<&[(&str, String)]>,
    ) -> Result<Value> {
        call_with(&self.http, &self.cfg, method, path, query, form).await
    }

    /// The account number: configured, else the profile's first account.
    // https://documentation.tradier.com/brokerage-api/user/get-profile
    pub async fn account_id(&self) -> Result<String> {
        let mut cached = self.account.lock().await;
        if let Some(id) = cached.as_ref() {
            return Ok(id.clone());
        }
        let v = self
            .call(reqwest::Method::GET, "user/profile", &[], None)
            .await?;
        let id = list(&v["profile"]["account"])
            .first()
            .map(|a| s(&a["account_number"]))
            .filter(|a| !a.is_empty())
            .ok_or_else(|| BrokersError::NotFound("the Tradier profile lists no account".into()))?;
        *cached = Some(id.clone());
        Ok(id)
    }

    fn order_from(account: &str, o: &Value) -> Result<Order> {
        let id = s(&o["id"]);
        if id.is_empty() {
            return Err(BrokersError::upstream(VENUE, None, "order without an id"));
        }
        let side = match o["side"].as_str().unwrap_or("") {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            "sell_short" => Side::SellShort,
            "buy_to_cover" => Side::BuyToCover,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unknown side `{other}`"),
                ));
            }
        };
        let order_type = match o["type"].as_str().unwrap_or("") {
            "market" => OrderType::Market,
            "limit" => OrderType::Limit,
            "stop" => OrderType::Stop,
            "stop_limit" => OrderType::StopLimit,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unsupported type `{other}`"),
                ));
            }
        };
        let status = match o["status"].as_str().unwrap_or("open") {
            "filled" => OrderStatus::Filled,
            "partially_filled" => OrderStatus::PartiallyFilled,
            "canceled" => OrderStatus::Cancelled,
            "expired" => OrderStatus::Expired,
            "rejected" | "error" => OrderStatus::Rejected,
            // open, pending, calculated, accepted_for_bidding, held.
            _ => OrderStatus::Open,
        };
        let created = o["create_date"]
            .as_str()
            .and_then(parse_iso_ms)
            .unwrap_or(0);
        let filled = od(&o["exec_quantity"]).unwrap_or(Decimal::ZERO);
        let avg = od(&o["avg_fill_price"]).filter(|p| !p.is_zero());
        Ok(Order {
            id,
            client_order_id: s(&o["tag"]),
            account_id: account.to_string(),
            symbol: s(&o["symbol"]),
            currency: "USD".into(),
            side,
            order_type,
            time_in_force: match o["duration"].as_str() {
                Some("gtc") => TimeInForce::Gtc,
                _ => TimeInForce::Day,
            },
            qty: od(&o["quantity"]).unwrap_or(Decimal::ZERO),
            limit_price: if matches!(order_type, OrderType::Limit | OrderType::StopLimit) {
                od(&o["price"])
            } else {
                None
            },
            stop_price: od(&o["stop_price"]),
            trail_amount: None,
            trail_percent: None,
            status,
            filled_qty: filled,
            avg_fill_price: avg,
            commission: Decimal::ZERO,
            reason: o["reason_description"].as_str().map(str::to_string),
            created_ms: created,
            updated_ms: o["transaction_date"]
                .as_str()
                .and_then(parse_iso_ms)
                .unwrap_or(created)
                .max(created),
        })
    }

    // https://documentation.tradier.com/brokerage-api/accounts/get-account-order
    async fn one_order(&self, account: &str, id: &str) -> Result<Order> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{account}/orders/{id}"),
                &[],
                None,
            )
            .await?;
        Self::order_from(account, &v["order"])
    }
}

/// One API call under `v1/` with the token; the venue's own error text
/// (`errors.error`, `fault.faultstring`, or the body) on failure.
async fn call_with(
    http: &Resilient,
    cfg: &TradierConfig,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, String)],
    form: Option<&[(&str, String)]>,
) -> Result<Value> {
    let url = format!("{}/v1/{path}", cfg.base_url.trim_end_matches('/'));
    let token = cfg.token.clone();
    let answer = http
        .send(|c| {
            let mut rb = c
                .request(method.clone(), &url)
                .header("Authorization", format!("Bearer {token}"))
                .header("Accept", "application/json");
            if !query.is_empty() {
                rb = rb.query(query);
            }
            if let Some(f) = form {
                rb = rb.form(f);
            }
            rb
        })
        .await?;
    let value: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if (200..300).contains(&answer.status) && value.get("errors").is_none() {
        return Ok(value);
    }
    // {"errors": {"error": ["..."]}} or {"fault": {"faultstring": ".."}}
    // or plain text ("Invalid Access Token").
    let mut message = list(&value["errors"]["error"])
        .into_iter()
        .chain(
            value["errors"]["error"]
                .as_str()
                .map(|_| &value["errors"]["error"]),
        )
        .map(s)
        .collect::<Vec<_>>()
        .join("; ");
    if message.is_empty() {
        message = value["fault"]["faultstring"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(300)
                    .collect()
            });
    }
    if message.trim().is_empty() {
        message = "no error message in the answer".into();
    }
    Err(BrokersError::upstream(VENUE, Some(answer.status), message))
}

/// Creates a streaming session (`POST /v1/{kind}/events/session`) and
/// answers its session id. A refused token (401/403) is final; anything
/// else is retried by the stream loop.
async fn create_session(
    http: &Resilient,
    cfg: &TradierConfig,
    kind: &str,
) -> std::result::Result<String, crate::ws::WsFail> {
    use crate::ws::WsFail;
    match call_with(
        http,
        cfg,
        reqwest::Method::POST,
        &format!("{kind}/events/session"),
        &[],
        None,
    )
    .await
    {
        Ok(v) => v["stream"]["sessionid"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| WsFail::Retry("the session answer has no stream.sessionid".into())),
        Err(
            e @ BrokersError::Upstream {
                status: Some(400..=499),
                ..
            },
        ) => Err(WsFail::Fatal(e)),
        Err(e) => Err(WsFail::Retry(e.to_string())),
    }
}

/// An error payload on a Tradier stream (`{"error": ".."}`): an expired
/// or unknown session is retried with a new session.
fn stream_error(v: &Value) -> Option<crate::ws::WsFail> {
    let e = v.get("error")?;
    let text = match e {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    Some(crate::ws::WsFail::Retry(format!("stream error: {text}")))
}

/// Tradier payloads, one JSON object per line (`linebreak`) or several
/// back to back.
fn payloads(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map_while(std::result::Result::ok)
        .collect()
}

/// Milliseconds from a Tradier date field (`"1557757189000"` or a number).
fn ms_field(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(t) => t
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| parse_iso_ms(t))
            .unwrap_or(0),
        _ => 0,
    }
}

/// Parses one market-stream quote payload (`"type":"quote"`).
/// <https://docs.tradier.com/docs/streaming>
pub fn parse_stream_quote(v: &Value) -> Result<Quote> {
    let symbol = s(&v["symbol"]);
    if symbol.is_empty() {
        return Err(BrokersError::upstream(
            VENUE,
            None,
            "quote payload without a symbol",
        ));
    }
    let bid = d(&v["bid"], "quote.bid")?;
    let ask = d(&v["ask"], "quote.ask")?;
    Ok(Quote {
        symbol,
        currency: "USD".into(),
        bid,
        ask,
        last: ((bid + ask) / Decimal::TWO).round_dp(6),
        at_ms: ms_field(&v["biddate"]).max(ms_field(&v["askdate"])),
    })
}

struct MarketEvents {
    http: Arc<Resilient>,
    cfg: TradierConfig,
    symbols: Vec<String>,
    session: String,
}

#[async_trait]
impl crate::ws::WsProtocol for MarketEvents {
    type Item = Quote;

    fn venue(&self) -> &'static str {
        VENUE
    }

    fn name(&self) -> &'static str {
        "market events stream"
    }

    async fn target(&mut self) -> std::result::Result<crate::ws::Target, crate::ws::WsFail> {
        self.session = create_session(&self.http, &self.cfg, "markets").await?;
        Ok(crate::ws::Target {
            url: format!("{}/v1/markets/events", self.cfg.ws_base()),
            ..Default::default()
        })
    }

    fn opening(&mut self) -> Vec<String> {
        vec![
            json!({"symbols": self.symbols, "sessionid": self.session, "filter": ["quote"], "linebreak": true})
                .to_string(),
        ]
    }

    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<crate::ws::WsStep<Quote>>,
    ) -> std::result::Result<(), crate::ws::WsFail> {
        for v in payloads(text) {
            if let Some(fail) = stream_error(&v) {
                return Err(fail);
            }
            if v["type"].as_str() == Some("quote") {
                match parse_stream_quote(&v) {
                    Ok(q) => out.push(crate::ws::WsStep::Emit(q)),
                    Err(e) => {
                        tracing::warn!(venue = VENUE, error = %e, "skipping a malformed quote")
                    }
                }
            }
        }
        Ok(())
    }
}

struct AccountEvents {
    http: Arc<Resilient>,
    cfg: TradierConfig,
    account: Option<String>,
    session: String,
}

/// Fields of an account-stream order event laid over the order as the
/// REST API reports it (the event lacks symbol and side); zero prices in
/// the event mean "none".
fn merge_order_event(base: &Value, ev: &Value) -> Value {
    let mut o = if base.is_object() {
        base.clone()
    } else {
        json!({})
    };
    for k in [
        "id",
        "status",
        "type",
        "tag",
        "symbol",
        "side",
        "quantity",
        "duration",
        "avg_fill_price",
        "exec_quantity",
        "last_fill_price",
        "last_fill_quantity",
        "remaining_quantity",
        "create_date",
        "transaction_date",
        "reason_description",
    ] {
        if let Some(v) = ev.get(k).filter(|v| !v.is_null()) {
            o[k] = v.clone();
        }
    }
    // The reference page spells it `executed_quantity`.
    if let Some(v) = ev.get("executed_quantity").filter(|v| !v.is_null()) {
        o["exec_quantity"] = v.clone();
    }
    for k in ["price", "stop_price"] {
        if let Some(v) = ev.get(k).filter(|v| od(v).is_some_and(|p| !p.is_zero())) {
            o[k] = v.clone();
        }
    }
    o
}

#[async_trait]
impl crate::ws::WsProtocol for AccountEvents {
    type Item = OrderUpdate;

    fn venue(&self) -> &'static str {
        VENUE
    }

    fn name(&self) -> &'static str {
        "account events stream"
    }

    async fn target(&mut self) -> std::result::Result<crate::ws::Target, crate::ws::WsFail> {
        self.session = create_session(&self.http, &self.cfg, "accounts").await?;
        Ok(crate::ws::Target {
            url: format!("{}/v1/accounts/events", self.cfg.ws_base()),
            ..Default::default()
        })
    }

    fn opening(&mut self) -> Vec<String> {
        vec![
            json!({"events": ["order"], "sessionid": self.session, "excludeAccounts": []})
                .to_string(),
        ]
    }

    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<crate::ws::WsStep<OrderUpdate>>,
    ) -> std::result::Result<(), crate::ws::WsFail> {
        use crate::ws::WsFail;
        for ev in payloads(text) {
            if let Some(fail) = stream_error(&ev) {
                return Err(fail);
            }
            if ev["event"].as_str() != Some("order") {
                continue; // heartbeat
            }
            let account = s(&ev["account"]);
            if let Some(mine) = &self.account
                && !account.is_empty()
                && &account != mine
            {
                continue;
            }
            let account = if account.is_empty() {
                self.account.clone().unwrap_or_default()
            } else {
                account
            };
            let id = s(&ev["id"]);
            let id = path_safe(&id, "id").map_err(|_| {
                WsFail::Retry(format!("order event with a malformed id: {}", ev["id"]))
            })?;
            // The event lacks symbol and side: read the order itself.
            let base = if ev.get("symbol").is_some() && ev.get("side").is_some() {
                Value::Null
            } else {
                let path = format!(
                    "accounts/{}/orders/{id}",
                    path_safe(&account, "account")
                        .map_err(|_| WsFail::Retry("order event without an account".into()))?
                );
                match call_with(
                    &self.http,
                    &self.cfg,
                    reqwest::Method::GET,
                    &path,
                    &[],
                    None,
                )
                .await
                {
                    Ok(v) => v["order"].clone(),
                    Err(e) => {
                        return Err(WsFail::Fatal(BrokersError::upstream(
                            VENUE,
                            None,
                            format!("order {id} from the account stream could not be read: {e}"),
                        )));
                    }
                }
            };
            let merged = merge_order_event(&base, &ev);
            let order = TradierClient::order_from(&account, &merged).map_err(WsFail::Fatal)?;
            let last_qty = od(&ev["last_fill_quantity"]).filter(|q| !q.is_zero());
            let fill_price = last_qty.and_then(|_| {
                od(&ev["last_fill_price"])
                    .filter(|p| !p.is_zero())
                    .or(order.avg_fill_price)
            });
            out.push(crate::ws::WsStep::Emit(OrderUpdate {
                event: s(&ev["status"]),
                fill_price,
                fill_qty: last_qty,
                at_ms: order.updated_ms,
                order,
            }));
        }
        Ok(())
    }
}

impl TradierClient {
    /// Live quotes for `symbols` from the market events WebSocket, within
    /// `limits` (a new session, re-sent subscription and backoff on each
    /// reconnect). A refused token ends it at once.
    pub async fn quote_stream_with(
        &self,
        symbols: &[String],
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<Quote>> {
        let mut wanted: Vec<String> = Vec::new();
        for sym in symbols {
            let sym = path_safe(&sym.to_ascii_uppercase(), "symbols")?;
            if !wanted.contains(&sym) {
                wanted.push(sym);
            }
        }
        if wanted.is_empty() {
            return Err(BrokersError::invalid("symbols", "give at least one symbol"));
        }
        let proto = MarketEvents {
            http: self.http.clone(),
            cfg: self.cfg.clone(),
            symbols: wanted,
            session: String::new(),
        };
        crate::ws::open(proto, limits).await
    }

    /// Live order events of the account from the account events
    /// WebSocket, within `limits`; each event is completed with the order
    /// as the REST API reports it (the event carries no symbol or side).
    pub async fn order_stream_with(
        &self,
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<OrderUpdate>> {
        let proto = AccountEvents {
            http: self.http.clone(),
            cfg: self.cfg.clone(),
            account: self.account.lock().await.clone(),
            session: String::new(),
        };
        crate::ws::open(proto, limits).await
    }
}

fn path_safe(text: &str, field: &str) -> Result<String> {
    let t = text.trim();
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
    {
        return Err(BrokersError::invalid(
            field,
            "may hold only letters, digits, - and .",
        ));
    }
    Ok(t.to_string())
}

#[async_trait]
impl Broker for TradierClient {
    fn venue(&self) -> &str {
        VENUE
    }

    /// Order events from the account events WebSocket, with Tradier's
    /// status as the event name (`open`, `pending`, `partially_filled`,
    /// `filled`, `canceled`, `rejected`, ...).
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        self.order_stream_with(crate::ws::WsLimits::default()).await
    }

    /// Quotes from the market events WebSocket.
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        self.quote_stream_with(symbols, crate::ws::WsLimits::default())
            .await
    }

    fn mode(&self) -> VenueMode {
        if self.cfg.is_sandbox() {
            VenueMode::Paper
        } else {
            VenueMode::Live
        }
    }

    // https://documentation.tradier.com/brokerage-api/accounts/get-account-balance
    async fn account(&self) -> Result<Account> {
        let id = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/balances"),
                &[],
                None,
            )
            .await?;
        let b = &v["balances"];
        let buying_power = od(&b["margin"]["stock_buying_power"])
            .or_else(|| od(&b["cash"]["cash_available"]))
            .or_else(|| od(&b["pdt"]["stock_buying_power"]));
        Ok(Account {
            id: s(&b["account_number"]),
            venue: VENUE.into(),
            currency: "USD".into(),
            balances: vec![Balance {
                currency: "USD".into(),
                cash: d(&b["total_cash"], "balances.total_cash")?,
                equity: od(&b["total_equity"]),
                buying_power,
            }],
        })
    }

    // https://documentation.tradier.com/brokerage-api/accounts/get-account-positions
    async fn positions(&self) -> Result<Vec<Position>> {
        let id = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/positions"),
                &[],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for p in list(&v["positions"]["position"]) {
            let qty = d(&p["quantity"], "position.quantity")?;
            let cost = d(&p["cost_basis"], "position.cost_basis")?;
            out.push(Position {
                symbol: s(&p["symbol"]),
                currency: "USD".into(),
                qty,
                avg_price: if qty.is_zero() {
                    Decimal::ZERO
                } else {
                    (cost / qty).abs().round_dp(6)
                },
                market_price: None,
                unrealized_pnl: None,
            });
        }
        Ok(out)
    }

    // https://documentation.tradier.com/brokerage-api/markets/get-quotes
    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let symbol = path_safe(&symbol.to_ascii_uppercase(), "symbol")?;
        let v = self
            .call(
                reqwest::Method::GET,
                "markets/quotes",
                &[("symbols", symbol.clone())],
                None,
            )
            .await?;
        let q = list(&v["quotes"]["quote"])
            .into_iter()
            .find(|q| q["symbol"].as_str() == Some(symbol.as_str()))
            .ok_or_else(|| BrokersError::NotFound(format!("Tradier has no quote for {symbol}")))?;
        let bid = d(&q["bid"], "quote.bid")?;
        let ask = d(&q["ask"], "quote.ask")?;
        Ok(Quote {
            symbol,
            currency: "USD".into(),
            bid,
            ask,
            last: od(&q["last"]).unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
            at_ms: q["trade_date"].as_i64().unwrap_or(0),
        })
    }

    // https://documentation.tradier.com/brokerage-api/markets/get-history
    // https://documentation.tradier.com/brokerage-api/markets/get-timesales
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let symbol = path_safe(&symbol.to_ascii_uppercase(), "symbol")?;
        let count = count.clamp(1, 5000);
        let now = now_ms();
        let mut out = Vec::new();
        if granularity == Granularity::D1 {
            let start_day = (now - (i64::from(count) * 2 + 10) * 86_400_000).div_euclid(86_400_000);
            let v = self
                .call(
                    reqwest::Method::GET,
                    "markets/history",
                    &[
                        ("symbol", symbol),
                        ("interval", "daily".into()),
                        ("start", format_date(start_day)),
                        ("end", format_date(now.div_euclid(86_400_000))),
                    ],
                    None,
                )
                .await?;
            for b in list(&v["history"]["day"]) {
                let day = b["date"].as_str().and_then(parse_date).ok_or_else(|| {
                    BrokersError::upstream(VENUE, None, "history.day.date is not a date")
                })?;
                out.push(Candle {
                    start_ms: day * 86_400_000,
                    open: d(&b["open"], "day.open")?,
                    high: d(&b["high"], "day.high")?,
                    low: d(&b["low"], "day.low")?,
                    close: d(&b["close"], "day.close")?,
                    volume: od(&b["volume"]),
                });
            }
        } else {
            let interval = match granularity {
                Granularity::M1 => "1min",
                Granularity::M5 => "5min",
                Granularity::M15 => "15min",
                _ => {
                    return Err(BrokersError::invalid(
                        "granularity",
                        "Tradier time and sales offers 1m, 5m and 15m bars (and 1d history), not 1h",
                    ));
                }
            };
            let lookback = granularity.millis() * i64::from(count) * 5 + 4 * 86_400_000;
            let fmt = |ms: i64| {
                let day = format_date(ms.div_euclid(86_400_000));
                let secs = ms.rem_euclid(86_400_000) / 1000;
                format!("{day} {:02}:{:02}", secs / 3600, (secs / 60) % 60)
            };
            let v = self
                .call(
                    reqwest::Method::GET,
                    "markets/timesales",
                    &[
                        ("symbol", symbol),
                        ("interval", interval.into()),
                        ("start", fmt(now - lookback)),
                        ("end", fmt(now)),
                    ],
                    None,
                )
                .await?;
            for b in list(&v["series"]["data"]) {
                out.push(Candle {
                    start_ms: b["timestamp"].as_i64().unwrap_or(0) * 1000,
                    open: d(&b["open"], "data.open")?,
                    high: d(&b["high"], "data.high")?,
                    low: d(&b["low"], "data.low")?,
                    close: d(&b["close"], "data.close")?,
                    volume: od(&b["volume"]),
                });
            }
        }
        out.sort_by_key(|c| c.start_ms);
        let skip = out.len().saturating_sub(count as usize);
        Ok(out.split_off(skip))
    }

    // https://documentation.tradier.com/brokerage-api/trading/place-equity-order
    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        let tag = req.client_order_id.trim();
        if !valid_tag(tag) {
            return Err(BrokersError::invalid(
                "client_order_id",
                "Tradier order tags take only letters, digits and -",
            ));
        }
        if req.qty.fract() != Decimal::ZERO {
            return Err(BrokersError::invalid(
                "qty",
                "Tradier equity orders take whole shares",
            ));
        }
        let duration = match req.time_in_force {
            TimeInForce::Day => "day",
            TimeInForce::Gtc => "gtc",
            TimeInForce::Ioc | TimeInForce::Fok => {
                return Err(BrokersError::invalid(
                    "time_in_force",
                    "Tradier equity orders take day or gtc",
                ));
            }
        };
        if req.order_type == OrderType::TrailingStop {
            return Err(BrokersError::invalid(
                "order_type",
                "Tradier equity orders take market, limit, stop or stop_limit",
            ));
        }
        let account = self.account_id().await?;
        let mut form: Vec<(&str, String)> = vec![
            ("class", "equity".into()),
            ("symbol", req.symbol.trim().to_ascii_uppercase()),
            ("side", req.side.as_str().into()),
            ("quantity", req.qty.normalize().to_string()),
            ("type", req.order_type.as_str().into()),
            ("duration", duration.into()),
            ("tag", tag.into()),
        ];
        if let Some(p) = req.limit_price {
            form.push(("price", p.normalize().to_string()));
        }
        if let Some(p) = req.stop_price {
            form.push(("stop", p.normalize().to_string()));
        }
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("accounts/{account}/orders"),
                &[],
                Some(&form),
            )
            .await?;
        let id = s(&v["order"]["id"]);
        if id.is_empty() || v["order"]["status"].as_str() != Some("ok") {
            return Err(BrokersError::upstream(
                VENUE,
                None,
                format!("order not accepted: {}", v["order"]),
            ));
        }
        self.one_order(&account, &id).await
    }

    /// `PUT /v1/accounts/{account_id}/orders/{id}`, form-encoded, with only
    /// the fields that change (`price`, `stop`). Verified against Tradier's
    /// "Modify an Order" page,
    /// <https://documentation.tradier.com/brokerage-api/trading/change-order>
    /// (optional form fields `type`, `duration`, `price`, `stop`; "send only
    /// the parameters you would like to adjust"; the session of a pre/post
    /// order cannot change, so `duration` is never resent). Tradier does not
    /// change quantities: a new `qty` is refused here.
    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        change.validate()?;
        if change.qty.is_some() {
            return Err(BrokersError::invalid(
                "qty",
                "Tradier cannot change an order's quantity; cancel it and place a new one",
            ));
        }
        let account = self.account_id().await?;
        let id = if order_id.trim().chars().all(|c| c.is_ascii_digit()) {
            order_id.trim().to_string()
        } else {
            self.find_by_client_id(order_id)
                .await?
                .map(|o| o.id)
                .ok_or_else(|| BrokersError::NotFound(format!("no Tradier order {order_id}")))?
        };
        let id = path_safe(&id, "order_id")?;
        let current = self.one_order(&account, &id).await?;
        change.check_applies_to(&current)?;
        let mut form: Vec<(&str, String)> = Vec::new();
        if let Some(p) = change.limit_price {
            form.push(("price", p.normalize().to_string()));
        }
        if let Some(p) = change.stop_price {
            form.push(("stop", p.normalize().to_string()));
        }
        let v = self
            .call(
                reqwest::Method::PUT,
                &format!("accounts/{account}/orders/{id}"),
                &[],
                Some(&form),
            )
            .await?;
        if v["order"]["status"].as_str() != Some("ok") {
            return Err(BrokersError::upstream(
                VENUE,
                None,
                format!("change not accepted: {}", v["order"]),
            ));
        }
        self.one_order(&account, &id).await
    }

    // https://documentation.tradier.com/brokerage-api/trading/cancel-order
    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        let account = self.account_id().await?;
        // A venue id is all digits; anything else is our tag.
        let id = if order_id.trim().chars().all(|c| c.is_ascii_digit()) {
            order_id.trim().to_string()
        } else {
            self.find_by_client_id(order_id)
                .await?
                .map(|o| o.id)
                .ok_or_else(|| BrokersError::NotFound(format!("no Tradier order {order_id}")))?
        };
        let id = path_safe(&id, "order_id")?;
        self.call(
            reqwest::Method::DELETE,
            &format!("accounts/{account}/orders/{id}"),
            &[],
            None,
        )
        .await?;
        self.one_order(&account, &id).await
    }

    // https://documentation.tradier.com/brokerage-api/accounts/get-account-orders
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let account = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{account}/orders"),
                &[("includeTags", "true".into())],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for o in list(&v["orders"]["order"]) {
            let order = Self::order_from(&account, o)?;
            if !open_only || order.status.is_working() {
                out.push(order);
            }
        }
        out.sort_by_key(|o| std::cmp::Reverse(o.created_ms));
        Ok(out)
    }

    // Fills as Tradier reports them per order (exec_quantity at
    // avg_fill_price).
    // https://documentation.tradier.com/brokerage-api/accounts/get-account-orders
    async fn executions(&self) -> Result<Vec<Execution>> {
        Ok(self
            .orders(false)
            .await?
            .into_iter()
            .filter(|o| o.filled_qty > Decimal::ZERO)
            .filter_map(|o| {
                Some(Execution {
                    id: format!("{}-fill", o.id),
                    price: o.avg_fill_price?,
                    order_id: o.id,
                    account_id: o.account_id,
                    symbol: o.symbol,
                    currency: o.currency,
                    side: o.side,
                    qty: o.filled_qty,
                    commission: o.commission,
                    at_ms: o.updated_ms,
                })
            })
            .collect())
    }
}
