//! The event-driven backtester over one symbol's bars.
//!
//! Each bar runs in time order: orders decided at the previous close are
//! matched against this bar (market at the open; limit and stop when the
//! bar's range reaches them, at the open when it gaps through), the book is
//! marked at the close, then the strategy sees the bars up to and including
//! this one, never later ones, and may replace its pending order. Costs:
//! slippage in basis points against the trader on every fill, commission
//! per share plus basis points of notional with a minimum per fill.
//!
//! Simplifications, on purpose: one symbol per run (pairs have their own
//! two-leg loop); a protective stop guards the position from the bar after
//! the entry fill (the entry bar's own range is not checked against it);
//! a new order replaces the pending one; a bar's volume does not cap fills.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::metrics::{Metrics, compute_metrics};
use crate::bars::{Bar, BarSeries};
use crate::error::{QuantError, Result};
use crate::stats::std_dev;

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderKind {
    /// At the next bar's open.
    Market,
    /// At `price` or better, when the bar reaches it.
    Limit {
        /// Limit price.
        price: f64,
    },
    /// Becomes a market order once the bar trades through `price`.
    Stop {
        /// Trigger price.
        price: f64,
    },
}

/// What a strategy wants after seeing a bar: a target position as a
/// fraction of equity (before sizing), how to get there, and optionally a
/// protective stop price for the position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Target weight (1 = fully long, -1 = fully short, 0 = flat).
    pub target: f64,
    /// Order type for the move to the target.
    pub kind: OrderKind,
    /// Protective stop: exit the whole position at this price.
    pub stop_loss: Option<f64>,
}

impl Decision {
    /// Move to `target` with a market order.
    pub fn market(target: f64) -> Self {
        Self {
            target,
            kind: OrderKind::Market,
            stop_loss: None,
        }
    }
}

/// What a strategy knows about its own position when it decides.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PositionView {
    /// Shares held (negative when short).
    pub qty: f64,
    /// Average entry price of the open position.
    pub avg_price: f64,
    /// Position value over equity at the last close.
    pub weight: f64,
    /// Equity at the last close.
    pub equity: f64,
}

/// A trading strategy over one symbol's bars.
pub trait Strategy: Send {
    /// Called after each bar closes with the bars so far (`history.last()` is
    /// the bar that just closed). `None` keeps any pending order.
    fn on_bar(&mut self, history: &[Bar], position: &PositionView) -> Option<Decision>;
}

/// Commission charged on each fill.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Commission {
    /// Per share or unit.
    pub per_share: f64,
    /// Basis points of the fill's notional.
    pub bps: f64,
    /// Least charged per fill.
    pub minimum: f64,
}

impl Default for Commission {
    fn default() -> Self {
        Self {
            per_share: 0.0,
            bps: 1.0,
            minimum: 0.0,
        }
    }
}

impl Commission {
    /// The commission on a fill of `qty` at `price`.
    pub fn on(&self, qty: f64, price: f64) -> f64 {
        (self.per_share * qty.abs() + self.bps / 1e4 * (qty * price).abs()).max(self.minimum)
    }
}

/// How a target weight becomes a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Sizing {
    /// Position value = target × fraction × equity.
    Fraction {
        /// Fraction of equity at a target of 1.
        fraction: f64,
    },
    /// Position = target × units shares.
    Units {
        /// Shares at a target of 1.
        units: f64,
    },
    /// Fraction of equity scaled so the position's trailing volatility
    /// matches `annual_vol` (capped at `max_leverage`).
    VolTarget {
        /// Target annual volatility (0.10 = 10%).
        annual_vol: f64,
        /// Trailing bars for the volatility estimate.
        window: usize,
        /// Largest multiple of equity.
        max_leverage: f64,
    },
}

impl Default for Sizing {
    fn default() -> Self {
        Self::Fraction { fraction: 1.0 }
    }
}

