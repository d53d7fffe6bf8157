//! Interactive Brokers Client Portal Web API client, talking to the local
//! gateway: accounts, portfolio summary and positions, contract search,
//! market-data snapshot and history, live orders, trades, order placement
//! with the reply/confirm step (`POST /iserver/reply/{replyid}` with
//! `{"confirmed": true}` until an order id comes back, bounded), cancel,
//! and the `POST /tickle` session keep-alive.
//!
//! The gateway serves a self-signed certificate; `IBKR_ALLOW_INVALID_CERTS`
//! turns certificate checks off, and only for a loopback gateway URL.
//! Paper or live: IB paper account ids start with `D` (`DU1234567`); any
//! other account is reported live.
//!
//! Streaming over the gateway's WebSocket (`wss://localhost:5000/v1/api/ws`),
//! as verified against <https://interactivebrokers.github.io/cpwebapi/RealtimeSubscription.html>
//! and the AsyncAPI description of it
//! (<https://asyncapi.apis.io/asyncapis/interactive-brokers/interactive-brokers-asyncapi/>):
//! the client sends `{"session": ..}` with the session `/tickle` answers,
//! then `smd+{conid}+{"fields":[..]}` (answers `{"topic": "smd+{conid}",
//! "31": .., "84": .., "_updated": ..}`, field keys as strings, fields
//! that did not change left out) and `sor+{}` (answers `{"topic": "sor",
//! "args": [{order fields as in /iserver/account/orders}]}`, also partial),
//! and `tic` to keep the session alive. IB ends an `smd` subscription
//! after 10 minutes (<https://www.interactivebrokers.com/campus/ibkr-api-page/web-api-changelog/>),
//! so it is re-sent every 9.
//!
//! Docs: <https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/>.

use async_trait::async_trait;
use futures::StreamExt;
use nt_mcp_core::bundle::{BundleSettings, VenueMode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Mutex;

use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::config::period_setting;
use crate::error::{BrokersError, Result};
use crate::http::{HttpPolicy, Resilient};
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side, TimeInForce,
};

const VENUE: &str = "ibkr";
/// Most confirm rounds one order may need before we give up.
pub const MAX_CONFIRMS: usize = 5;

/// IB gateway settings.
#[derive(Debug, Clone)]
pub struct IbkrConfig {
    /// Gateway base URL including `/v1/api` (`https://localhost:5000/v1/api`).
    pub base_url: String,
    /// Account id; the gateway's selected account when `None`.
    pub account_id: Option<String>,
    /// Skip certificate checks (only allowed for a loopback gateway).
    pub allow_invalid_certs: bool,
    /// The gateway's WebSocket URL; `{base_url}/ws` (as `wss://`) when
    /// `None`.
    pub ws_url: Option<String>,
    /// HTTP limits.
    pub policy: HttpPolicy,
    /// How often to `POST /tickle` in the background to keep the gateway
    /// session alive (IB logs an idle session out after a few minutes);
    /// `None` turns the keep-alive off.
    pub keepalive: Option<Duration>,
}

/// The default keep-alive interval: one tickle a minute, as IB advises.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

/// The background keep-alive task; aborted when the client is dropped.
#[derive(Debug)]
struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub use crate::urls::is_loopback;

/// IB's name for an order type.
fn ib_order_type(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "MKT",
        OrderType::Limit => "LMT",
        OrderType::Stop => "STP",
        OrderType::StopLimit => "STOP_LIMIT",
        OrderType::TrailingStop => "TRAIL",
    }
}

/// The status an order answer (`order_status`) reports.
fn status_of_reply(first: &Value) -> OrderStatus {
    match first["order_status"].as_str() {
        Some("Filled") => OrderStatus::Filled,
        Some("Cancelled") => OrderStatus::Cancelled,
        Some("Inactive") => OrderStatus::Rejected,
        _ => OrderStatus::Open,
    }
}

/// The IB Client Portal client.
#[derive(Debug)]
pub struct IbkrClient {
    cfg: IbkrConfig,
    http: Resilient,
    account: OnceLock<String>,
    conids: Mutex<HashMap<String, i64>>,
    keepalive: OnceLock<KeepAlive>,
}

fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s
            .trim()
            .trim_start_matches(['C', 'H'])
            .replace(',', "")
            .parse()
            .ok(),
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

