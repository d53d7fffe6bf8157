//! The IB Client Portal REST client and its [`Broker`] implementation.

use async_trait::async_trait;
use nt_mcp_core::bundle::VenueMode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;
use tokio::sync::Mutex;

use super::VENUE;
use super::config::{DEFAULT_KEEPALIVE, IbkrConfig};
use super::session::KeepAlive;
use super::types::{d, ib_order_type, od, s, status_of_reply};
use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::error::{BrokersError, Result};
use crate::http::Resilient;
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side,
};
use crate::urls::is_loopback;

/// Most confirm rounds one order may need before we give up.
pub const MAX_CONFIRMS: usize = 5;

/// The IB Client Portal client.
#[derive(Debug)]
pub struct IbkrClient {
    pub(super) cfg: IbkrConfig,
    pub(super) http: Resilient,
    account: OnceLock<String>,
    conids: Mutex<HashMap<String, i64>>,
    pub(super) keepalive: OnceLock<KeepAlive>,
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