/// Backtest settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BacktestConfig {
    /// Starting cash.
    pub initial_capital: f64,
    /// Commission model.
    pub commission: Commission,
    /// Slippage against the trader on every fill, in basis points.
    pub slippage_bps: f64,
    /// Position sizing.
    pub sizing: Sizing,
    /// Whether short positions are allowed (negative targets are clipped to 0 otherwise).
    pub allow_short: bool,
    /// Smallest trade worth sending, in money.
    pub min_trade_value: f64,
    /// Leave the position alone while it is within this fraction of equity
    /// of the target (0.05 = 5%); a move to flat always trades.
    pub rebalance_band: f64,
    /// Bars a year, for annualised figures (252 for daily).
    pub periods_per_year: f64,
    /// Annual risk-free rate for Sharpe and Sortino.
    pub risk_free_rate: f64,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            initial_capital: 100_000.0,
            commission: Commission::default(),
            slippage_bps: 2.0,
            sizing: Sizing::default(),
            allow_short: true,
            min_trade_value: 0.0,
            rebalance_band: 0.05,
            periods_per_year: 252.0,
            risk_free_rate: 0.0,
        }
    }
}

impl BacktestConfig {
    /// Checks the settings, naming the field at fault.
    pub fn check(&self) -> Result<()> {
        let bad = |f: &str, r: &str| Err(QuantError::invalid(f, r));
        if !(self.initial_capital > 0.0 && self.initial_capital.is_finite()) {
            return bad("config.initial_capital", "must be positive");
        }
        if !(0.0..=1000.0).contains(&self.slippage_bps) {
            return bad("config.slippage_bps", "must be 0-1000");
        }
        let c = self.commission;
        if !(c.per_share >= 0.0 && (0.0..=1000.0).contains(&c.bps) && c.minimum >= 0.0) {
            return bad(
                "config.commission",
                "per_share and minimum must be >= 0, bps 0-1000",
            );
        }
        if !(self.periods_per_year >= 1.0 && self.periods_per_year <= 100_000.0) {
            return bad("config.periods_per_year", "must be 1-100000");
        }
        if self.min_trade_value < 0.0 || !self.risk_free_rate.is_finite() {
            return bad("config.min_trade_value", "must be >= 0");
        }
        if !(0.0..=1.0).contains(&self.rebalance_band) {
            return bad("config.rebalance_band", "must be 0-1");
        }
        match self.sizing {
            Sizing::Fraction { fraction } if !(fraction > 0.0 && fraction <= 10.0) => {
                bad("config.sizing.fraction", "must be in (0, 10]")
            }
            Sizing::Units { units } if !(units > 0.0 && units.is_finite()) => {
                bad("config.sizing.units", "must be positive")
            }
            Sizing::VolTarget {
                annual_vol,
                window,
                max_leverage,
            } if !(annual_vol > 0.0
                && annual_vol <= 5.0
                && window >= 2
                && max_leverage > 0.0
                && max_leverage <= 10.0) =>
            {
                bad(
                    "config.sizing",
                    "vol_target needs annual_vol in (0, 5], window >= 2, max_leverage in (0, 10]",
                )
            }
            _ => Ok(()),
        }
    }
}

/// One execution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// Bar index it happened on.
    pub bar: usize,
    /// Day number.
    pub day: i64,
    /// Signed quantity (positive = bought).
    pub qty: f64,
    /// Price after slippage.
    pub price: f64,
    /// Commission charged.
    pub commission: f64,
    /// Why: `market`, `limit`, `stop`, `stop_loss`.
    pub reason: &'static str,
}

/// One round trip, from flat to flat (or to a flip).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Bar it opened.
    pub entry_bar: usize,
    /// Bar it closed.
    pub exit_bar: usize,
    /// +1 long, -1 short.
    pub direction: f64,
    /// Profit after commissions and slippage.
    pub pnl: f64,
}

/// An order the strategy sent after a bar closed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OrderRecord {
    /// Bar whose close it followed.
    pub bar: usize,
    /// Signed quantity.
    pub qty: f64,
    /// Order type.
    pub kind: OrderKind,
    /// Protective stop set with it.
    pub stop_loss: Option<f64>,
}

/// What a backtest produced.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestResult {
    /// Symbol.
    pub symbol: String,
    /// Data source of the bars.
    pub source: String,
    /// Equity at each bar's close.
    pub equity: Vec<f64>,
    /// Day number of each bar.
    pub days: Vec<i64>,
    /// Position value over equity at each close.
    pub exposure: Vec<f64>,
    /// Every order sent (a new order replaces the pending one).
    pub orders: Vec<OrderRecord>,
    /// Every fill.
    pub fills: Vec<Fill>,
    /// Closed round trips.
    pub trades: Vec<Trade>,
    /// Performance figures.
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    qty: f64,
    kind: OrderKind,
}