impl IbkrClient {
    /// A client for `cfg`; refuses `allow_invalid_certs` for a gateway that
    /// is not on loopback.
    pub fn new(cfg: IbkrConfig) -> Result<Self> {
        if cfg.allow_invalid_certs
            && (!is_loopback(&cfg.base_url) || cfg.ws_url.as_ref().is_some_and(|u| !is_loopback(u)))
        {
            return Err(BrokersError::Config(
                "IBKR_ALLOW_INVALID_CERTS is only allowed for a gateway on localhost / 127.0.0.1"
                    .into(),
            ));
        }
        let builder =
            nt_venue_http::client_builder().danger_accept_invalid_certs(cfg.allow_invalid_certs);
        let http = Resilient::with_builder(VENUE, cfg.policy.clone(), builder)?;
        let account = OnceLock::new();
        if let Some(a) = cfg.account_id.as_ref().filter(|a| !a.trim().is_empty()) {
            let _ = account.set(a.trim().to_string());
        }
        let client = Self {
            cfg,
            http,
            account,
            conids: Mutex::new(HashMap::new()),
            keepalive: OnceLock::new(),
        };
        client.ensure_keepalive();
        Ok(client)
    }

    /// Starts the keep-alive task once, when configured and a tokio runtime
    /// is there to run it (built outside a runtime, it starts on the first
    /// call). The task holds only the HTTP client and the URL, never the
    /// client itself, so dropping the client ends it.
    /// <https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#tickle>
    fn ensure_keepalive(&self) {
        let Some(period) = self.cfg.keepalive.filter(|p| !p.is_zero()) else {
            return;
        };
        if self.keepalive.get().is_some() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let http = self.http.client().clone();
        let url = format!("{}/tickle", self.cfg.base_url.trim_end_matches('/'));
        let _ = self.keepalive.get_or_init(|| {
            KeepAlive(rt.spawn(async move {
                let start = tokio::time::Instant::now() + period;
                let mut ticker = tokio::time::interval_at(start, period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let sent = http
                        .post(&url)
                        .header("Accept", "application/json")
                        .header("User-Agent", "neural-trader-mcp")
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            let body = r.bytes().await.unwrap_or_default();
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            if v["iserver"]["authStatus"]["authenticated"].as_bool() == Some(false)
                            {
                                tracing::warn!(
                                    venue = VENUE,
                                    "IB gateway session is not authenticated; log in at the gateway"
                                );
                            }
                        }
                        Ok(r) => tracing::warn!(
                            venue = VENUE,
                            status = r.status().as_u16(),
                            "IB keep-alive tickle refused"
                        ),
                        Err(e) => tracing::warn!(
                            venue = VENUE,
                            error = %nt_venue_http::transport_detail(e),
                            "IB keep-alive tickle failed"
                        ),
                    }
                }
            }))
        });
    }

    /// Built from `IBKR_GATEWAY_URL` (and optionally `IBKR_ACCOUNT_ID`,
    /// `IBKR_ALLOW_INVALID_CERTS=true`, or the manifest's
    /// `ibkr_gateway_url` / `ibkr_account_id`); `None` when no gateway URL
    /// is set. The gateway holds the login, so no secret is configured here.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let Some(base_url) = settings.string("ibkr_gateway_url", "IBKR_GATEWAY_URL") else {
            return Ok(None);
        };
        let allow = std::env::var("IBKR_ALLOW_INVALID_CERTS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let keepalive = period_setting(
            settings,
            "ibkr_keepalive_secs",
            "IBKR_KEEPALIVE_SECS",
            DEFAULT_KEEPALIVE,
            3600,
        )?;
        Self::new(IbkrConfig {
            base_url,
            account_id: settings.string("ibkr_account_id", "IBKR_ACCOUNT_ID"),
            allow_invalid_certs: allow,
            ws_url: settings.string("ibkr_ws_url", "IBKR_WS_URL"),
            policy: HttpPolicy::default(),
            keepalive,
        })
        .map(Some)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        self.ensure_keepalive();
        let url = format!("{}{path}", self.cfg.base_url.trim_end_matches('/'));
        let answer = self
            .http
            .send(|c| {
                let mut rb = c
                    .request(method.clone(), &url)
                    .header("Accept", "application/json")
                    .header("User-Agent", "neural-trader-mcp");
                if let Some(b) = &body {
                    rb = rb
                        .header("Content-Type", "application/json")
                        .body(b.to_string());
                }
                rb
            })
            .await?;
        let value: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if (200..300).contains(&answer.status) && value.get("error").is_none() {
            return Ok(value);
        }
        let message = value["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(300)
                    .collect()
            });
        Err(BrokersError::upstream(
            VENUE,
            Some(answer.status),
            if message.trim().is_empty() {
                "no error message in the answer".into()
            } else {
                message
            },
        ))
    }

    /// Keeps the gateway session alive; answers whether it is authenticated.
    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#tickle
    pub async fn tickle(&self) -> Result<bool> {
        let v = self.call(reqwest::Method::POST, "/tickle", None).await?;
        Ok(v["iserver"]["authStatus"]["authenticated"].as_bool() == Some(true))
    }

    /// The account id: configured, else the gateway's selected account.
    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#accounts
    pub async fn account_id(&self) -> Result<String> {
        if let Some(a) = self.account.get() {
            return Ok(a.clone());
        }
        let v = self
            .call(reqwest::Method::GET, "/iserver/accounts", None)
            .await?;
        let id = v["selectedAccount"]
            .as_str()
            .filter(|a| !a.is_empty())
            .or_else(|| v["accounts"][0].as_str())
            .ok_or_else(|| BrokersError::NotFound("the IB gateway lists no account".into()))?
            .to_string();
        Ok(self.account.get_or_init(|| id).clone())
    }

    /// Follows IB's reply/confirm rounds on an order answer until it
    /// carries an `order_id` (at most [`MAX_CONFIRMS`] confirmations) and
    /// returns that answer element.
    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#place-order-reply-confirmation
    async fn confirm(&self, mut v: Value) -> Result<Value> {
        for _ in 0..=MAX_CONFIRMS {
            let first = &v[0];
            if first.get("order_id").map(s).is_some_and(|i| !i.is_empty()) {
                return Ok(first.clone());
            }
            let Some(reply_id) = first["id"].as_str().filter(|i| !i.is_empty()) else {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order answer has neither order_id nor a reply id: {v}"),
                ));
            };
            if !reply_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(BrokersError::upstream(VENUE, None, "malformed reply id"));
            }
            tracing::info!(venue = VENUE, message = %first["message"], "confirming IB order warning");
            v = self
                .call(
                    reqwest::Method::POST,
                    &format!("/iserver/reply/{reply_id}"),
                    Some(json!({"confirmed": true})),
                )
                .await?;
        }
        Err(BrokersError::upstream(
            VENUE,
            None,
            format!(
                "no order id after {MAX_CONFIRMS} confirmations; check broker_orders before retrying"
            ),
        ))
    }

    /// The contract id of a US stock symbol.
    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#search-symbol-contract
    pub async fn conid(&self, symbol: &str) -> Result<i64> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty()
            || !symbol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Err(BrokersError::invalid(
                "symbol",
                "must be letters, digits and .",
            ));
        }
        if let Some(c) = self.conids.lock().await.get(&symbol) {
            return Ok(*c);
        }
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/iserver/secdef/search?symbol={symbol}"),
                None,
            )
            .await?;
        let conid = v
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["symbol"].as_str() == Some(symbol.as_str()))
            .and_then(|c| s(&c["conid"]).parse::<i64>().ok())
            .ok_or_else(|| BrokersError::NotFound(format!("IB has no contract for {symbol}")))?;
        self.conids.lock().await.insert(symbol, conid);
        Ok(conid)
    }

    fn order_from(account: &str, o: &Value) -> Order {
        let side = match o["side"].as_str().unwrap_or("") {
            "SELL" | "S" => Side::Sell,
            _ => Side::Buy,
        };
        let order_type = match o["orderType"].as_str().unwrap_or("") {
            "Limit" | "LMT" => OrderType::Limit,
            "Stop" | "STP" => OrderType::Stop,
            "StopLimit" | "Stop Limit" | "STP_LIMIT" => OrderType::StopLimit,
            "TrailingStop" | "TRAIL" => OrderType::TrailingStop,
            _ => OrderType::Market,
        };
        // PendingCancel is still working: it can fill until IB confirms
        // the cancel, so it stays open, with the pending cancel as reason.
        let raw_status = o["status"].as_str().unwrap_or("");
        let status = match raw_status {
            "Filled" => OrderStatus::Filled,
            "Cancelled" | "ApiCancelled" => OrderStatus::Cancelled,
            "Inactive" => OrderStatus::Rejected,
            _ => OrderStatus::Open,
        };
        let filled = od(&o["filledQuantity"]).unwrap_or(Decimal::ZERO);
        let status = if status == OrderStatus::Open && filled > Decimal::ZERO {
            OrderStatus::PartiallyFilled
        } else {
            status
        };
        let at = o["lastExecutionTime_r"].as_i64().unwrap_or(0);
        Order {
            id: s(&o["orderId"]),
            client_order_id: s(&o["order_ref"]),
            account_id: account.to_string(),
            symbol: s(&o["ticker"]),
            currency: o["cashCcy"].as_str().unwrap_or("USD").to_string(),
            side,
            order_type,
            time_in_force: match o["timeInForce"].as_str() {
                Some("GTC") => TimeInForce::Gtc,
                Some("IOC") => TimeInForce::Ioc,
                _ => TimeInForce::Day,
            },
            qty: od(&o["totalSize"]).unwrap_or(Decimal::ZERO),
            limit_price: od(&o["price"]),
            stop_price: od(&o["auxPrice"]),
            trail_amount: None,
            trail_percent: None,
            status,
            filled_qty: filled,
            avg_fill_price: od(&o["avgPrice"]),
            commission: Decimal::ZERO,
            reason: (raw_status == "PendingCancel").then(|| "cancel pending at IB".to_string()),
            created_ms: at,
            updated_ms: at,
        }
    }
}

