//! [`BrokersBundle`]: the brokers tools over MCP.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use nt_mcp_core::bundle::{
    BundleSettings, NoArgs, ToolCtx, ToolOutput, ToolSpec, VenueMode, VenueStatus, parse_args,
};
use nt_mcp_core::{Migration, ToolBundle, ToolError};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::audit;
use crate::broker::{Broker, Granularity, OrderChange};
use crate::compliance::{self, ComplianceRules};
use crate::desk;
use crate::error::{BrokersError, Result};
use crate::paper::{PAPER, PaperBroker, PaperConfig};
use crate::pdf;
use crate::tax::{self, RateTable, TaxSide, TaxTrade};
use crate::types::{OrderRequest, OrderType, Side, TimeInForce};

/// The brokers bundle: the paper broker always, plus each real broker whose
/// credentials are configured.
pub struct BrokersBundle {
    paper_cfg: PaperConfig,
    real: Vec<Arc<dyn Broker>>,
    paper: OnceCell<Arc<PaperBroker>>,
}

fn table_decimal(table: &BTreeMap<String, toml::Value>, key: &str) -> Result<Option<Decimal>> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::Integer(i)) => Ok(Some(Decimal::from(*i))),
        Some(toml::Value::String(s)) => s.parse().map(Some).map_err(|_| {
            BrokersError::Config(format!(
                "bundle_config.brokers.{key}: `{s}` is not a decimal"
            ))
        }),
        Some(toml::Value::Float(f)) => Decimal::try_from(*f).map(Some).map_err(|_| {
            BrokersError::Config(format!("bundle_config.brokers.{key}: not a decimal"))
        }),
        Some(_) => Err(BrokersError::Config(format!(
            "bundle_config.brokers.{key} must be a number or decimal string"
        ))),
    }
}

/// A setting from the manifest table, else the environment.
pub fn setting(settings: &BundleSettings, key: &str, env: &str) -> Option<String> {
    match settings.table.get(key) {
        Some(toml::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => std::env::var(env).ok().filter(|v| !v.trim().is_empty()),
    }
}

/// One order in a line: `P-1 (my-id) buy 10 SHOP.TO limit 100 gtc: open`,
/// with the fill and the reason when there are.
fn order_line(o: &crate::types::Order) -> String {
    let mut out = format!(
        "{} ({}) {} {} {} {}",
        o.id,
        o.client_order_id,
        o.side.as_str(),
        o.qty,
        o.symbol,
        o.order_type.as_str()
    );
    if let Some(p) = o.limit_price {
        out.push_str(&format!(" limit {p}"));
    }
    if let Some(p) = o.stop_price {
        out.push_str(&format!(" stop {p}"));
    }
    out.push_str(&format!(
        " {}: {}",
        o.time_in_force.as_str(),
        o.status.as_str()
    ));
    if let Some(p) = o.avg_fill_price
        && !o.filled_qty.is_zero()
    {
        out.push_str(&format!(" {} at {p} {}", o.filled_qty, o.currency));
    }
    if let Some(r) = &o.reason {
        out.push_str(&format!(" ({r})"));
    }
    out
}

/// `head`, then one line per item, at most 20 (and how many more).
fn list_text(head: String, lines: impl IntoIterator<Item = String>) -> String {
    let lines: Vec<String> = lines.into_iter().collect();
    let mut out = head;
    for l in lines.iter().take(20) {
        out.push_str("\n- ");
        out.push_str(l);
    }
    if lines.len() > 20 {
        out.push_str(&format!("\n... and {} more", lines.len() - 20));
    }
    out
}

/// Bars as text: the count and range, then the last bars (at most 10),
/// oldest first, one a line.
fn candles_text(symbol: &str, candles: &[crate::types::Candle]) -> String {
    let (Some(first), Some(last)) = (candles.first(), candles.last()) else {
        return format!("no bars of {symbol}");
    };
    let mut out = format!(
        "{} bars of {symbol}, {} to {}; high {} low {}",
        candles.len(),
        crate::dates::format_iso_ms(first.start_ms),
        crate::dates::format_iso_ms(last.start_ms),
        candles.iter().map(|c| c.high).max().unwrap_or_default(),
        candles.iter().map(|c| c.low).min().unwrap_or_default(),
    );
    for c in &candles[candles.len().saturating_sub(10)..] {
        out.push_str(&format!(
            "\n{} O {} H {} L {} C {}{}",
            crate::dates::format_iso_ms(c.start_ms),
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume.map(|v| format!(" V {v}")).unwrap_or_default()
        ));
    }
    out
}

/// A keep-alive period from the manifest table, else the environment, in
/// whole seconds: `default` when unset, `None` for `0` (off), an error
/// naming both keys when it is not a number from 0 to `max_secs`.
pub fn period_setting(
    settings: &BundleSettings,
    key: &str,
    env: &str,
    default: std::time::Duration,
    max_secs: u64,
) -> Result<Option<std::time::Duration>> {
    let Some(v) = setting(settings, key, env) else {
        return Ok(Some(default));
    };
    match v.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(secs) if secs <= max_secs => Ok(Some(std::time::Duration::from_secs(secs))),
        _ => Err(BrokersError::Config(format!(
            "{key} / {env}: `{v}` must be 0 (off) to {max_secs} seconds"
        ))),
    }
}

