//! The Tradier REST client and its [`Broker`] implementation.

use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::bundle::VenueMode;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::Mutex;

use super::VENUE;
use super::config::TradierConfig;
use super::types::{d, list, now_ms, od, s, valid_tag};
use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::dates::{format_date, parse_date};
use crate::error::{BrokersError, Result};
use crate::http::Resilient;
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderType, Position, Quote,
    TimeInForce,
};

/// The Tradier client.
#[derive(Debug)]
pub struct TradierClient {
    pub(super) cfg: TradierConfig,
    pub(super) http: Arc<Resilient>,
    pub(super) account: Mutex<Option<String>>,
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
pub(super) async fn call_with(
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

pub(super) fn path_safe(text: &str, field: &str) -> Result<String> {
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