/// Market-data fields asked for on the stream: 31 last, 84 bid, 85 ask
/// size, 86 ask, 88 bid size.
pub const STREAM_FIELDS: [&str; 5] = ["31", "84", "85", "86", "88"];
/// IB ends an `smd` subscription after 10 minutes; re-send it this often.
const SMD_RENEW: Duration = Duration::from_secs(9 * 60);

enum IbFeed {
    /// conid -> symbol, and the fields seen so far per conid.
    Quotes {
        conids: Vec<(i64, String)>,
        fields: HashMap<i64, serde_json::Map<String, Value>>,
    },
    /// The account, and each live order as last seen (sor sends changes).
    Orders {
        account: String,
        seen: HashMap<String, Value>,
    },
}

struct IbStream {
    http: reqwest::Client,
    cfg: IbkrConfig,
    feed: IbFeed,
    session: Option<String>,
    tick: Duration,
    since_renew: Duration,
    resubscribe_orders: bool,
}

impl IbStream {
    fn subscriptions(&self) -> Vec<String> {
        match &self.feed {
            IbFeed::Quotes { conids, .. } => conids
                .iter()
                .map(|(c, _)| format!("smd+{c}+{}", json!({"fields": STREAM_FIELDS})))
                .collect(),
            IbFeed::Orders { .. } => vec!["sor+{}".to_string()],
        }
    }
}