impl BrokersBundle {
    /// Builds the bundle from its manifest section and the environment:
    /// `[bundle_config.brokers]` may set `paper_account_id`, `paper_seed`,
    /// `slippage_bps`, `commission_per_share`, `min_commission`,
    /// `starting_cash_cad`, `starting_cash_usd` and each real broker's base
    /// URLs; credentials come from the environment (`OANDA_API_TOKEN` +
    /// `OANDA_ACCOUNT_ID`, `QUESTRADE_REFRESH_TOKEN`, `ALPACA_API_KEY_ID` +
    /// `ALPACA_API_SECRET_KEY`, `TRADIER_ACCESS_TOKEN`). With none set, only the
    /// paper broker runs.
    pub fn new(settings: &BundleSettings) -> Result<Self> {
        let t = &settings.table;
        let mut cfg = PaperConfig::default();
        if let Some(toml::Value::String(id)) = t.get("paper_account_id") {
            cfg.account_id = id.clone();
        }
        if let Some(toml::Value::Integer(seed)) = t.get("paper_seed") {
            cfg.market.seed = *seed as u64;
        }
        if let Some(v) = table_decimal(t, "slippage_bps")? {
            cfg.slippage_bps = v;
        }
        if let Some(v) = table_decimal(t, "commission_per_share")? {
            cfg.commission_per_share = v;
        }
        if let Some(v) = table_decimal(t, "min_commission")? {
            cfg.min_commission = v;
        }
        if let Some(v) = table_decimal(t, "starting_cash_cad")? {
            cfg.starting_cash.insert("CAD".into(), v);
        }
        if let Some(v) = table_decimal(t, "starting_cash_usd")? {
            cfg.starting_cash.insert("USD".into(), v);
        }
        let mut real: Vec<Arc<dyn Broker>> = Vec::new();
        if let Some(oanda) = crate::oanda::OandaClient::from_settings(settings)? {
            real.push(Arc::new(oanda));
        }
        if let Some(questrade) = crate::questrade::QuestradeClient::from_settings(settings)? {
            real.push(Arc::new(questrade));
        }
        if let Some(alpaca) = crate::alpaca::AlpacaClient::from_settings(settings)? {
            real.push(Arc::new(alpaca));
        }
        if let Some(tradier) = crate::tradier::TradierClient::from_settings(settings)? {
            real.push(Arc::new(tradier));
        }
        if let Some(ibkr) = crate::ibkr::IbkrClient::from_settings(settings)? {
            real.push(Arc::new(ibkr));
        }
        Ok(Self {
            paper_cfg: cfg,
            real,
            paper: OnceCell::new(),
        })
    }

    /// A bundle with only the paper broker, configured by `cfg`.
    pub fn paper_only(cfg: PaperConfig) -> Self {
        Self {
            paper_cfg: cfg,
            real: Vec::new(),
            paper: OnceCell::new(),
        }
    }

    /// Adds a broker (a real client, or a test double).
    pub fn with_broker(mut self, broker: Arc<dyn Broker>) -> Self {
        self.real.push(broker);
        self
    }

    async fn paper(&self, ctx: &ToolCtx) -> Arc<PaperBroker> {
        self.paper
            .get_or_init(|| async {
                Arc::new(PaperBroker::new(
                    ctx.store.clone(),
                    ctx.clock.clone(),
                    self.paper_cfg.clone(),
                ))
            })
            .await
            .clone()
    }

    async fn pick(
        &self,
        ctx: &ToolCtx,
        name: Option<&str>,
    ) -> std::result::Result<Arc<dyn Broker>, ToolError> {
        let name = name
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty());
        match name.as_deref() {
            None | Some(PAPER) => Ok(self.paper(ctx).await as Arc<dyn Broker>),
            Some(n) => self
                .real
                .iter()
                .find(|b| b.venue() == n)
                .inspect(|b| b.attach_store(&ctx.store))
                .cloned()
                .ok_or_else(|| {
                    let mut known = vec![PAPER.to_string()];
                    known.extend(self.real.iter().map(|b| b.venue().to_string()));
                    ToolError::invalid(
                        "broker",
                        format!(
                            "no broker `{n}` is configured; configured: {}",
                            known.join(", ")
                        ),
                    )
                }),
        }
    }
}

fn mode_str(mode: VenueMode) -> &'static str {
    match mode {
        VenueMode::Live => "live",
        VenueMode::Paper => "paper",
        VenueMode::Simulated => "simulated",
    }
}

fn out(broker: &dyn Broker, text: impl AsRef<str>, mut body: Value) -> ToolOutput {
    if let Value::Object(map) = &mut body {
        map.insert("venue".into(), json!(broker.venue()));
        map.insert("mode".into(), json!(mode_str(broker.mode())));
    }
    ToolOutput::new(
        format!(
            "venue: {} ({}) — {}",
            broker.venue(),
            mode_str(broker.mode()),
            text.as_ref()
        ),
        body,
    )
}

