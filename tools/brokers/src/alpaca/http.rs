//! The Alpaca REST client (Trading API v2, Market Data API v2) and its
//! [`Broker`] implementation.

use async_trait::async_trait;
use futures::StreamExt;
use nt_mcp_core::bundle::VenueMode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::VENUE;
use super::config::AlpacaConfig;
use super::stream::StreamLimits;
use super::types::{d, ms, now_ms, od, s};
use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::compliance::CheckResult;
use crate::dates::format_iso_ms;
use crate::error::{BrokersError, Result};
use crate::http::Resilient;
use crate::types::{Account, Balance, Candle, Execution, Order, OrderRequest, Position, Quote};

/// The Alpaca client.
#[derive(Debug)]
pub struct AlpacaClient {
    pub(super) cfg: AlpacaConfig,
    http: Resilient,
}

impl AlpacaClient {
    /// A client for `cfg`.
    pub fn new(cfg: AlpacaConfig) -> Result<Self> {
        if cfg.key_id.trim().is_empty() || cfg.secret_key.trim().is_empty() {
            return Err(BrokersError::Config(
                "Alpaca key id and secret key must both be set".into(),
            ));
        }
        let http = Resilient::new(VENUE, cfg.policy.clone())?;
        Ok(Self { cfg, http })
    }

    /// The settings in use.
    pub fn config(&self) -> &AlpacaConfig {
        &self.cfg
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let key = self.cfg.key_id.clone();
        let secret = self.cfg.secret_key.clone();
        let answer = self
            .http
            .send(|c| {
                let mut rb = c
                    .request(method.clone(), &url)
                    .header("APCA-API-KEY-ID", &key)
                    .header("APCA-API-SECRET-KEY", &secret)
                    .header("Accept", "application/json");
                if !query.is_empty() {
                    rb = rb.query(query);
                }
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
            return Ok((answer.status, value));
        }
        // Alpaca errors: {"code": 40010001, "message": "..."}.
        let mut message = value["message"]
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
        if let Some(code) = value.get("code").filter(|c| !c.is_null()) {
            message = format!("{message} (code {})", s(code));
        }
        Err(BrokersError::upstream(VENUE, Some(answer.status), message))
    }

    fn trading(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.base_url.trim_end_matches('/'))
    }

    fn data(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.data_url.trim_end_matches('/'))
    }

    fn feed_query(&self) -> Vec<(&'static str, String)> {
        self.cfg.feed.iter().map(|f| ("feed", f.clone())).collect()
    }
}

#[async_trait]
impl Broker for AlpacaClient {
    fn venue(&self) -> &str {
        VENUE
    }