#[async_trait]
impl crate::ws::WsProtocol for IbStream {
    type Item = IbItem;

    fn venue(&self) -> &'static str {
        VENUE
    }

    fn name(&self) -> &'static str {
        match self.feed {
            IbFeed::Quotes { .. } => "market-data stream",
            IbFeed::Orders { .. } => "live-order stream",
        }
    }

    async fn target(&mut self) -> std::result::Result<crate::ws::Target, crate::ws::WsFail> {
        use crate::ws::WsFail;
        let url = format!("{}/tickle", self.cfg.base_url.trim_end_matches('/'));
        let sent = self
            .http
            .post(&url)
            .header("Accept", "application/json")
            .header("User-Agent", "neural-trader-mcp")
            .send()
            .await
            .map_err(|e| {
                WsFail::Retry(format!("tickle: {}", nt_venue_http::transport_detail(e)))
            })?;
        let status = sent.status().as_u16();
        let body = sent.bytes().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(WsFail::Retry(format!(
                "tickle answered HTTP {status}: {text}"
            )));
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if v["iserver"]["authStatus"]["authenticated"].as_bool() == Some(false) {
            return Err(WsFail::Fatal(BrokersError::upstream(
                VENUE,
                None,
                "the IB gateway session is not authenticated; log in at the gateway",
            )));
        }
        self.session = v["session"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        self.since_renew = Duration::ZERO;
        let url = match &self.cfg.ws_url {
            Some(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => format!(
                "{}/ws",
                crate::ws::ws_scheme(self.cfg.base_url.trim_end_matches('/'))
            ),
        };
        let tls = (self.cfg.allow_invalid_certs && url.starts_with("wss://") && is_loopback(&url))
            .then(crate::ws::insecure_tls_config);
        Ok(crate::ws::Target {
            url,
            tls,
            headers: vec![("User-Agent".into(), "neural-trader-mcp".into())],
        })
    }

    fn opening(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(sess) = &self.session {
            out.push(json!({"session": sess}).to_string());
        }
        out.extend(self.subscriptions());
        out
    }

    fn tick(&self) -> Option<Duration> {
        Some(self.tick)
    }

    async fn on_tick(&mut self) -> Vec<String> {
        let mut out = vec!["tic".to_string()];
        self.since_renew += self.tick;
        let renew_quotes =
            matches!(self.feed, IbFeed::Quotes { .. }) && self.since_renew >= SMD_RENEW;
        if renew_quotes || std::mem::take(&mut self.resubscribe_orders) {
            self.since_renew = Duration::ZERO;
            out.extend(self.subscriptions());
        }
        out
    }

    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<crate::ws::WsStep<IbItem>>,
    ) -> std::result::Result<(), crate::ws::WsFail> {
        use crate::ws::{WsFail, WsStep};
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Ok(());
        };
        let topic = v["topic"].as_str().unwrap_or("");
        if topic == "sts" && v["args"]["authenticated"].as_bool() == Some(false) {
            return Err(WsFail::Fatal(BrokersError::upstream(
                VENUE,
                None,
                "the IB gateway session is not authenticated; log in at the gateway",
            )));
        }
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let msg = match err {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            if topic == "sor" {
                // IB refuses `sor` now and then; ask again on the next tick.
                tracing::warn!(venue = VENUE, error = %msg, "live-order subscription refused; retrying");
                self.resubscribe_orders = true;
                return Ok(());
            }
            tracing::warn!(venue = VENUE, topic, error = %msg, "stream error message");
            return Ok(());
        }
        match &mut self.feed {
            IbFeed::Quotes { conids, fields } => {
                let Some(conid) = topic
                    .strip_prefix("smd+")
                    .and_then(|c| c.split(['+', '@']).next())
                    .and_then(|c| c.parse::<i64>().ok())
                    .or_else(|| v["conid"].as_i64())
                else {
                    return Ok(());
                };
                let Some((_, symbol)) = conids.iter().find(|(c, _)| *c == conid) else {
                    return Ok(());
                };
                let seen = fields.entry(conid).or_default();
                if let Some(obj) = v.as_object() {
                    for (k, val) in obj {
                        if !val.is_null() {
                            seen.insert(k.clone(), val.clone());
                        }
                    }
                }
                let (Some(bid), Some(ask)) =
                    (seen.get("84").and_then(od), seen.get("86").and_then(od))
                else {
                    return Ok(());
                };
                out.push(WsStep::Emit(IbItem::Quote(Quote {
                    symbol: symbol.clone(),
                    currency: "USD".into(),
                    bid,
                    ask,
                    last: seen
                        .get("31")
                        .and_then(od)
                        .unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
                    at_ms: seen.get("_updated").and_then(Value::as_i64).unwrap_or(0),
                })));
            }
            IbFeed::Orders { account, seen } => {
                if topic != "sor" {
                    return Ok(());
                }
                for o in v["args"].as_array().into_iter().flatten() {
                    let id = s(&o["orderId"]);
                    if id.is_empty() {
                        continue;
                    }
                    let acct = s(&o["acct"]);
                    if !acct.is_empty() && &acct != account {
                        continue;
                    }
                    let before = seen.get(&id).cloned().unwrap_or_else(|| json!({}));
                    let mut merged = before.clone();
                    if let (Some(m), Some(new)) = (merged.as_object_mut(), o.as_object()) {
                        for (k, val) in new {
                            if !val.is_null() {
                                m.insert(k.clone(), val.clone());
                            }
                        }
                    }
                    seen.insert(id, merged.clone());
                    let order = IbkrClient::order_from(account, &merged);
                    let old_qty = od(&before["filledQuantity"]).unwrap_or(Decimal::ZERO);
                    let delta = order.filled_qty - old_qty;
                    let (fill_qty, fill_price) = if delta > Decimal::ZERO {
                        // This fill's price from the running averages, when
                        // both are known; else the new average.
                        let price = match (od(&before["avgPrice"]), order.avg_fill_price) {
                            (Some(old_avg), Some(new_avg)) if old_qty > Decimal::ZERO => Some(
                                ((new_avg * order.filled_qty - old_avg * old_qty) / delta)
                                    .round_dp(8)
                                    .normalize(),
                            ),
                            (_, new_avg) => new_avg,
                        };
                        (Some(delta), price)
                    } else {
                        (None, None)
                    };
                    out.push(WsStep::Emit(IbItem::Order(Box::new(OrderUpdate {
                        event: s(&merged["status"]),
                        fill_price,
                        fill_qty,
                        at_ms: order.updated_ms,
                        order,
                    }))));
                }
            }
        }
        Ok(())
    }
}

