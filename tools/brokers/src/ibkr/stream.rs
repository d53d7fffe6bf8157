//! IB gateway WebSocket streams: `smd` market data (renewed every 9
//! minutes) and `sor` order updates, with `tic` keep-alives.

use async_trait::async_trait;
use futures::StreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

use super::VENUE;
use super::config::IbkrConfig;
use super::http::IbkrClient;
use super::types::{od, s};
use crate::broker::{EventStream, OrderUpdate};
use crate::error::{BrokersError, Result};
use crate::types::Quote;
use crate::urls::is_loopback;

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
    fn stream(&self, feed: IbFeed, tick: Duration) -> Result<IbStream> {
        Ok(IbStream {
            http: self.http.client()?.clone(),
            cfg: self.cfg.clone(),
            feed,
            session: None,
            tick: tick.max(Duration::from_millis(10)),
            since_renew: Duration::ZERO,
            resubscribe_orders: false,
        })
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
        )?;
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
        )?;
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