    /// Order updates from the `trade_updates` WebSocket stream
    /// (<https://docs.alpaca.markets/docs/websocket-streaming>), with the
    /// venue's event names (`new`, `fill`, `partial_fill`, `canceled`,
    /// `replaced`, ...).
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        let stream = self.trade_update_stream(StreamLimits::default());
        Ok(Box::pin(stream.map(|item| {
            item.map(|u| OrderUpdate {
                event: u.event,
                order: u.order,
                fill_price: u.price,
                fill_qty: u.qty,
                at_ms: u.at_ms,
            })
        })))
    }

    /// Quotes from the market-data WebSocket stream
    /// (<https://docs.alpaca.markets/docs/streaming-market-data>).
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        self.quote_stream_with(symbols, crate::ws::WsLimits::default())
            .await
    }

    fn mode(&self) -> VenueMode {
        if self.cfg.is_paper() {
            VenueMode::Paper
        } else {
            VenueMode::Live
        }
    }

    // https://docs.alpaca.markets/reference/getaccount-1
    async fn account(&self) -> Result<Account> {
        let (_, a) = self
            .call(reqwest::Method::GET, self.trading("/v2/account"), &[], None)
            .await?;
        let currency = a["currency"].as_str().unwrap_or("USD").to_string();
        Ok(Account {
            id: s(&a["account_number"]),
            venue: VENUE.into(),
            currency: currency.clone(),
            balances: vec![Balance {
                currency,
                cash: d(&a["cash"], "cash")?,
                equity: od(&a["equity"]),
                buying_power: od(&a["buying_power"]),
            }],
        })
    }

    // https://docs.alpaca.markets/reference/getallopenpositions
    async fn positions(&self) -> Result<Vec<Position>> {
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.trading("/v2/positions"),
                &[],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for p in v.as_array().into_iter().flatten() {
            let mut qty = d(&p["qty"], "position.qty")?;
            if p["side"].as_str() == Some("short") && qty > Decimal::ZERO {
                qty = -qty;
            }
            out.push(Position {
                symbol: s(&p["symbol"]),
                currency: "USD".into(),
                qty,
                avg_price: d(&p["avg_entry_price"], "position.avg_entry_price")?,
                market_price: od(&p["current_price"]),
                unrealized_pnl: od(&p["unrealized_pl"]),
            });
        }
        Ok(out)
    }

    // https://docs.alpaca.markets/reference/stocklatestquotesingle
    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() || symbol.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid("symbol", "must be a stock symbol"));
        }
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.data(&format!("/v2/stocks/{symbol}/quotes/latest")),
                &self.feed_query(),
                None,
            )
            .await?;
        let q = &v["quote"];
        if !q.is_object() {
            return Err(BrokersError::NotFound(format!(
                "Alpaca has no quote for {symbol}"
            )));
        }
        let bid = d(&q["bp"], "quote.bp")?;
        let ask = d(&q["ap"], "quote.ap")?;
        Ok(Quote {
            symbol,
            currency: "USD".into(),
            bid,
            ask,
            last: ((bid + ask) / Decimal::TWO).round_dp(6),
            at_ms: ms(&q["t"]),
        })
    }

    // https://docs.alpaca.markets/reference/stockbarsingle-1
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() || symbol.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid("symbol", "must be a stock symbol"));
        }
        let count = count.clamp(1, 10_000);
        let timeframe = match granularity {
            Granularity::M1 => "1Min",
            Granularity::M5 => "5Min",
            Granularity::M15 => "15Min",
            Granularity::H1 => "1Hour",
            Granularity::D1 => "1Day",
        };
        // Bars exist only in trading hours: look back far enough (weekends,
        // holidays, nights) and take the newest `count`.
        let span = granularity.millis() * i64::from(count);
        let lookback = match granularity {
            Granularity::D1 => span * 2 + 10 * 86_400_000,
            _ => span * 5 + 4 * 86_400_000,
        };
        let mut query = vec![
            ("timeframe", timeframe.to_string()),
            ("start", format_iso_ms(now_ms() - lookback)),
            ("limit", count.to_string()),
            ("sort", "desc".to_string()),
        ];
        query.extend(self.feed_query());
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.data(&format!("/v2/stocks/{symbol}/bars")),
                &query,
                None,
            )
            .await?;
        let mut out = Vec::new();
        for b in v["bars"].as_array().into_iter().flatten() {
            out.push(Candle {
                start_ms: ms(&b["t"]),
                open: d(&b["o"], "bar.o")?,
                high: d(&b["h"], "bar.h")?,
                low: d(&b["l"], "bar.l")?,
                close: d(&b["c"], "bar.c")?,
                volume: od(&b["v"]),
            });
        }
        out.sort_by_key(|c| c.start_ms);
        Ok(out)
    }

    // https://docs.alpaca.markets/reference/postorder
    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        let cid = req.client_order_id.trim();
        let mut body = json!({
            "symbol": req.symbol.trim().to_ascii_uppercase(),
            "qty": req.qty.normalize().to_string(),
            // Alpaca has only buy and sell; a sell with no long position is a short.
            "side": if req.side.is_buy() { "buy" } else { "sell" },
            "type": req.order_type.as_str(),
            "time_in_force": req.time_in_force.as_str(),
            "client_order_id": cid,
        });
        if let Some(p) = req.limit_price {
            body["limit_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = req.stop_price {
            body["stop_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = req.trail_amount {
            body["trail_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = req.trail_percent {
            body["trail_percent"] = json!(p.normalize().to_string());
        }
        match self
            .call(
                reqwest::Method::POST,
                self.trading("/v2/orders"),
                &[],
                Some(body),
            )
            .await
        {
            Ok((_, o)) => Self::order_from(&o),
            // A retried POST whose first attempt got through: Alpaca refuses
            // the repeated client_order_id; answer with the order it placed.
            Err(BrokersError::Upstream {
                status: Some(422),
                message,
                ..
            }) if message.contains("client_order_id") => match self.find_by_client_id(cid).await? {
                Some(order) => Ok(order),
                None => Err(BrokersError::upstream(VENUE, Some(422), message)),
            },
            Err(e) => Err(e),
        }
    }

    /// `PATCH /v2/orders/{order_id}` with only the changed fields (`qty`,
    /// `limit_price`, `stop_price`, as strings); Alpaca answers with the
    /// new order that replaces the old one (new id, `replaces` = old id).
    /// Verified against the Trading API's "Replace Order by ID" page,
    /// <https://docs.alpaca.markets/us/v1.1/reference/patchorderbyorderid-1>
    /// (body fields `qty`, `time_in_force`, `limit_price`, `stop_price`,
    /// `trail`, `client_order_id`; each overrides the existing order's,
    /// the rest stay), and the Broker API's
    /// <https://docs.alpaca.markets/us/reference/replaceorderforaccount>.
    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        change.validate()?;
        let id = order_id.trim();
        if id.is_empty() || id.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid(
                "order_id",
                "must be an Alpaca order id",
            ));
        }
        let venue_id = match self.find_by_client_id(id).await {
            Ok(Some(o)) => o.id,
            _ => id.to_string(),
        };
        let mut body = json!({});
        if let Some(q) = change.qty {
            body["qty"] = json!(q.normalize().to_string());
        }
        if let Some(p) = change.limit_price {
            body["limit_price"] = json!(p.normalize().to_string());
        }
        if let Some(p) = change.stop_price {
            body["stop_price"] = json!(p.normalize().to_string());
        }
        let (_, o) = self
            .call(
                reqwest::Method::PATCH,
                self.trading(&format!("/v2/orders/{venue_id}")),
                &[],
                Some(body),
            )
            .await?;
        Self::order_from(&o)
    }

    // https://docs.alpaca.markets/reference/deleteorderbyorderid
    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        let id = order_id.trim();
        if id.is_empty() || id.contains(['/', '?', '#']) {
            return Err(BrokersError::invalid(
                "order_id",
                "must be an Alpaca order id",
            ));
        }
        // Our client id is accepted too: look the venue id up first.
        let venue_id = match self.find_by_client_id(id).await {
            Ok(Some(o)) => o.id,
            _ => id.to_string(),
        };
        self.call(
            reqwest::Method::DELETE,
            self.trading(&format!("/v2/orders/{venue_id}")),
            &[],
            None,
        )
        .await?;
        // https://docs.alpaca.markets/reference/getorderbyorderid
        let (_, o) = self
            .call(
                reqwest::Method::GET,
                self.trading(&format!("/v2/orders/{venue_id}")),
                &[],
                None,
            )
            .await?;
        Self::order_from(&o)
    }

    // https://docs.alpaca.markets/reference/getallorders
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let status = if open_only { "open" } else { "all" };
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                self.trading("/v2/orders"),
                &[
                    ("status", status.to_string()),
                    ("limit", "500".to_string()),
                    ("direction", "desc".to_string()),
                ],
                None,
            )
            .await?;
        v.as_array()
            .into_iter()
            .flatten()
            .map(Self::order_from)
            .collect()
    }

    // Fills of the most recent orders (Alpaca reports them per order:
    // filled_qty at filled_avg_price).
    // https://docs.alpaca.markets/reference/getallorders
    async fn executions(&self) -> Result<Vec<Execution>> {
        let orders = self.orders(false).await?;
        Ok(orders
            .into_iter()
            .filter(|o| o.filled_qty > Decimal::ZERO)
            .filter_map(|o| {
                let price = o.avg_fill_price?;
                Some(Execution {
                    id: format!("{}-fill", o.id),
                    order_id: o.id,
                    account_id: o.account_id,
                    symbol: o.symbol,
                    currency: o.currency,
                    side: o.side,
                    qty: o.filled_qty,
                    price,
                    commission: o.commission,
                    at_ms: o.updated_ms,
                })
            })
            .collect())
    }

    // https://docs.alpaca.markets/reference/getorderbyclientorderid
    async fn find_by_client_id(&self, client_order_id: &str) -> Result<Option<Order>> {
        match self
            .call(
                reqwest::Method::GET,
                self.trading("/v2/orders:by_client_order_id"),
                &[("client_order_id", client_order_id.trim().to_string())],
                None,
            )
            .await
        {
            Ok((_, o)) => Self::order_from(&o).map(Some),
            Err(BrokersError::Upstream {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
