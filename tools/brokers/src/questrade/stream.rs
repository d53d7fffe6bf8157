//! Questrade streams: L1 quotes and order notifications over a WebSocket
//! on the port the REST API hands out, with the REST keep-alive.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::VENUE;
use super::http::{QuestradeClient, QuestradeCore};
use super::types::{currency_of, iso, od, s};
use crate::broker::{EventStream, OrderUpdate};
use crate::error::{BrokersError, Result};
use crate::types::Quote;

/// What a Questrade stream carries.
enum Feed {
    /// L1 quotes: symbolId -> (symbol, currency), and the last full quote
    /// of each id (updates may carry only the fields that changed).
    Quotes {
        ids: Vec<(i64, String, String)>,
        last: HashMap<i64, Value>,
    },
    /// Order notifications for one account.
    Orders { account: String },
}

struct QuestradeStream {
    core: Arc<QuestradeCore>,
    feed: Feed,
    token: String,
    logged_in: bool,
    force_refresh: bool,
}

#[async_trait]
impl crate::ws::WsProtocol for QuestradeStream {
    type Item = StreamItem;

    fn venue(&self) -> &'static str {
        VENUE
    }

    fn name(&self) -> &'static str {
        match self.feed {
            Feed::Quotes { .. } => "L1 quote stream",
            Feed::Orders { .. } => "order notification stream",
        }
    }

    async fn target(&mut self) -> std::result::Result<crate::ws::Target, crate::ws::WsFail> {
        use crate::ws::WsFail;
        self.logged_in = false;
        if std::mem::take(&mut self.force_refresh) {
            self.core
                .session(true)
                .await
                .map_err(|e| WsFail::Retry(e.to_string()))?;
        }
        let (path, query): (&str, Vec<(&str, String)>) = match &self.feed {
            Feed::Quotes { ids, .. } => (
                "markets/quotes",
                vec![
                    (
                        "ids",
                        ids.iter()
                            .map(|(id, _, _)| id.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    ("stream", "true".into()),
                    ("mode", "WebSocket".into()),
                ],
            ),
            Feed::Orders { .. } => ("notifications", vec![("mode", "WebSocket".into())]),
        };
        let answer = match self
            .core
            .call(reqwest::Method::GET, path, &query, None)
            .await
        {
            Ok(v) => v,
            Err(
                e @ BrokersError::Upstream {
                    status: Some(401 | 403),
                    ..
                },
            ) => {
                return Err(WsFail::Fatal(e));
            }
            Err(e @ BrokersError::Config(_)) => return Err(WsFail::Fatal(e)),
            Err(e) => return Err(WsFail::Retry(e.to_string())),
        };
        let port = answer["streamPort"]
            .as_u64()
            .filter(|p| (1..=65535).contains(p))
            .ok_or_else(|| WsFail::Retry(format!("no streamPort in the answer: {answer}")))?;
        // The session `call` just used (or refreshed): its token logs in.
        let sess = self
            .core
            .session(false)
            .await
            .map_err(|e| WsFail::Retry(e.to_string()))?;
        self.token = sess.access_token.clone();
        let (scheme, host) =
            crate::urls::ws_scheme_and_host(&sess.api_server).ok_or_else(|| {
                WsFail::Retry(format!("api_server `{}` has no host", sess.api_server))
            })?;
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        Ok(crate::ws::Target {
            url: format!("{scheme}://{host}:{port}/v1/{path}?{query}"),
            ..Default::default()
        })
    }

    fn opening(&mut self) -> Vec<String> {
        // The access token alone, no `Bearer`, as the first message.
        vec![self.token.clone()]
    }

    fn tick(&self) -> Option<Duration> {
        self.core.cfg.keepalive
    }

    /// "Keeping a socket open does not extend your session. You need to
    /// send requests at least every 30 minutes" (the streaming page): a
    /// cheap authenticated request, refreshing the token when it is due.
    async fn on_tick(&mut self) -> Vec<String> {
        if let Err(e) = self
            .core
            .call(reqwest::Method::GET, "time", &[], None)
            .await
        {
            tracing::warn!(venue = VENUE, error = %e, "Questrade stream keep-alive request failed");
        }
        Vec::new()
    }

    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<crate::ws::WsStep<StreamItem>>,
    ) -> std::result::Result<(), crate::ws::WsFail> {
        use crate::ws::{WsFail, WsStep};
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Ok(());
        };
        if !self.logged_in {
            if v["success"].as_bool() == Some(true) {
                self.logged_in = true;
                return Ok(());
            }
            // Refused token ({"code": 1017, "message": ..}): refresh, then retry.
            self.force_refresh = true;
            return Err(WsFail::Retry(format!(
                "login refused: {}",
                v["message"].as_str().unwrap_or(text)
            )));
        }
        if let Some(msg) = v["message"].as_str().filter(|_| v.get("code").is_some()) {
            self.force_refresh = true;
            return Err(WsFail::Retry(format!("stream error {}: {msg}", v["code"])));
        }
        match &mut self.feed {
            Feed::Quotes { ids, last } => {
                for q in v["quotes"].as_array().into_iter().flatten() {
                    let Some(id) = q["symbolId"].as_i64() else {
                        continue;
                    };
                    let Some((_, symbol, currency)) = ids.iter().find(|(i, _, _)| *i == id) else {
                        continue;
                    };
                    let merged = last.entry(id).or_insert_with(|| json!({}));
                    if let (Some(m), Some(new)) = (merged.as_object_mut(), q.as_object()) {
                        for (k, val) in new {
                            if !val.is_null() {
                                m.insert(k.clone(), val.clone());
                            }
                        }
                    }
                    let (Some(bid), Some(ask)) = (od(&merged["bidPrice"]), od(&merged["askPrice"]))
                    else {
                        continue;
                    };
                    out.push(WsStep::Emit(StreamItem::Quote(Quote {
                        symbol: symbol.clone(),
                        currency: currency.clone(),
                        bid,
                        ask,
                        last: od(&merged["lastTradePrice"])
                            .unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
                        at_ms: iso(&merged["lastTradeTime"]),
                    })));
                }
            }
            Feed::Orders { account } => {
                let acct = s(&v["accountNumber"]);
                if !acct.is_empty() && &acct != account {
                    return Ok(());
                }
                let executions: Vec<&Value> =
                    v["executions"].as_array().into_iter().flatten().collect();
                for o in v["orders"].as_array().into_iter().flatten() {
                    let order = self.core.order_from(account, o);
                    let fills: Vec<&&Value> = executions
                        .iter()
                        .filter(|e| s(&e["orderId"]) == order.id)
                        .collect();
                    let fill_qty: Decimal = fills.iter().filter_map(|e| od(&e["quantity"])).sum();
                    let fill_price = fills.last().and_then(|e| od(&e["price"]));
                    out.push(WsStep::Emit(StreamItem::Order(Box::new(OrderUpdate {
                        event: s(&o["state"]),
                        fill_price,
                        fill_qty: (!fills.is_empty()).then_some(fill_qty),
                        at_ms: order.updated_ms,
                        order,
                    }))));
                }
            }
        }
        Ok(())
    }
}

