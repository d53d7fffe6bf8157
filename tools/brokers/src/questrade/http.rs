//! The Questrade REST client (API v1) and its [`Broker`] implementation.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use nt_mcp_core::Store;
use nt_mcp_core::bundle::VenueMode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::VENUE;
use super::auth::Session;
use super::config::QuestradeConfig;
use super::types::{currency_of, d, iso, now_ms, od, s, venue_message};
use crate::broker::{Broker, EventStream, Granularity, OrderUpdate};
use crate::compliance::CheckResult;
use crate::dates::format_iso_ms;
use crate::error::{BrokersError, Result};
use crate::http::Resilient;
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderType, Position, Quote, Side,
    TimeInForce,
};

/// The Questrade client: a cheap handle on [`QuestradeCore`], shared with
/// the streams it opens (they refresh tokens and ask for stream ports on
/// every reconnect).
#[derive(Clone)]
pub struct QuestradeClient(pub(super) Arc<QuestradeCore>);

impl std::ops::Deref for QuestradeClient {
    type Target = QuestradeCore;
    fn deref(&self) -> &QuestradeCore {
        &self.0
    }
}

impl std::fmt::Debug for QuestradeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The state and REST calls behind a [`QuestradeClient`].
pub struct QuestradeCore {
    pub(super) cfg: QuestradeConfig,
    pub(super) http: Resilient,
    pub(super) store: OnceLock<Store>,
    pub(super) session: Mutex<Option<Session>>,
    account: Mutex<Option<String>>,
    /// Symbol -> (symbolId, currency).
    symbols: Mutex<HashMap<String, (i64, String)>>,
}

impl std::fmt::Debug for QuestradeCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No tokens in debug output.
        f.debug_struct("QuestradeClient")
            .field("login_url", &self.cfg.login_url)
            .field("practice", &self.cfg.practice)
            .finish_non_exhaustive()
    }
}

impl QuestradeClient {
    /// A client for `cfg`; call [`Broker::attach_store`] before use.
    pub fn new(cfg: QuestradeConfig) -> Result<Self> {
        QuestradeCore::new(cfg).map(|c| Self(Arc::new(c)))
    }
}

impl QuestradeCore {
    /// A client core for `cfg`.
    pub fn new(cfg: QuestradeConfig) -> Result<Self> {
        if cfg.refresh_token.trim().is_empty() {
            return Err(BrokersError::Config(
                "Questrade refresh token is empty".into(),
            ));
        }
        let http = Resilient::new(VENUE, cfg.policy.clone())?;
        Ok(Self {
            account: Mutex::new(cfg.account_id.clone()),
            cfg,
            http,
            store: OnceLock::new(),
            session: Mutex::new(None),
            symbols: Mutex::new(HashMap::new()),
        })
    }

    /// One API call under `v1/`; refreshes once on 401.
    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        for attempt in 0..2 {
            let sess = self.session(attempt > 0).await?;
            let url = format!("{}/v1/{path}", sess.api_server.trim_end_matches('/'));
            let answer = self
                .http
                .send(|c| {
                    let mut rb = c
                        .request(method.clone(), &url)
                        .query(query)
                        .bearer_auth(&sess.access_token);
                    if let Some(b) = body {
                        rb = rb
                            .header("Content-Type", "application/json")
                            .body(b.to_string());
                    }
                    rb
                })
                .await?;
            if answer.status == 401 && attempt == 0 {
                continue;
            }
            if (200..300).contains(&answer.status) {
                return Ok(serde_json::from_slice(&answer.body).unwrap_or(Value::Null));
            }
            return Err(venue_message(answer.status, &answer.body));
        }
        Err(BrokersError::upstream(
            VENUE,
            Some(401),
            "access token refused after a refresh",
        ))
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts
    /// The account number: configured, else the primary account.
    pub(super) async fn account_id(&self) -> Result<String> {
        if let Some(id) = self.account.lock().await.clone() {
            return Ok(id);
        }
        let v = self
            .call(reqwest::Method::GET, "accounts", &[], None)
            .await?;
        let accounts = v["accounts"].as_array().cloned().unwrap_or_default();
        let chosen = accounts
            .iter()
            .find(|a| a["isPrimary"].as_bool() == Some(true))
            .or_else(|| accounts.first())
            .map(|a| s(&a["number"]))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| BrokersError::NotFound("Questrade lists no accounts".into()))?;
        *self.account.lock().await = Some(chosen.clone());
        Ok(chosen)
    }

    // https://www.questrade.com/api/documentation/rest-operations/market-calls/symbols-search
    /// The symbolId and currency of `symbol` (exact match from symbol search).
    pub async fn symbol_id(&self, symbol: &str) -> Result<(i64, String)> {
        let key = symbol.trim().to_ascii_uppercase();
        if key.is_empty() {
            return Err(BrokersError::invalid("symbol", "must not be empty"));
        }
        if let Some(hit) = self.symbols.lock().await.get(&key) {
            return Ok(hit.clone());
        }
        let v = self
            .call(
                reqwest::Method::GET,
                "symbols/search",
                &[("prefix", key.clone())],
                None,
            )
            .await?;
        let hit = v["symbols"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| s(&x["symbol"]).eq_ignore_ascii_case(&key))
            .and_then(|x| Some((x["symbolId"].as_i64()?, s(&x["currency"]))))
            .ok_or_else(|| BrokersError::NotFound(format!("Questrade knows no symbol {key}")))?;
        self.symbols.lock().await.insert(key, hit.clone());
        Ok(hit)
    }
}