/// One item of an IB stream.
enum IbItem {
    Quote(Quote),
    Order(Box<OrderUpdate>),
}

impl IbkrClient {
    fn stream(&self, feed: IbFeed, tick: Duration) -> IbStream {
        IbStream {
            http: self.http.client().clone(),
            cfg: self.cfg.clone(),
            feed,
            session: None,
            tick: tick.max(Duration::from_millis(10)),
            since_renew: Duration::ZERO,
            resubscribe_orders: false,
        }
    }

    /// Live quotes for `symbols` (resolved to conids) from the gateway's
    /// WebSocket, within `limits`; `tic` goes out every `tick` (IB's
    /// keep-alive), `smd` is renewed every 9 minutes.
    pub async fn quote_stream_with(
        &self,
        symbols: &[String],
        limits: crate::ws::WsLimits,
        tick: Duration,
    ) -> Result<EventStream<Quote>> {
        let mut conids: Vec<(i64, String)> = Vec::new();
        for sym in symbols {
            let key = sym.trim().to_ascii_uppercase();
            let c = self.conid(&key).await?;
            if !conids.iter().any(|(x, _)| *x == c) {
                conids.push((c, key));
            }
        }
        if conids.is_empty() {
            return Err(BrokersError::invalid("symbols", "give at least one symbol"));
        }
        let proto = self.stream(
            IbFeed::Quotes {
                conids,
                fields: HashMap::new(),
            },
            tick,
        );
        let stream = crate::ws::open(proto, limits).await?;
        Ok(Box::pin(stream.filter_map(|item| async move {
            match item {
                Ok(IbItem::Quote(q)) => Some(Ok(q)),
                Ok(IbItem::Order(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }

    /// Live order updates (`sor`) from the gateway's WebSocket, within
    /// `limits`; the event name is IB's order status (`PreSubmitted`,
    /// `Submitted`, `Filled`, `Cancelled`, ...).
    pub async fn order_stream_with(
        &self,
        limits: crate::ws::WsLimits,
        tick: Duration,
    ) -> Result<EventStream<OrderUpdate>> {
        let account = self.account_id().await?;
        let proto = self.stream(
            IbFeed::Orders {
                account,
                seen: HashMap::new(),
            },
            tick,
        );
        let stream = crate::ws::open(proto, limits).await?;
        Ok(Box::pin(stream.filter_map(|item| async move {
            match item {
                Ok(IbItem::Order(u)) => Some(Ok(*u)),
                Ok(IbItem::Quote(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }
}

#[async_trait]
impl Broker for IbkrClient {
    fn venue(&self) -> &str {
        VENUE
    }

    /// Live orders (`sor`) from the gateway's WebSocket, `tic` every minute.
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        self.order_stream_with(crate::ws::WsLimits::default(), DEFAULT_KEEPALIVE)
            .await
    }

    /// Market data (`smd`, fields 31/84/85/86/88) from the gateway's
    /// WebSocket, `tic` every minute.
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        self.quote_stream_with(symbols, crate::ws::WsLimits::default(), DEFAULT_KEEPALIVE)
            .await
    }

    fn mode(&self) -> VenueMode {
        match self.account.get() {
            Some(a) if a.starts_with('D') => VenueMode::Paper,
            _ => VenueMode::Live,
        }
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#portfolio-summary
    async fn account(&self) -> Result<Account> {
        let id = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/portfolio/{id}/summary"),
                None,
            )
            .await?;
        let currency = v["totalcashvalue"]["currency"]
            .as_str()
            .unwrap_or("USD")
            .to_string();
        Ok(Account {
            id,
            venue: VENUE.into(),
            currency: currency.clone(),
            balances: vec![Balance {
                currency,
                cash: d(&v["totalcashvalue"]["amount"], "totalcashvalue.amount")?,
                equity: od(&v["netliquidation"]["amount"]),
                buying_power: od(&v["buyingpower"]["amount"]),
            }],
        })
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#positions
    async fn positions(&self) -> Result<Vec<Position>> {
        let id = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/portfolio/{id}/positions/0"),
                None,
            )
            .await?;
        let mut out = Vec::new();
        for p in v.as_array().into_iter().flatten() {
            out.push(Position {
                symbol: s(&p["contractDesc"]),
                currency: p["currency"].as_str().unwrap_or("USD").to_string(),
                qty: d(&p["position"], "position")?,
                avg_price: od(&p["avgPrice"])
                    .or_else(|| od(&p["avgCost"]))
                    .unwrap_or(Decimal::ZERO),
                market_price: od(&p["mktPrice"]),
                unrealized_pnl: od(&p["unrealizedPnl"]),
            });
        }
        Ok(out)
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#md-snapshot
    // Fields: 31 last, 84 bid, 86 ask.
    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let conid = self.conid(symbol).await?;
        let path = format!("/iserver/marketdata/snapshot?conids={conid}&fields=31,84,86");
        let mut v = self.call(reqwest::Method::GET, &path, None).await?;
        // The first snapshot for a contract often comes back without prices
        // while the gateway subscribes; ask once more.
        if v[0].get("84").is_none() {
            v = self.call(reqwest::Method::GET, &path, None).await?;
        }
        let q = &v[0];
        let bid = d(&q["84"], "snapshot.84 (bid)")?;
        let ask = d(&q["86"], "snapshot.86 (ask)")?;
        Ok(Quote {
            symbol: symbol.trim().to_ascii_uppercase(),
            currency: "USD".into(),
            bid,
            ask,
            last: od(&q["31"]).unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
            at_ms: q["_updated"].as_i64().unwrap_or(0),
        })
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#md-history
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let conid = self.conid(symbol).await?;
        let count = count.clamp(1, 1000);
        let (bar, period) = match granularity {
            Granularity::M1 => ("1min", format!("{}min", count)),
            Granularity::M5 => ("5min", format!("{}h", (count * 5).div_ceil(60).max(1))),
            Granularity::M15 => ("15min", format!("{}d", (count * 15).div_ceil(390).max(1))),
            Granularity::H1 => ("1h", format!("{}d", count.div_ceil(7).max(1))),
            Granularity::D1 => ("1d", format!("{}d", count)),
        };
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/iserver/marketdata/history?conid={conid}&period={period}&bar={bar}"),
                None,
            )
            .await?;
        let mut out = Vec::new();
        for b in v["data"].as_array().into_iter().flatten() {
            out.push(Candle {
                start_ms: b["t"].as_i64().unwrap_or(0),
                open: d(&b["o"], "o")?,
                high: d(&b["h"], "h")?,
                low: d(&b["l"], "l")?,
                close: d(&b["c"], "c")?,
                volume: od(&b["v"]),
            });
        }
        out.sort_by_key(|c| c.start_ms);
        let skip = out.len().saturating_sub(count as usize);
        Ok(out.split_off(skip))
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#place-order
    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#place-order-reply-confirmation
    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        let account = self.account_id().await?;
        let conid = self.conid(&req.symbol).await?;
        let order_type = ib_order_type(req.order_type);
        let mut o = json!({
            "conid": conid,
            "cOID": req.client_order_id.trim(),
            "orderType": order_type,
            "side": if req.side.is_buy() { "BUY" } else { "SELL" },
            "tif": req.time_in_force.as_str().to_ascii_uppercase(),
            "quantity": req.qty,
        });
        match req.order_type {
            OrderType::Limit => o["price"] = json!(req.limit_price),
            OrderType::Stop => o["price"] = json!(req.stop_price),
            OrderType::StopLimit => {
                o["price"] = json!(req.limit_price);
                o["auxPrice"] = json!(req.stop_price);
            }
            OrderType::TrailingStop => {
                o["trailingType"] = json!(if req.trail_amount.is_some() {
                    "amt"
                } else {
                    "%"
                });
                o["trailingAmt"] = json!(req.trail_amount.or(req.trail_percent));
            }
            OrderType::Market => {}
        }
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/iserver/account/{account}/orders"),
                Some(json!({"orders": [o]})),
            )
            .await?;
        let first = self.confirm(v).await?;
        let mut order = Self::order_from(&account, &json!({}));
        order.id = s(&first["order_id"]);
        order.client_order_id = req.client_order_id.trim().to_string();
        order.symbol = req.symbol.trim().to_ascii_uppercase();
        order.side = req.side;
        order.order_type = req.order_type;
        order.time_in_force = req.time_in_force;
        order.qty = req.qty;
        order.limit_price = req.limit_price;
        order.stop_price = req.stop_price;
        order.trail_amount = req.trail_amount;
        order.trail_percent = req.trail_percent;
        order.status = status_of_reply(&first);
        Ok(order)
    }

    /// `POST /iserver/account/{accountId}/order/{orderId}` with the whole
    /// order as it should stand (IB wants conid, type, side, tif and
    /// quantity again), then the same reply/confirm rounds as placing.
    /// <https://docs.rs/ib_client/1.0.0/i686-unknown-linux-gnu/ib_client/apis/order_api/fn.iserver_account_account_id_order_order_id_post.html>
    /// (the generated client of IB's Client Portal spec: "Modifies an open
    /// order"). Re-checked against a client generated from IB's current
    /// Web API spec (`TradingOrdersApi`: `POST
    /// /iserver/account/{accountId}/order/{orderId}` takes one
    /// `SingleOrderSubmissionRequest` object, not the `{"orders": [..]}`
    /// wrapper of placing, and answers like placing, reply rounds
    /// included); IB's own page
    /// (<https://www.interactivebrokers.com/docs/web-api/web-api-v-1-0-documentation/endpoints/orders/modify-order>)
    /// is not in the stored docs.
    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        change.validate()?;
        let account = self.account_id().await?;
        let wanted = order_id.trim();
        let v = self
            .call(reqwest::Method::GET, "/iserver/account/orders", None)
            .await?;
        let raw = v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| s(&o["orderId"]) == wanted || s(&o["order_ref"]) == wanted)
            .cloned()
            .ok_or_else(|| BrokersError::NotFound(format!("no live IB order {wanted}")))?;
        let mut order = Self::order_from(&account, &raw);
        let id = order.id.clone();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(BrokersError::upstream(
                VENUE,
                None,
                "live order without a numeric orderId",
            ));
        }
        change.check_applies_to(&order)?;
        let conid = raw["conid"]
            .as_i64()
            .or_else(|| raw["conid"].as_str().and_then(|c| c.parse().ok()))
            .ok_or_else(|| {
                BrokersError::upstream(VENUE, None, format!("live order {id} has no conid"))
            })?;
        let qty = change.qty.unwrap_or(order.qty);
        let limit = change.limit_price.or(order.limit_price);
        let stop = change.stop_price.or(order.stop_price);
        let mut body = json!({
            "conid": conid,
            "orderType": ib_order_type(order.order_type),
            "side": if order.side.is_buy() { "BUY" } else { "SELL" },
            "tif": order.time_in_force.as_str().to_ascii_uppercase(),
            "quantity": qty,
        });
        match order.order_type {
            OrderType::Limit => body["price"] = json!(limit),
            OrderType::Stop => body["price"] = json!(stop),
            OrderType::StopLimit => {
                body["price"] = json!(limit);
                body["auxPrice"] = json!(stop);
            }
            OrderType::TrailingStop => {
                return Err(BrokersError::invalid(
                    "order_id",
                    "changing an IB trailing stop is not supported here; cancel it and place a new one",
                ));
            }
            OrderType::Market => {}
        }
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/iserver/account/{account}/order/{id}"),
                Some(body),
            )
            .await?;
        let first = self.confirm(v).await?;
        order.qty = qty;
        order.limit_price = limit;
        order.stop_price = stop;
        order.status = status_of_reply(&first);
        Ok(order)
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#cancel-order
    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        let account = self.account_id().await?;
        let id = if order_id.trim().chars().all(|c| c.is_ascii_digit()) {
            order_id.trim().to_string()
        } else {
            self.find_by_client_id(order_id)
                .await?
                .map(|o| o.id)
                .ok_or_else(|| BrokersError::NotFound(format!("no IB order {order_id}")))?
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(BrokersError::invalid("order_id", "must be an IB order id"));
        }
        self.call(
            reqwest::Method::DELETE,
            &format!("/iserver/account/{account}/order/{id}"),
            None,
        )
        .await?;
        let mut order = self
            .orders(false)
            .await?
            .into_iter()
            .find(|o| o.id == id)
            .ok_or_else(|| BrokersError::NotFound(format!("no IB order {id}")))?;
        if order.status.is_working() {
            order.status = OrderStatus::Cancelled;
            order.reason = Some("cancel requested".into());
        }
        Ok(order)
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#live-orders
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let account = self.account_id().await?;
        let v = self
            .call(reqwest::Method::GET, "/iserver/account/orders", None)
            .await?;
        Ok(v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| Self::order_from(&account, o))
            .filter(|o| !open_only || o.status.is_working())
            .collect())
    }

    // https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#trades
    async fn executions(&self) -> Result<Vec<Execution>> {
        let account = self.account_id().await?;
        let v = self
            .call(reqwest::Method::GET, "/iserver/account/trades", None)
            .await?;
        let mut out = Vec::new();
        for t in v.as_array().into_iter().flatten() {
            out.push(Execution {
                id: s(&t["execution_id"]),
                order_id: s(&t["order_ref"]),
                account_id: account.clone(),
                symbol: s(&t["symbol"]),
                currency: "USD".into(),
                side: if t["side"].as_str() == Some("S") {
                    Side::Sell
                } else {
                    Side::Buy
                },
                qty: d(&t["size"], "trade.size")?,
                price: d(&t["price"], "trade.price")?,
                commission: od(&t["commission"]).unwrap_or(Decimal::ZERO).abs(),
                at_ms: t["trade_time_r"].as_i64().unwrap_or(0),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IB's order statuses (<https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#live-orders>)
    /// as ours: a pending cancel can still fill, so it stays working.
    #[test]
    fn ib_order_statuses_map_to_ours() {
        let cases = [
            ("PreSubmitted", 0.0, OrderStatus::Open, None),
            ("Submitted", 0.0, OrderStatus::Open, None),
            ("Submitted", 4.0, OrderStatus::PartiallyFilled, None),
            (
                "PendingCancel",
                0.0,
                OrderStatus::Open,
                Some("cancel pending at IB"),
            ),
            (
                "PendingCancel",
                4.0,
                OrderStatus::PartiallyFilled,
                Some("cancel pending at IB"),
            ),
            ("Cancelled", 0.0, OrderStatus::Cancelled, None),
            ("ApiCancelled", 0.0, OrderStatus::Cancelled, None),
            ("Filled", 10.0, OrderStatus::Filled, None),
            ("Inactive", 0.0, OrderStatus::Rejected, None),
        ];
        for (raw, filled, want, reason) in cases {
            let o = IbkrClient::order_from(
                "DU1234567",
                &json!({"orderId": 1, "status": raw, "filledQuantity": filled, "totalSize": 10.0}),
            );
            assert_eq!((o.status, o.reason.as_deref()), (want, reason), "{raw}");
        }
    }
}
