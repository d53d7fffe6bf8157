//! The OANDA v20 REST client and its [`Broker`] implementation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nt_mcp_core::bundle::VenueMode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::VENUE;
use super::config::OandaConfig;
use super::stream::StreamEvent;
use super::types::{d, od, s, unix_ms};
use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::error::{BrokersError, Result};
use crate::http::Resilient;
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side, TimeInForce,
};
use futures::StreamExt;

/// The OANDA v20 client.
#[derive(Debug, Clone)]
pub struct OandaClient {
    pub(super) cfg: OandaConfig,
    pub(super) http: Arc<Resilient>,
}

/// The order specifier OANDA takes in a path: a venue id (all digits) as
/// is, anything else as our client id (`@id`).
fn order_specifier(order_id: &str) -> Result<String> {
    let id = order_id.trim();
    if id.is_empty() || id.contains(['/', '?', '#', ' ']) {
        return Err(BrokersError::invalid(
            "order_id",
            "must be an OANDA order id or a client order id",
        ));
    }
    Ok(if id.chars().all(|c| c.is_ascii_digit()) {
        id.to_string()
    } else {
        format!("@{id}")
    })
}

impl OandaClient {
    /// A client for `cfg`.
    pub fn new(cfg: OandaConfig) -> Result<Self> {
        let http = Arc::new(Resilient::new(VENUE, cfg.policy.clone())?);
        Ok(Self { cfg, http })
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!(
            "{}/v3/accounts/{}{path}",
            self.cfg.base_url.trim_end_matches('/'),
            self.cfg.account_id
        )
    }

    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> Result<Value> {
        let token = self.cfg.token.clone();
        let answer = self
            .http
            .send(|c| {
                let mut rb = c
                    .request(method.clone(), &url)
                    .header("Authorization", format!("Bearer {token}"))
                    .header("Accept-Datetime-Format", "UNIX");
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
            return Ok(value);
        }
        let mut message = value["errorMessage"]
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
        if let Some(code) = value["errorCode"].as_str() {
            message = format!("{message} ({code})");
        }
        if let Some(reason) = value["orderRejectTransaction"]["rejectReason"].as_str() {
            message = format!("{message}; reject reason {reason}");
        }
        Err(BrokersError::upstream(VENUE, Some(answer.status), message))
    }
}

#[async_trait]
impl Broker for OandaClient {
    fn venue(&self) -> &str {
        VENUE
    }

