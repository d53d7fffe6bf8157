//! Tradier WebSocket streams: market events (quotes) and account events
//! (order updates), each on a fresh streaming session.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::VENUE;
use super::config::TradierConfig;
use super::http::{TradierClient, call_with, path_safe};
use super::types::{d, od, s};
use crate::broker::{EventStream, OrderUpdate};
use crate::dates::parse_iso_ms;
use crate::error::{BrokersError, Result};
use crate::http::Resilient;
use crate::types::Quote;

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