/// Which broker to use; the paper broker when omitted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BrokerArg {
    /// Broker name from broker_list (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct QuoteArgs {
    /// Symbol (`SHOP.TO`, `AAPL`, `EUR_USD`).
    symbol: String,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CandleArgs {
    /// Symbol.
    symbol: String,
    /// Bar size: 1m, 5m, 15m, 1h, 1d (default 1d).
    #[serde(default)]
    granularity: Granularity,
    /// Number of bars, 1 to 1000 (default 50).
    #[serde(default)]
    count: Option<u32>,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrderArgs {
    /// Your id for this order; the same id twice places one order.
    client_order_id: String,
    /// Symbol.
    symbol: String,
    /// buy, sell, sell_short or buy_to_cover.
    side: Side,
    /// Quantity, positive.
    qty: Decimal,
    /// market (default), limit, stop, stop_limit or trailing_stop.
    #[serde(default)]
    order_type: Option<OrderType>,
    /// Limit price (limit, stop_limit).
    #[serde(default)]
    limit_price: Option<Decimal>,
    /// Stop price (stop, stop_limit).
    #[serde(default)]
    stop_price: Option<Decimal>,
    /// Trailing distance in price (trailing_stop).
    #[serde(default)]
    trail_amount: Option<Decimal>,
    /// Trailing distance in percent (trailing_stop).
    #[serde(default)]
    trail_percent: Option<Decimal>,
    /// day (default), gtc, ioc or fok. A paper DAY order ends at its
    /// market's close: 16:00 New York for US and Canadian equities (13:00
    /// on early-close days), 17:00 New York for currency pairs.
    #[serde(default)]
    time_in_force: TimeInForce,
    /// For a sell larger than the position available (held long at the
    /// broker, less working sell orders) when short sales are not allowed:
    /// sell only what is available instead of being refused (default false).
    #[serde(default)]
    reduce_to_position: bool,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

impl OrderArgs {
    fn request(&self) -> OrderRequest {
        OrderRequest {
            client_order_id: self.client_order_id.clone(),
            symbol: self.symbol.clone(),
            side: self.side,
            qty: self.qty,
            order_type: self.order_type.unwrap_or(OrderType::Market),
            limit_price: self.limit_price,
            stop_price: self.stop_price,
            trail_amount: self.trail_amount,
            trail_percent: self.trail_percent,
            time_in_force: self.time_in_force,
            reduce_to_position: self.reduce_to_position,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CancelArgs {
    /// The venue's order id or your client order id.
    order_id: String,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReplaceArgs {
    /// The venue's order id or your client order id.
    order_id: String,
    /// New quantity.
    #[serde(default)]
    qty: Option<Decimal>,
    /// New limit price.
    #[serde(default)]
    limit_price: Option<Decimal>,
    /// New stop price.
    #[serde(default)]
    stop_price: Option<Decimal>,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// What `broker_watch` listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum WatchKind {
    /// Order updates of the account.
    Orders,
    /// Quotes for `symbols`.
    Quotes,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WatchArgs {
    /// `orders` (order updates) or `quotes` (needs `symbols`).
    kind: WatchKind,
    /// Symbols: the quotes to stream, or for orders only updates of these.
    #[serde(default)]
    symbols: Option<Vec<String>>,
    /// Listen at most this many seconds, 1 to 60 (default 10).
    #[serde(default)]
    seconds: Option<u64>,
    /// Stop after this many events, 1 to 1000 (default 100).
    #[serde(default)]
    max_events: Option<usize>,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrdersArgs {
    /// Only working orders (default false).
    #[serde(default)]
    open_only: bool,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RulesArgs {
    /// Broker whose account rules to read or set (default `paper`).
    #[serde(default)]
    broker: Option<String>,
    /// New rules to store; omit to read the current ones.
    #[serde(default)]
    set: Option<ComplianceRules>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExportArgs {
    /// First sequence number (default 1).
    #[serde(default)]
    from_seq: Option<i64>,
    /// Most rows, 1 to 5000 (default 500).
    #[serde(default)]
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetPriceArgs {
    /// Symbol.
    symbol: String,
    /// Price to pin the paper market at; omit to release it to the simulation.
    #[serde(default)]
    price: Option<Decimal>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AcbArgs {
    /// Trades to use; when omitted, the paper broker's audited fills.
    #[serde(default)]
    trades: Option<Vec<TaxTrade>>,
    /// Only this security.
    #[serde(default)]
    symbol: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct T5008Args {
    /// Tax year.
    year: i64,
    /// Trades to use; when omitted, the paper broker's audited fills.
    #[serde(default)]
    trades: Option<Vec<TaxTrade>>,
    /// Also return the report as a PDF (base64).
    #[serde(default)]
    pdf: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RateRow {
    /// Day, YYYY-MM-DD.
    date: String,
    /// ISO currency (`USD`).
    currency: String,
    /// CAD per one unit of the currency (Bank of Canada daily rate).
    rate: Decimal,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RatesArgs {
    /// Daily rates to store (replacing any for the same day).
    rates: Vec<RateRow>,
}

impl BrokersBundle {
    async fn fills_as_trades(&self, ctx: &ToolCtx) -> Result<(Vec<TaxTrade>, usize)> {
        let paper = self.paper(ctx).await;
        let mut fills = paper.executions().await?;
        fills.reverse();
        let mut skipped = 0;
        let mut trades = Vec::new();
        for f in fills {
            let side = match f.side {
                Side::Buy => TaxSide::Buy,
                Side::Sell => TaxSide::Sell,
                _ => {
                    skipped += 1;
                    continue;
                }
            };
            trades.push(TaxTrade {
                // The fill's instant: the tax engine takes it to the
                // exchange's local trade day (not the UTC day).
                date: crate::dates::format_iso_ms(f.at_ms),
                symbol: f.symbol,
                side,
                qty: f.qty,
                price: f.price,
                commission: f.commission,
                currency: f.currency,
                fx_rate: None,
                asset_class: None,
                market: None,
                settlement_date: None,
            });
        }
        Ok((trades, skipped))
    }

    async fn watch(
        &self,
        a: WatchArgs,
        ctx: &ToolCtx,
    ) -> std::result::Result<ToolOutput, ToolError> {
        let seconds = a.seconds.unwrap_or(10);
        if !(1..=60).contains(&seconds) {
            return Err(ToolError::invalid("seconds", "must be 1 to 60"));
        }
        let max_events = a.max_events.unwrap_or(100);
        if !(1..=1000).contains(&max_events) {
            return Err(ToolError::invalid("max_events", "must be 1 to 1000"));
        }
        let symbols: Vec<String> = a
            .symbols
            .unwrap_or_default()
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if symbols.len() > 50 {
            return Err(ToolError::invalid("symbols", "give at most 50 symbols"));
        }
        if a.kind == WatchKind::Quotes && symbols.is_empty() {
            return Err(ToolError::invalid(
                "symbols",
                "give the symbols to stream quotes for",
            ));
        }
        let b = self.pick(ctx, a.broker.as_deref()).await?;
        ctx.check_cancelled()?;
        let mut stream: futures::stream::BoxStream<'static, Result<Value>> = match a.kind {
            WatchKind::Orders => {
                let wanted: Vec<String> = symbols.iter().map(|s| s.to_ascii_uppercase()).collect();
                let s = b.order_updates().await?;
                Box::pin(s.filter_map(move |item| {
                    let keep = match &item {
                        Ok(u) => {
                            wanted.is_empty()
                                || wanted.contains(&u.order.symbol.to_ascii_uppercase())
                        }
                        Err(_) => true,
                    };
                    let item = item.and_then(|u| {
                        serde_json::to_value(u).map_err(|e| BrokersError::Corrupt(e.to_string()))
                    });
                    async move { keep.then_some(item) }
                }))
            }
            WatchKind::Quotes => {
                let s = b.quote_stream(&symbols).await?;
                Box::pin(s.map(|item| {
                    item.and_then(|q| {
                        serde_json::to_value(q).map_err(|e| BrokersError::Corrupt(e.to_string()))
                    })
                }))
            }
        };
        let kind = match a.kind {
            WatchKind::Orders => "orders",
            WatchKind::Quotes => "quotes",
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        let mut events: Vec<Value> = Vec::new();
        let mut error: Option<String> = None;
        let stopped = loop {
            if events.len() >= max_events {
                break "max_events";
            }
            let next = tokio::select! {
                biased;
                () = ctx.cancel.cancelled() => {
                    return Err(ToolError::cancelled());
                }
                () = tokio::time::sleep_until(deadline) => break "time",
                next = stream.next() => next,
            };
            match next {
                Some(Ok(ev)) => {
                    events.push(ev);
                    ctx.progress
                        .report(
                            events.len() as f64,
                            Some(max_events as f64),
                            format!("{} {kind} event(s) from {}", events.len(), b.venue()),
                        )
                        .await;
                }
                Some(Err(e)) => {
                    if events.is_empty() {
                        return Err(e.into());
                    }
                    error = Some(e.to_string());
                    break "error";
                }
                None => break "stream_ended",
            }
        };
        drop(stream);
        let why = match stopped {
            "max_events" => "reached max_events".to_string(),
            "time" => format!("{seconds} s passed"),
            "stream_ended" => "the venue closed the stream".to_string(),
            _ => format!("the stream failed: {}", error.clone().unwrap_or_default()),
        };
        let mut lines: Vec<String> = events
            .iter()
            .rev()
            .take(10)
            .rev()
            .map(|e| match a.kind {
                WatchKind::Orders => format!(
                    "{} {} {} {} {}: {}",
                    e["event"].as_str().unwrap_or(""),
                    e["order"]["id"].as_str().unwrap_or(""),
                    e["order"]["side"].as_str().unwrap_or(""),
                    e["order"]["qty"].as_str().unwrap_or(""),
                    e["order"]["symbol"].as_str().unwrap_or(""),
                    e["order"]["status"].as_str().unwrap_or("")
                ),
                WatchKind::Quotes => format!(
                    "{} bid {} ask {}",
                    e["symbol"].as_str().unwrap_or(""),
                    e["bid"].as_str().unwrap_or(""),
                    e["ask"].as_str().unwrap_or("")
                ),
            })
            .collect();
        if events.len() > 10 {
            lines.insert(0, format!("(last 10 of {})", events.len()));
        }
        let text = format!(
            "{} {kind} event(s); stopped: {why}{}{}",
            events.len(),
            if lines.is_empty() { "" } else { "\n" },
            lines.join("\n")
        );
        Ok(out(
            b.as_ref(),
            text,
            json!({"kind": kind, "events": events, "count": events.len(), "stopped": stopped, "error": error}),
        ))
    }

    async fn run(
        &self,
        tool: &str,
        args: Value,
        ctx: &ToolCtx,
    ) -> std::result::Result<ToolOutput, ToolError> {
        let now = ctx.clock.now_ms();
        match tool {
            "broker_list" => {
                parse_args::<NoArgs>(args)?;
                let mut list = vec![json!({"name": PAPER, "mode": "paper", "default": true})];
                for b in &self.real {
                    list.push(
                        json!({"name": b.venue(), "mode": mode_str(b.mode()), "default": false}),
                    );
                }
                let names: Vec<String> = list
                    .iter()
                    .map(|b| {
                        format!(
                            "{} ({})",
                            b["name"].as_str().unwrap_or(""),
                            b["mode"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                Ok(ToolOutput::new(
                    format!(
                        "venue: paper by default; configured brokers: {}",
                        names.join(", ")
                    ),
                    json!({"venue": PAPER, "brokers": list}),
                ))
            }
            "broker_account" => {
                let a: BrokerArg = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let account = b.account().await?;
                let cash: Vec<String> = account
                    .balances
                    .iter()
                    .map(|x| format!("{} {}", x.cash, x.currency))
                    .collect();
                Ok(out(
                    b.as_ref(),
                    format!("account {}: cash {}", account.id, cash.join(", ")),
                    json!({"account": account}),
                ))
            }
            "broker_positions" => {
                let a: BrokerArg = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let positions = b.positions().await?;
                Ok(out(
                    b.as_ref(),
                    list_text(
                        format!("{} open positions", positions.len()),
                        positions.iter().map(|p| {
                            format!(
                                "{} {} @ {} avg {}{}",
                                p.symbol,
                                p.qty,
                                p.avg_price,
                                p.currency,
                                p.unrealized_pnl
                                    .map(|u| format!(", unrealized {u}"))
                                    .unwrap_or_default()
                            )
                        }),
                    ),
                    json!({"positions": positions}),
                ))
            }
            "broker_quote" => {
                let a: QuoteArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let q = b.quote(&a.symbol).await?;
                Ok(out(
                    b.as_ref(),
                    format!(
                        "{} bid {} ask {} last {} {}",
                        q.symbol, q.bid, q.ask, q.last, q.currency
                    ),
                    json!({"quote": q}),
                ))
            }
            "broker_candles" => {
                let a: CandleArgs = parse_args(args)?;
                let count = a.count.unwrap_or(50);
                if !(1..=1000).contains(&count) {
                    return Err(ToolError::invalid("count", "must be 1 to 1000"));
                }
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let candles = b.candles(&a.symbol, a.granularity, count).await?;
                Ok(out(
                    b.as_ref(),
                    candles_text(&a.symbol.to_ascii_uppercase(), &candles),
                    json!({"symbol": a.symbol.to_ascii_uppercase(), "candles": candles}),
                ))
            }
            "broker_place_order" => {
                let a: OrderArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let placed = desk::place(&ctx.store, &b, &a.request(), now).await?;
                let o = &placed.order;
                let text = format!(
                    "{}order {}{}",
                    if placed.new { "" } else { "already placed: " },
                    order_line(o),
                    placed
                        .reduced_from
                        .map(|asked| format!(
                            "; reduced from {asked} to {} to stay within the position",
                            o.qty
                        ))
                        .unwrap_or_default()
                );
                Ok(out(
                    b.as_ref(),
                    text,
                    json!({"order": o, "new": placed.new, "checks": placed.checks, "reduced_from": placed.reduced_from}),
                ))
            }
            "broker_replace_order" => {
                let a: ReplaceArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let change = OrderChange {
                    qty: a.qty,
                    limit_price: a.limit_price,
                    stop_price: a.stop_price,
                };
                let o = b.replace_order(a.order_id.trim(), &change).await?;
                desk::record_replace(&ctx.store, b.as_ref(), a.order_id.trim(), &change, &o, now)
                    .await?;
                Ok(out(
                    b.as_ref(),
                    format!("order {} replaced: {}", o.id, o.status.as_str()),
                    json!({"order": o}),
                ))
            }
            "broker_cancel_order" => {
                let a: CancelArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let o = b.cancel_order(a.order_id.trim()).await?;
                desk::record_cancel(&ctx.store, b.as_ref(), &o, now).await?;
                Ok(out(
                    b.as_ref(),
                    format!("order {} {}", o.id, o.status.as_str()),
                    json!({"order": o}),
                ))
            }
            "broker_orders" => {
                let a: OrdersArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let orders = b.orders(a.open_only).await?;
                Ok(out(
                    b.as_ref(),
                    list_text(
                        format!("{} orders, newest first", orders.len()),
                        orders.iter().map(order_line),
                    ),
                    json!({"orders": orders}),
                ))
            }
            "broker_watch" => self.watch(parse_args(args)?, ctx).await,
            "broker_executions" => {
                let a: BrokerArg = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let fills = b.executions().await?;
                Ok(out(
                    b.as_ref(),
                    list_text(
                        format!("{} executions, newest first", fills.len()),
                        fills.iter().map(|f| {
                            format!(
                                "{} {} {} {} at {} {} (order {}, commission {}) {}",
                                f.id,
                                f.side.as_str(),
                                f.qty,
                                f.symbol,
                                f.price,
                                f.currency,
                                f.order_id,
                                f.commission,
                                crate::dates::format_iso_ms(f.at_ms)
                            )
                        }),
                    ),
                    json!({"executions": fills}),
                ))
            }
            "broker_paper_set_price" => {
                let a: SetPriceArgs = parse_args(args)?;
                let paper = self.paper(ctx).await;
                let q = paper.set_mark(&a.symbol, a.price).await?;
                let b: &dyn Broker = paper.as_ref();
                Ok(out(
                    b,
                    format!(
                        "{} now bid {} ask {} ({})",
                        q.symbol,
                        q.bid,
                        q.ask,
                        if a.price.is_some() {
                            "pinned"
                        } else {
                            "simulated"
                        }
                    ),
                    json!({"quote": q}),
                ))
            }
            "compliance_check_order" => {
                let a: OrderArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                let review = desk::check(&ctx.store, b.as_ref(), &a.request(), now).await?;
                let checks = &review.checks;
                let failed: Vec<&str> = checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.rule.as_str())
                    .collect();
                let mut text = if failed.is_empty() {
                    "all checks pass".to_string()
                } else {
                    let details: Vec<String> = checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| format!("{}: {}", c.rule, c.detail))
                        .collect();
                    format!(
                        "would be refused by: {}\n- {}",
                        failed.join(", "),
                        details.join("\n- ")
                    )
                };
                if let Some(asked) = review.reduced_from {
                    text.push_str(&format!(
                        "; the sell would be reduced from {asked} to {} to stay within the position",
                        review.order.qty
                    ));
                }
                if let Some(m) = checks.iter().find(|c| c.rule == "order_marking") {
                    text.push_str(&format!("\nmarking: {}", m.detail));
                }
                Ok(out(
                    b.as_ref(),
                    text,
                    json!({"allowed": failed.is_empty(), "checks": checks, "order": review.order, "reduced_from": review.reduced_from}),
                ))
            }
            "compliance_rules" => {
                let a: RulesArgs = parse_args(args)?;
                let b = self.pick(ctx, a.broker.as_deref()).await?;
                if let Some(rules) = &a.set {
                    for (i, s) in rules.restricted_symbols.iter().enumerate() {
                        if s.trim().is_empty() {
                            return Err(ToolError::invalid(
                                format!("set.restricted_symbols[{i}]"),
                                "must not be empty",
                            ));
                        }
                    }
                    compliance::save_rules(ctx.store.pool(), b.venue(), rules, now).await?;
                }
                let rules = compliance::load_rules(ctx.store.pool(), b.venue()).await?;
                // The limit's currency: the account's base currency, when
                // the venue answers.
                let currency = b.account().await.ok().map(|a| a.currency);
                let ciro = &compliance::CIRO_COVERAGE;
                let list = |c: compliance::Coverage| -> Vec<String> {
                    ciro.iter()
                        .filter(|r| r.coverage == c)
                        .map(|r| format!("{} ({})", r.rule, r.title))
                        .collect()
                };
                Ok(out(
                    b.as_ref(),
                    format!(
                        "{} rules for account {}: {}\nCIRO rules implemented: {}\npartly (the rest is the dealer's): {}\nnot covered: {}",
                        if a.set.is_some() { "stored" } else { "current" },
                        b.venue(),
                        rules.summary_in(currency.as_deref()),
                        list(compliance::Coverage::Implemented).join("; "),
                        list(compliance::Coverage::Partial).join("; "),
                        list(compliance::Coverage::NotCovered).join("; "),
                    ),
                    json!({"account": b.venue(), "rules": rules, "max_order_value_currency": currency, "ciro": ciro}),
                ))
            }
            "audit_verify" => {
                parse_args::<NoArgs>(args)?;
                let r = audit::verify(ctx.store.pool()).await?;
                let text = if r.intact {
                    format!("audit chain intact: {} rows, head {}", r.rows, r.head_hash)
                } else {
                    format!(
                        "audit chain BROKEN at row {}: {}",
                        r.first_bad_seq.unwrap_or_default(),
                        r.problem.clone().unwrap_or_default()
                    )
                };
                Ok(ToolOutput::new(
                    format!("venue: all — {text}"),
                    json!({"report": r}),
                ))
            }
            "audit_export" => {
                let a: ExportArgs = parse_args(args)?;
                let limit = a.limit.unwrap_or(500);
                if !(1..=5000).contains(&limit) {
                    return Err(ToolError::invalid("limit", "must be 1 to 5000"));
                }
                let rows =
                    audit::export(ctx.store.pool(), a.from_seq.unwrap_or(1).max(1), limit).await?;
                match a.format.as_deref().unwrap_or("json") {
                    "json" => Ok(ToolOutput::new(
                        format!("venue: all — {} audit rows", rows.len()),
                        json!({"rows": rows}),
                    )),
                    "csv" => Ok(ToolOutput::new(
                        format!("venue: all — {} audit rows as CSV", rows.len()),
                        json!({"csv": audit::to_csv(&rows), "rows": rows.len()}),
                    )),
                    _ => Err(ToolError::invalid("format", "must be `json` or `csv`")),
                }
            }
            "tax_load_fx_rates" => {
                let a: RatesArgs = parse_args(args)?;
                if a.rates.is_empty() || a.rates.len() > 10_000 {
                    return Err(ToolError::invalid("rates", "give 1 to 10000 rates"));
                }
                let rows: Vec<(String, String, Decimal)> = a
                    .rates
                    .into_iter()
                    .map(|r| (r.date, r.currency, r.rate))
                    .collect();
                let n = tax::store_rates(ctx.store.pool(), &rows).await?;
                Ok(ToolOutput::new(
                    format!("venue: paper — stored {n} daily CAD rates"),
                    json!({"stored": n}),
                ))
            }
            "tax_acb" => {
                let a: AcbArgs = parse_args(args)?;
                let (trades, skipped, source) = match a.trades {
                    Some(t) => (t, 0, "given trades"),
                    None => {
                        let (t, s) = self.fills_as_trades(ctx).await?;
                        (t, s, "paper fills")
                    }
                };
                let trades: Vec<TaxTrade> = match &a.symbol {
                    Some(s) => trades
                        .into_iter()
                        .filter(|t| t.symbol.eq_ignore_ascii_case(s))
                        .collect(),
                    None => trades,
                };
                let rates = RateTable::load(ctx.store.pool()).await?;
                let report = tax::compute_acb(&trades, &rates)?;
                Ok(ToolOutput::new(
                    format!(
                        "venue: paper — ACB from {} {source}: {} holdings, {} dispositions",
                        trades.len(),
                        report.holdings.len(),
                        report.dispositions.len()
                    ),
                    json!({"venue": PAPER, "source": source, "skipped_short_trades": skipped, "report": report}),
                ))
            }
            "tax_report_t5008" => {
                let a: T5008Args = parse_args(args)?;
                if !(1972..=9999).contains(&a.year) {
                    return Err(ToolError::invalid("year", "must be 1972 or later"));
                }
                let (trades, skipped) = match a.trades {
                    Some(t) => (t, 0),
                    None => self.fills_as_trades(ctx).await?,
                };
                let rates = RateTable::load(ctx.store.pool()).await?;
                let report = tax::compute_acb(&trades, &rates)?;
                let s3 = tax::schedule3(&report, a.year);
                let csv = tax::t5008_csv(&report, a.year);
                let pdf = a
                    .pdf
                    .then(|| pdf::base64(&tax::report_pdf(&report, a.year)));
                Ok(ToolOutput::new(
                    format!(
                        "venue: paper — {} dispositions in {}: net gain {} CAD, taxable {} CAD",
                        s3.dispositions, a.year, s3.net_gain, s3.taxable_capital_gain
                    ),
                    json!({"venue": PAPER, "year": a.year, "schedule3": s3, "t5008_csv": csv, "pdf_base64": pdf, "skipped_short_trades": skipped}),
                ))
            }
            other => Err(ToolError::not_found(format!(
                "no tool {other} in the brokers bundle"
            ))),
        }
    }
}

#[async_trait]
impl ToolBundle for BrokersBundle {
    fn name(&self) -> &'static str {
        "brokers"
    }

    fn resources(&self) -> Vec<nt_mcp_core::bundle::ResourceSpec> {
        crate::guide::resources()
    }

    async fn read_resource(
        &self,
        uri: &str,
        _ctx: ToolCtx,
    ) -> Result<nt_mcp_core::bundle::ResourceText, ToolError> {
        crate::guide::read(uri)
    }

    fn prompts(&self) -> Vec<nt_mcp_core::bundle::PromptSpec> {
        crate::guide::prompts()
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        crate::guide::render(name, args)
    }

    fn tools(&self) -> Vec<ToolSpec> {
        vec![
            ToolSpec::new::<NoArgs>("broker_list", "Lists the configured brokers and whether each is live or paper. The paper broker is always there and is the default."),
            ToolSpec::new::<BrokerArg>("broker_account", "Account id and cash, equity and buying power per currency at a broker."),
            ToolSpec::new::<BrokerArg>("broker_positions", "Open positions (negative quantity when short) with average price and unrealized P&L."),
            ToolSpec::new::<QuoteArgs>("broker_quote", "Current bid, ask and last for a symbol, in the instrument's currency."),
            ToolSpec::new::<CandleArgs>("broker_candles", "Recent OHLC bars for a symbol, oldest first."),
            ToolSpec::new::<OrderArgs>("broker_place_order", "Places an order (market, limit, stop, stop_limit, trailing_stop; day/gtc/ioc/fok; buy, sell, sell_short, buy_to_cover) after the account's compliance checks. A sell of more than the position held is a short sale: refused unless the account allows shorts, or reduced to the position with reduce_to_position. The same client_order_id twice places one order.").trade(),
            ToolSpec::new::<ReplaceArgs>("broker_replace_order", "Changes the quantity, limit or stop price of a working order.").trade().not_idempotent(),
            ToolSpec::new::<CancelArgs>("broker_cancel_order", "Cancels a working order by venue id or client order id.").trade(),
            ToolSpec::new::<OrdersArgs>("broker_orders", "Orders at a broker, newest first; open_only for working orders."),
            ToolSpec::new::<WatchArgs>("broker_watch", "Listens to a broker's live stream of order updates (kind `orders`) or quotes (kind `quotes`, with `symbols`) for at most `seconds` (1-60) or `max_events` (1-1000), reporting progress per event, and answers with the events. Brokers without a stream say so.").deadline(std::time::Duration::from_secs(70)),
            ToolSpec::new::<BrokerArg>("broker_executions", "Executions (fills) at a broker, newest first."),
            ToolSpec::new::<SetPriceArgs>("broker_paper_set_price", "Pins the paper market's price of a symbol (or releases it to the simulation); resting paper orders react at once.").writes(),
            ToolSpec::new::<OrderArgs>("compliance_check_order", "Runs the pre-trade checks (max order value in the account's currency, price band, short sale including sells beyond the position, restricted symbols, wash trade) on an order without placing it, with its UMIR 6.2 marking and best-execution record."),
            ToolSpec::new::<RulesArgs>("compliance_rules", "Reads, or with `set` stores, the compliance rules of a broker account, and lists which CIRO rules (UMIR / IDPC) the checks implement and which they do not cover.").writes(),
            ToolSpec::new::<NoArgs>("audit_verify", "Recomputes the hash chain of the order audit trail and reports the first edited or missing row."),
            ToolSpec::new::<ExportArgs>("audit_export", "Exports audit rows (order events, fills, check results with their hashes) as JSON or CSV."),
            ToolSpec::new::<RatesArgs>("tax_load_fx_rates", "Stores daily CAD exchange rates (CAD per unit of currency) used to convert foreign trades.").writes(),
            ToolSpec::new::<AcbArgs>("tax_acb", "Adjusted cost base by average cost per security with the superficial-loss rule, in CAD, from given trades or the paper fills."),
            ToolSpec::new::<T5008Args>("tax_report_t5008", "T5008-style CSV of a tax year's dispositions (by settlement date, with trade and settlement dates), the Schedule 3 summary (totals are sums of the rows, cents rounded half away from zero), and optionally a PDF."),
        ]
    }

    async fn call(
        &self,
        tool: &str,
        args: Value,
        ctx: ToolCtx,
    ) -> std::result::Result<ToolOutput, ToolError> {
        self.run(tool, args, &ctx).await
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let mut v = vec![VenueStatus {
            name: PAPER.into(),
            mode: VenueMode::Paper,
        }];
        v.extend(self.real.iter().map(|b| VenueStatus {
            name: b.venue().to_string(),
            mode: b.mode(),
        }));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn with(key: &str, v: &str) -> BundleSettings {
        let mut s = BundleSettings::default();
        s.table.insert(key.into(), toml::Value::String(v.into()));
        s
    }

    #[test]
    fn period_settings_default_turn_off_and_name_both_keys_when_bad() {
        let d = Duration::from_secs(600);
        // An env name nobody sets, so only the table speaks.
        let env = "NT_TEST_UNSET_PERIOD_SECS";
        let got = period_setting(&BundleSettings::default(), "k_secs", env, d, 900);
        assert_eq!(got.expect("default"), Some(d));
        let got = period_setting(&with("k_secs", "0"), "k_secs", env, d, 900);
        assert_eq!(got.expect("off"), None);
        let got = period_setting(&with("k_secs", " 45 "), "k_secs", env, d, 900);
        assert_eq!(got.expect("45 s"), Some(Duration::from_secs(45)));
        for bad in ["901", "-1", "ten"] {
            let err = period_setting(&with("k_secs", bad), "k_secs", env, d, 900)
                .expect_err(bad)
                .to_string();
            assert!(
                err.contains("k_secs / NT_TEST_UNSET_PERIOD_SECS")
                    && err.contains(&format!("`{bad}`"))
                    && err.contains("0 (off) to 900 seconds"),
                "{err}"
            );
        }
    }
}