    /// Prices from the streaming pricing endpoint; heartbeats keep the
    /// connection alive and are not passed on (30 s without one ends it).
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        let names: Vec<&str> = symbols.iter().map(|s| s.trim()).collect();
        let stream = self.price_stream(&names, Duration::from_secs(30)).await?;
        Ok(Box::pin(stream.filter_map(|ev| async move {
            match ev {
                Ok(StreamEvent::Price(q)) => Some(Ok(q)),
                Ok(StreamEvent::Heartbeat(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }

    /// Order updates from the transaction stream; heartbeats and
    /// transactions not about an order are skipped (30 s without any
    /// message ends it).
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        let txs = self.transaction_stream(Duration::from_secs(30)).await?;
        let me = self.clone();
        Ok(Box::pin(txs.filter_map(move |item| {
            let me = me.clone();
            async move {
                match item {
                    Err(e) => Some(Err(e)),
                    Ok(tx) => me.update_from_transaction(&tx).await.transpose(),
                }
            }
        })))
    }

    fn mode(&self) -> VenueMode {
        if self.cfg.live {
            VenueMode::Live
        } else {
            VenueMode::Paper
        }
    }

    async fn account(&self) -> Result<Account> {
        let v = self
            .call(reqwest::Method::GET, self.url("/summary"), None)
            .await?;
        let a = &v["account"];
        let currency = s(&a["currency"]);
        Ok(Account {
            id: s(&a["id"]),
            venue: VENUE.into(),
            currency: currency.clone(),
            balances: vec![Balance {
                currency,
                cash: d(&a["balance"], "account.balance")?,
                equity: od(&a["NAV"]),
                buying_power: od(&a["marginAvailable"]),
            }],
        })
    }

    async fn positions(&self) -> Result<Vec<Position>> {
        let v = self
            .call(reqwest::Method::GET, self.url("/openPositions"), None)
            .await?;
        let mut out = Vec::new();
        for p in v["positions"].as_array().into_iter().flatten() {
            let instrument = s(&p["instrument"]);
            for leg in ["long", "short"] {
                let units = od(&p[leg]["units"]).unwrap_or(Decimal::ZERO);
                if units.is_zero() {
                    continue;
                }
                out.push(Position {
                    currency: instrument
                        .split_once('_')
                        .map(|(_, q)| q.to_string())
                        .unwrap_or_default(),
                    symbol: instrument.clone(),
                    qty: units,
                    avg_price: od(&p[leg]["averagePrice"]).unwrap_or(Decimal::ZERO),
                    market_price: None,
                    unrealized_pnl: od(&p[leg]["unrealizedPL"]),
                });
            }
        }
        Ok(out)
    }

    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let v = self
            .call(
                reqwest::Method::GET,
                self.url(&format!("/pricing?instruments={}", symbol.trim())),
                None,
            )
            .await?;
        let p = v["prices"]
            .get(0)
            .ok_or_else(|| BrokersError::NotFound(format!("OANDA has no price for {symbol}")))?;
        Self::quote_from(p)
    }

    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let g = match granularity {
            Granularity::M1 => "M1",
            Granularity::M5 => "M5",
            Granularity::M15 => "M15",
            Granularity::H1 => "H1",
            Granularity::D1 => "D",
        };
        let url = format!(
            "{}/v3/instruments/{}/candles?granularity={g}&count={}&price=M",
            self.cfg.base_url.trim_end_matches('/'),
            symbol.trim(),
            count.clamp(1, 5000)
        );
        let v = self.call(reqwest::Method::GET, url, None).await?;
        let mut out = Vec::new();
        for c in v["candles"].as_array().into_iter().flatten() {
            let m = &c["mid"];
            out.push(Candle {
                start_ms: unix_ms(&c["time"]),
                open: d(&m["o"], "mid.o")?,
                high: d(&m["h"], "mid.h")?,
                low: d(&m["l"], "mid.l")?,
                close: d(&m["c"], "mid.c")?,
                volume: od(&c["volume"]),
            });
        }
        Ok(out)
    }

    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        let units = if req.side.is_buy() { req.qty } else { -req.qty };
        let tif = match req.time_in_force {
            TimeInForce::Day => "GFD",
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
        };
        let mut order = json!({
            "instrument": req.symbol.trim().to_ascii_uppercase(),
            "units": units.normalize().to_string(),
            "positionFill": "DEFAULT",
            "clientExtensions": {"id": req.client_order_id.trim()},
        });
        match req.order_type {
            OrderType::Market => {
                order["type"] = json!("MARKET");
                // OANDA market orders take only FOK or IOC.
                order["timeInForce"] = json!(if req.time_in_force == TimeInForce::Ioc {
                    "IOC"
                } else {
                    "FOK"
                });
            }
            OrderType::Limit => {
                order["type"] = json!("LIMIT");
                order["price"] = json!(req.limit_price.map(|p| p.normalize().to_string()));
                order["timeInForce"] = json!(tif);
            }
            OrderType::Stop => {
                order["type"] = json!("STOP");
                order["price"] = json!(req.stop_price.map(|p| p.normalize().to_string()));
                order["timeInForce"] = json!(tif);
            }
            OrderType::StopLimit => {
                order["type"] = json!("STOP");
                order["price"] = json!(req.stop_price.map(|p| p.normalize().to_string()));
                order["priceBound"] = json!(req.limit_price.map(|p| p.normalize().to_string()));
                order["timeInForce"] = json!(tif);
            }
            OrderType::TrailingStop => {
                return Err(BrokersError::invalid(
                    "order_type",
                    "OANDA takes trailing stops only as a trailing stop-loss on an open trade, not as a standalone order",
                ));
            }
        }
        let v = self
            .call(
                reqwest::Method::POST,
                self.url("/orders"),
                Some(json!({"order": order})),
            )
            .await?;
        let created = &v["orderCreateTransaction"];
        let mut out = self.order_from(created)?;
        out.client_order_id = req.client_order_id.trim().to_string();
        out.time_in_force = req.time_in_force;
        if let Some(fill) = v.get("orderFillTransaction") {
            out.status = OrderStatus::Filled;
            out.filled_qty = req.qty;
            out.avg_fill_price = od(&fill["price"]);
            out.commission = od(&fill["commission"]).unwrap_or(Decimal::ZERO).abs();
            out.updated_ms = unix_ms(&fill["time"]);
        } else if let Some(cancel) = v.get("orderCancelTransaction") {
            out.status = OrderStatus::Cancelled;
            out.reason = cancel["reason"].as_str().map(str::to_string);
        }
        Ok(out)
    }

    /// Replaces a pending LIMIT or STOP order: OANDA cancels it and creates
    /// the replacement in one step, which gets a new venue id.
    // Doc: PUT /v3/accounts/{accountID}/orders/{orderSpecifier} "Replace an Order in
    // an Account by simultaneously cancelling it and creating a replacement Order",
    // body {"order": OrderRequest} (OANDA v20 Order endpoints; as generated in
    // https://docs.rs/crate/oanda-v20-openapi/latest/source/docs/OrderApi.md).
    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        change.validate()?;
        let spec = order_specifier(order_id)?;
        let current = self
            .call(
                reqwest::Method::GET,
                self.url(&format!("/orders/{spec}")),
                None,
            )
            .await?;
        let old = &current["order"];
        let kind = old["type"].as_str().unwrap_or("");
        if old["state"].as_str() != Some("PENDING") {
            return Err(BrokersError::refused(
                "replace_unsupported",
                format!("order {order_id} is not pending; only pending orders can be replaced"),
            ));
        }
        if !matches!(kind, "LIMIT" | "STOP") {
            return Err(BrokersError::refused(
                "replace_unsupported",
                format!(
                    "OANDA replaces pending LIMIT and STOP orders here; order {order_id} is {kind}"
                ),
            ));
        }
        let mut order = json!({
            "type": kind,
            "instrument": old["instrument"],
            "units": old["units"],
            "price": old["price"],
            "timeInForce": old["timeInForce"],
            "positionFill": old.get("positionFill").cloned().unwrap_or_else(|| json!("DEFAULT")),
        });
        for key in ["gtdTime", "priceBound", "triggerCondition"] {
            if let Some(v) = old.get(key) {
                order[key] = v.clone();
            }
        }
        if let Some(qty) = change.qty {
            let short = d(&old["units"], "units").is_ok_and(|u| u < Decimal::ZERO);
            let units = if short { -qty } else { qty };
            order["units"] = json!(units.normalize().to_string());
        }
        match kind {
            "LIMIT" => {
                if change.stop_price.is_some() {
                    return Err(BrokersError::invalid(
                        "stop_price",
                        "a LIMIT order has no stop price; change limit_price",
                    ));
                }
                if let Some(p) = change.limit_price {
                    order["price"] = json!(p.normalize().to_string());
                }
            }
            _ => {
                if let Some(p) = change.stop_price {
                    order["price"] = json!(p.normalize().to_string());
                }
                if let Some(p) = change.limit_price {
                    order["priceBound"] = json!(p.normalize().to_string());
                }
            }
        }
        let v = self
            .call(
                reqwest::Method::PUT,
                self.url(&format!("/orders/{spec}")),
                Some(json!({"order": order})),
            )
            .await?;
        let mut out = self.order_from(&v["orderCreateTransaction"])?;
        // The replacement is the same order to the caller: keep its client id.
        let client_id = s(&old["clientExtensions"]["id"]);
        if !client_id.is_empty() {
            out.client_order_id = client_id;
        }
        Ok(out)
    }

    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        let spec = order_specifier(order_id)?;
        self.call(
            reqwest::Method::PUT,
            self.url(&format!("/orders/{spec}/cancel")),
            None,
        )
        .await?;
        let v = self
            .call(
                reqwest::Method::GET,
                self.url(&format!("/orders/{spec}")),
                None,
            )
            .await?;
        self.order_from(&v["order"])
    }

    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let state = if open_only { "PENDING" } else { "ALL" };
        let v = self
            .call(
                reqwest::Method::GET,
                self.url(&format!("/orders?state={state}&count=500")),
                None,
            )
            .await?;
        v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| self.order_from(o))
            .collect()
    }

    async fn executions(&self) -> Result<Vec<Execution>> {
        let v = self
            .call(
                reqwest::Method::GET,
                self.url("/trades?state=ALL&count=500"),
                None,
            )
            .await?;
        let mut out = Vec::new();
        for t in v["trades"].as_array().into_iter().flatten() {
            let units = od(&t["initialUnits"]).unwrap_or(Decimal::ZERO);
            let instrument = s(&t["instrument"]);
            out.push(Execution {
                id: s(&t["id"]),
                order_id: s(&t["id"]),
                account_id: self.cfg.account_id.clone(),
                currency: instrument
                    .split_once('_')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default(),
                symbol: instrument,
                side: if units < Decimal::ZERO {
                    Side::Sell
                } else {
                    Side::Buy
                },
                qty: units.abs(),
                price: d(&t["price"], "trade.price")?,
                commission: Decimal::ZERO,
                at_ms: unix_ms(&t["openTime"]),
            });
        }
        Ok(out)
    }
}