#[async_trait]
impl Broker for QuestradeClient {
    fn venue(&self) -> &str {
        VENUE
    }

    fn mode(&self) -> VenueMode {
        if self.cfg.practice {
            VenueMode::Paper
        } else {
            VenueMode::Live
        }
    }

    fn attach_store(&self, store: &Store) {
        let _ = self.store.set(store.clone());
    }

    /// Order notifications from the notification stream
    /// (<https://www.questrade.com/api/documentation/streaming>).
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        self.order_stream_with(crate::ws::WsLimits::default()).await
    }

    /// L1 quotes from the quote stream
    /// (<https://www.questrade.com/api/documentation/streaming>).
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        self.quote_stream_with(symbols, crate::ws::WsLimits::default())
            .await
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-balances
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
        let mut balances = Vec::new();
        for b in v["perCurrencyBalances"].as_array().into_iter().flatten() {
            balances.push(Balance {
                currency: s(&b["currency"]),
                cash: d(&b["cash"], "perCurrencyBalances.cash")?,
                equity: od(&b["totalEquity"]),
                buying_power: od(&b["buyingPower"]),
            });
        }
        Ok(Account {
            id,
            venue: VENUE.into(),
            currency: "CAD".into(),
            balances,
        })
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-positions
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
        for p in v["positions"].as_array().into_iter().flatten() {
            let qty = od(&p["openQuantity"]).unwrap_or(Decimal::ZERO);
            if qty.is_zero() {
                continue;
            }
            let symbol = s(&p["symbol"]);
            out.push(Position {
                currency: currency_of(&symbol),
                symbol,
                qty,
                avg_price: od(&p["averageEntryPrice"]).unwrap_or(Decimal::ZERO),
                market_price: od(&p["currentPrice"]),
                unrealized_pnl: od(&p["openPnl"]).or_else(|| od(&p["openPnL"])),
            });
        }
        Ok(out)
    }

    // https://www.questrade.com/api/documentation/rest-operations/market-calls/markets-quotes-id
    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let (sid, currency) = self.symbol_id(symbol).await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("markets/quotes/{sid}"),
                &[],
                None,
            )
            .await?;
        let q = &v["quotes"][0];
        let bid = d(&q["bidPrice"], "quotes[0].bidPrice")?;
        let ask = d(&q["askPrice"], "quotes[0].askPrice")?;
        Ok(Quote {
            symbol: s(&q["symbol"]),
            currency: if currency.is_empty() {
                currency_of(symbol)
            } else {
                currency
            },
            bid,
            ask,
            last: od(&q["lastTradePrice"]).unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
            at_ms: iso(&q["lastTradeTime"]),
        })
    }

    // https://www.questrade.com/api/documentation/rest-operations/market-calls/markets-candles-id
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let (sid, _) = self.symbol_id(symbol).await?;
        let interval = match granularity {
            Granularity::M1 => "OneMinute",
            Granularity::M5 => "FiveMinutes",
            Granularity::M15 => "FifteenMinutes",
            Granularity::H1 => "OneHour",
            Granularity::D1 => "OneDay",
        };
        let end = now_ms();
        // Room for closed-market gaps: three times the span asked for.
        let start = end - granularity.millis() * i64::from(count.clamp(1, 2000)) * 3;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("markets/candles/{sid}"),
                &[
                    ("startTime", format_iso_ms(start)),
                    ("endTime", format_iso_ms(end)),
                    ("interval", interval.to_string()),
                ],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for c in v["candles"].as_array().into_iter().flatten() {
            out.push(Candle {
                start_ms: iso(&c["start"]),
                open: d(&c["open"], "candles.open")?,
                high: d(&c["high"], "candles.high")?,
                low: d(&c["low"], "candles.low")?,
                close: d(&c["close"], "candles.close")?,
                volume: od(&c["volume"]),
            });
        }
        let skip = out.len().saturating_sub(count as usize);
        Ok(out.split_off(skip))
    }

    // https://www.questrade.com/api/documentation/rest-operations/order-calls/accounts-id-orders
    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        if !req.qty.fract().is_zero() {
            return Err(BrokersError::invalid(
                "qty",
                "Questrade takes whole share quantities",
            ));
        }
        let order_type = match req.order_type {
            OrderType::Market => "Market",
            OrderType::Limit => "Limit",
            OrderType::Stop => "Stop",
            OrderType::StopLimit => "StopLimit",
            OrderType::TrailingStop => {
                return Err(BrokersError::invalid(
                    "order_type",
                    "trailing stops are not offered for Questrade here; use stop or stop_limit",
                ));
            }
        };
        let tif = match req.time_in_force {
            TimeInForce::Day => "Day",
            TimeInForce::Gtc => "GoodTillCanceled",
            TimeInForce::Ioc => "ImmediateOrCancel",
            TimeInForce::Fok => "FillOrKill",
        };
        // Questrade's order actions are Buy and Sell; a sell without a long
        // position is a short sale, a buy against a short covers it.
        let action = if req.side.is_buy() { "Buy" } else { "Sell" };
        let id = self.account_id().await?;
        let (sid, _) = self.symbol_id(&req.symbol).await?;
        let qty: i64 = req
            .qty
            .trunc()
            .to_string()
            .parse()
            .map_err(|_| BrokersError::invalid("qty", "too large"))?;
        let mut body = json!({
            "accountNumber": id,
            "symbolId": sid,
            "quantity": qty,
            "isAllOrNone": false,
            "isAnonymous": false,
            "orderType": order_type,
            "timeInForce": tif,
            "action": action,
            "primaryRoute": "AUTO",
            "secondaryRoute": "AUTO",
        });
        // Prices travel as JSON numbers, as the API documents them.
        if let Some(p) = req.limit_price {
            body["limitPrice"] = serde_json::from_str(&p.normalize().to_string())
                .map_err(|_| BrokersError::invalid("limit_price", "not a number"))?;
        }
        if let Some(p) = req.stop_price {
            body["stopPrice"] = serde_json::from_str(&p.normalize().to_string())
                .map_err(|_| BrokersError::invalid("stop_price", "not a number"))?;
        }
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("accounts/{id}/orders"),
                &[],
                Some(&body),
            )
            .await?;
        let order_id = s(&v["orderId"]);
        let found = v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| s(&o["id"]) == order_id)
            .or_else(|| v["orders"].get(0))
            .ok_or_else(|| BrokersError::upstream(VENUE, None, "order answer lists no order"))?;
        let mut order = self.order_from(&id, found);
        order.client_order_id = req.client_order_id.trim().to_string();
        order.side = req.side;
        Ok(order)
    }

    // https://www.questrade.com/api/documentation/rest-operations/order-calls/accounts-id-orders-orderid
    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        if order_id.is_empty() || !order_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(BrokersError::invalid(
                "order_id",
                "Questrade order ids are numbers",
            ));
        }
        let id = self.account_id().await?;
        self.call(
            reqwest::Method::DELETE,
            &format!("accounts/{id}/orders/{order_id}"),
            &[],
            None,
        )
        .await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/orders/{order_id}"),
                &[],
                None,
            )
            .await?;
        let o = v["orders"]
            .get(0)
            .ok_or_else(|| BrokersError::NotFound(format!("Questrade has no order {order_id}")))?;
        Ok(self.order_from(&id, o))
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-orders
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let id = self.account_id().await?;
        let now = now_ms();
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/orders"),
                &[
                    (
                        "stateFilter",
                        if open_only { "Open" } else { "All" }.to_string(),
                    ),
                    ("startTime", format_iso_ms(now - 30 * crate::dates::DAY_MS)),
                    ("endTime", format_iso_ms(now)),
                ],
                None,
            )
            .await?;
        let mut out: Vec<Order> = v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| self.order_from(&id, o))
            .collect();
        out.sort_by_key(|o| std::cmp::Reverse(o.created_ms));
        Ok(out)
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-executions
    async fn executions(&self) -> Result<Vec<Execution>> {
        let id = self.account_id().await?;
        let now = now_ms();
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/executions"),
                &[
                    ("startTime", format_iso_ms(now - 30 * crate::dates::DAY_MS)),
                    ("endTime", format_iso_ms(now)),
                ],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for e in v["executions"].as_array().into_iter().flatten() {
            let symbol = s(&e["symbol"]);
            let fees = [
                "commission",
                "executionFee",
                "secFee",
                "canadianExecutionFee",
            ]
            .iter()
            .filter_map(|f| od(&e[*f]))
            .sum::<Decimal>();
            out.push(Execution {
                id: s(&e["id"]),
                order_id: s(&e["orderId"]),
                account_id: id.clone(),
                currency: currency_of(&symbol),
                symbol,
                side: match e["side"].as_str().unwrap_or("") {
                    "Sell" | "STC" => Side::Sell,
                    "Short" | "STO" => Side::SellShort,
                    "Cov" | "BTC" => Side::BuyToCover,
                    _ => Side::Buy,
                },
                qty: d(&e["quantity"], "executions.quantity")?,
                price: d(&e["price"], "executions.price")?,
                commission: fees,
                at_ms: iso(&e["timestamp"]),
            });
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
        Ok(out)
    }
}