struct Book<'a> {
    cfg: &'a BacktestConfig,
    cash: f64,
    qty: f64,
    avg: f64,
    open_trade: Option<(usize, f64, f64)>,
    fills: Vec<Fill>,
    trades: Vec<Trade>,
    traded: f64,
}

impl Book<'_> {
    fn fill(&mut self, bar: usize, day: i64, qty: f64, raw: f64, reason: &'static str) {
        let slip = self.cfg.slippage_bps / 1e4;
        let price = if qty > 0.0 {
            raw * (1.0 + slip)
        } else {
            raw * (1.0 - slip)
        };
        let commission = self.cfg.commission.on(qty, price);
        self.cash -= qty * price + commission;
        self.traded += (qty * price).abs();
        let before = self.qty;
        let after = before + qty;
        let flips = before != 0.0 && after.abs() > 1e-12 && after.signum() != before.signum();
        let closes = before != 0.0 && after.abs() <= 1e-12;
        // Profit realised on the part that reduces the position; the whole
        // commission goes to the trade that was open before the fill, or to
        // the new one when the book was flat.
        let reducing = if before != 0.0 && qty.signum() != before.signum() {
            qty.abs().min(before.abs())
        } else {
            0.0
        };
        let realised = reducing * (price - self.avg) * before.signum();
        if let Some((_, _, pnl)) = self.open_trade.as_mut() {
            *pnl += realised - commission;
        }
        if (closes || flips)
            && let Some((entry, dir, pnl)) = self.open_trade.take()
        {
            self.trades.push(Trade {
                entry_bar: entry,
                exit_bar: bar,
                direction: dir,
                pnl,
            });
        }
        if after.abs() <= 1e-12 {
            self.qty = 0.0;
            self.avg = 0.0;
        } else {
            if before == 0.0 || flips {
                self.avg = price;
                let cost = if before == 0.0 { -commission } else { 0.0 };
                self.open_trade = Some((bar, after.signum(), cost));
            } else if after.abs() > before.abs() {
                self.avg = (self.avg * before.abs() + price * qty.abs()) / after.abs();
            }
            self.qty = after;
        }
        self.fills.push(Fill {
            bar,
            day,
            qty,
            price,
            commission,
            reason,
        });
    }
}

/// Where an order on `bar` fills, if it does: (price, reason).
fn match_order(qty: f64, kind: OrderKind, bar: &Bar) -> Option<(f64, &'static str)> {
    let buy = qty > 0.0;
    match kind {
        OrderKind::Market => Some((bar.open, "market")),
        OrderKind::Limit { price } => {
            if (buy && bar.open <= price) || (!buy && bar.open >= price) {
                Some((bar.open, "limit"))
            } else if (buy && bar.low <= price) || (!buy && bar.high >= price) {
                Some((price, "limit"))
            } else {
                None
            }
        }
        OrderKind::Stop { price } => {
            if (buy && bar.open >= price) || (!buy && bar.open <= price) {
                Some((bar.open, "stop"))
            } else if (buy && bar.high >= price) || (!buy && bar.low <= price) {
                Some((price, "stop"))
            } else {
                None
            }
        }
    }
}

/// The target quantity for `target` weight at the close of `history.last()`.
fn size(cfg: &BacktestConfig, target: f64, equity: f64, history: &[Bar]) -> f64 {
    let price = history.last().map_or(1.0, |b| b.close);
    match cfg.sizing {
        Sizing::Fraction { fraction } => target * fraction * equity / price,
        Sizing::Units { units } => target * units,
        Sizing::VolTarget {
            annual_vol,
            window,
            max_leverage,
        } => {
            let start = history.len().saturating_sub(window + 1);
            let closes: Vec<f64> = history[start..].iter().map(|b| b.close).collect();
            let rets = crate::bars::simple_returns(&closes);
            let realised = std_dev(&rets) * cfg.periods_per_year.sqrt();
            let lev = if realised > 0.0 {
                (annual_vol / realised).min(max_leverage)
            } else {
                0.0
            };
            target * lev * equity / price
        }
    }
}