/// One item of a Questrade stream.
enum StreamItem {
    Quote(Quote),
    Order(Box<OrderUpdate>),
}

impl QuestradeClient {
    /// Live L1 quotes for `symbols` (resolved to symbolIds first) from
    /// the quote stream, within `limits`.
    pub async fn quote_stream_with(
        &self,
        symbols: &[String],
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<Quote>> {
        let mut ids: Vec<(i64, String, String)> = Vec::new();
        for sym in symbols {
            let key = sym.trim().to_ascii_uppercase();
            let (id, currency) = self.symbol_id(&key).await?;
            if !ids.iter().any(|(i, _, _)| *i == id) {
                let currency = if currency.is_empty() {
                    currency_of(&key)
                } else {
                    currency
                };
                ids.push((id, key, currency));
            }
        }
        if ids.is_empty() {
            return Err(BrokersError::invalid("symbols", "give at least one symbol"));
        }
        let proto = QuestradeStream {
            core: self.0.clone(),
            feed: Feed::Quotes {
                ids,
                last: HashMap::new(),
            },
            token: String::new(),
            logged_in: false,
            force_refresh: false,
        };
        let stream = crate::ws::open(proto, limits).await?;
        Ok(Box::pin(stream.filter_map(|item| async move {
            match item {
                Ok(StreamItem::Quote(q)) => Some(Ok(q)),
                Ok(StreamItem::Order(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }

    /// Live order notifications of the account, within `limits`; the
    /// event name is Questrade's order state (`Accepted`, `Partial`,
    /// `Executed`, `Canceled`, ...).
    pub async fn order_stream_with(
        &self,
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<OrderUpdate>> {
        let account = self.account_id().await?;
        let proto = QuestradeStream {
            core: self.0.clone(),
            feed: Feed::Orders { account },
            token: String::new(),
            logged_in: false,
            force_refresh: false,
        };
        let stream = crate::ws::open(proto, limits).await?;
        Ok(Box::pin(stream.filter_map(|item| async move {
            match item {
                Ok(StreamItem::Order(u)) => Some(Ok(*u)),
                Ok(StreamItem::Quote(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }
}