/// Runs `strategy` over `series` with `cfg`.
pub fn run(
    series: &BarSeries,
    strategy: &mut dyn Strategy,
    cfg: &BacktestConfig,
) -> Result<BacktestResult> {
    cfg.check()?;
    let bars = &series.bars;
    let mut book = Book {
        cfg,
        cash: cfg.initial_capital,
        qty: 0.0,
        avg: 0.0,
        open_trade: None,
        fills: vec![],
        trades: vec![],
        traded: 0.0,
    };
    let mut pending: Option<Pending> = None;
    let mut stop_loss: Option<f64> = None;
    let mut orders = vec![];
    let mut equity = Vec::with_capacity(bars.len());
    let mut exposure = Vec::with_capacity(bars.len());
    for (i, bar) in bars.iter().enumerate() {
        // 1. Protective stop on the position held into this bar.
        if let Some(stop) = stop_loss.filter(|_| book.qty != 0.0) {
            let q = -book.qty;
            if let Some((px, _)) = match_order(q, OrderKind::Stop { price: stop }, bar) {
                book.fill(i, bar.day, q, px, "stop_loss");
                stop_loss = None;
                pending = None;
            }
        }
        // 2. The pending order.
        if let Some(p) = pending
            && let Some((px, reason)) = match_order(p.qty, p.kind, bar)
        {
            book.fill(i, bar.day, p.qty, px, reason);
            pending = None;
        }
        // 3. Mark at the close.
        let eq = book.cash + book.qty * bar.close;
        if !eq.is_finite() || eq <= 0.0 {
            equity.push(eq.max(0.0));
            exposure.push(0.0);
            // Ruined: stop trading, keep the curve at zero.
            for _ in i + 1..bars.len() {
                equity.push(0.0);
                exposure.push(0.0);
            }
            break;
        }
        equity.push(eq);
        exposure.push(book.qty * bar.close / eq);
        if book.qty == 0.0 {
            stop_loss = None;
        }
        // 4. The strategy decides on what it has seen so far.
        let view = PositionView {
            qty: book.qty,
            avg_price: book.avg,
            weight: book.qty * bar.close / eq,
            equity: eq,
        };
        if let Some(d) = strategy.on_bar(&bars[..=i], &view) {
            let target = if cfg.allow_short {
                d.target
            } else {
                d.target.max(0.0)
            };
            if !target.is_finite() {
                return Err(QuantError::Data(format!(
                    "the strategy asked for a non-finite target at bar {i}"
                )));
            }
            let want = size(cfg, target, eq, &bars[..=i]);
            let delta = want - book.qty;
            let floor = if want == 0.0 {
                1e-9
            } else {
                cfg.min_trade_value.max(cfg.rebalance_band * eq).max(1e-9)
            };
            pending = if (delta * bar.close).abs() > floor {
                Some(Pending {
                    qty: delta,
                    kind: d.kind,
                })
            } else {
                None
            };
            if let Some(p) = pending {
                orders.push(OrderRecord {
                    bar: i,
                    qty: p.qty,
                    kind: p.kind,
                    stop_loss: d.stop_loss,
                });
            }
            if d.stop_loss.is_some() || target == 0.0 {
                stop_loss = d.stop_loss;
            }
        }
    }
    // Close the books on the last bar for trade statistics (no fill: marked).
    if let (Some((entry, dir, pnl)), Some(last)) = (book.open_trade.take(), bars.last()) {
        let open_pnl = pnl + book.qty * (last.close - book.avg);
        book.trades.push(Trade {
            entry_bar: entry,
            exit_bar: bars.len() - 1,
            direction: dir,
            pnl: open_pnl,
        });
    }
    let metrics = compute_metrics(cfg, &equity, &exposure, book.traded, &book.trades);
    Ok(BacktestResult {
        symbol: series.symbol.clone(),
        source: series.source.clone(),
        equity,
        days: bars.iter().map(|b| b.day).collect(),
        exposure,
        orders,
        fills: book.fills,
        trades: book.trades,
        metrics,
    })
}
