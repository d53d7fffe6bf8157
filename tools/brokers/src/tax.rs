//! Canadian capital gains on identical properties: adjusted cost base by
//! average cost (ITA s. 47), the superficial-loss rule (ITA s. 54: an
//! identical property bought in the 61 days around a loss sale and still
//! held 30 days after it; the denied part is added to the ACB of that
//! substituted property, ITA s. 53(1)(f)), conversion of foreign-currency
//! trades to CAD at the rate of each trade's day from a user-loaded table,
//! realized gains per tax year by settlement date, a T5008-style CSV, a
//! Schedule 3 summary and a readable PDF.
//!
//! Dates: a trade's day is its exchange's local day (Eastern time for NYSE,
//! NASDAQ and the TSX), and it fixes the superficial-loss window and the
//! FX rate; the settlement date (see [`settlement_rule`], the one place the
//! settlement cycles are stated) fixes the tax year. Money: every CAD
//! amount is rounded by [`crate::money`]'s one rule.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::dates::{format_date, parse_date, year_of_day};
use crate::error::{BrokersError, Result};
use crate::money::{format_cents, round_cents};
pub use crate::settlement::{
    AssetClass, CA_EQUITY_T1_FROM, EQUITY_T2_FROM, Market, US_EQUITY_T1_FROM, settlement_day,
    settlement_rule, trade_day,
};
use crate::settlement::{infer_asset_class, infer_market};
use crate::types::dec;

/// How far back a rate may be taken for a day without one (weekends,
/// holidays): the most recent rate at most this many days earlier.
pub const RATE_LOOKBACK_DAYS: i64 = 7;

/// The superficial-loss period runs from this many days before a sale's
/// trade date to this many days after it (61 days in all).
pub const SUPERFICIAL_WINDOW_DAYS: i64 = 30;

/// Buy or sell, for tax purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxSide {
    /// An acquisition.
    Buy,
    /// A disposition.
    Sell,
}

/// One trade as the tax engine sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxTrade {
    /// Trade date: the exchange's local day `YYYY-MM-DD`, or the fill's
    /// timestamp in ISO 8601 with its offset (`2025-12-31T01:00:00Z`),
    /// which is taken to the exchange's local day (Eastern time for NYSE,
    /// NASDAQ and the TSX; for FX the day rolls at 17:00 New York). It
    /// fixes the superficial-loss window and the FX rate's day.
    pub date: String,
    /// Security; trades of the same symbol are identical properties.
    pub symbol: String,
    /// Buy or sell.
    pub side: TaxSide,
    /// Quantity, positive.
    pub qty: Decimal,
    /// Price per unit in `currency`.
    pub price: Decimal,
    /// Commission and fees in `currency`.
    #[serde(default)]
    pub commission: Decimal,
    /// Currency of price and commission (CAD when omitted).
    #[serde(default = "cad")]
    pub currency: String,
    /// CAD per unit of `currency` for this trade; when omitted the rate
    /// table's rate for the trade date is used.
    #[serde(default)]
    pub fx_rate: Option<Decimal>,
    /// `equity`, `option` or `fx`; when omitted, `fx` for a currency pair
    /// (`EUR_USD`, `USD/CAD`), `option` for an OCC option symbol, else
    /// `equity`.
    #[serde(default)]
    pub asset_class: Option<AssetClass>,
    /// `us` or `ca`; when omitted, `ca` for a Canadian listing suffix
    /// (`.TO`, `.V`, `.CN`, `.NE`) or a CAD trade, else `us`.
    #[serde(default)]
    pub market: Option<Market>,
    /// Settlement date `YYYY-MM-DD` from the broker's confirmation; when
    /// omitted it is worked out from the trade date (see the
    /// `brokers://canadian-tax` resource). A disposition counts in the
    /// year it settles.
    #[serde(default)]
    pub settlement_date: Option<String>,
}

fn cad() -> String {
    "CAD".into()
}

/// Daily CAD rates per currency (CAD per one unit of the currency).
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    rates: BTreeMap<String, BTreeMap<i64, Decimal>>,
}

impl RateTable {
    /// Adds a rate.
    pub fn insert(&mut self, currency: &str, day: i64, rate: Decimal) {
        self.rates
            .entry(currency.to_ascii_uppercase())
            .or_default()
            .insert(day, rate);
    }

    /// The rate for `currency` on `day`, or the latest in the week before.
    pub fn rate(&self, currency: &str, day: i64) -> Result<Decimal> {
        let currency = currency.to_ascii_uppercase();
        if currency == "CAD" {
            return Ok(Decimal::ONE);
        }
        self.rates
            .get(&currency)
            .and_then(|days| days.range(day - RATE_LOOKBACK_DAYS..=day).next_back())
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                BrokersError::refused(
                    "fx_rate_missing",
                    format!(
                        "no CAD rate for {currency} on or up to {RATE_LOOKBACK_DAYS} days before {}; load it with tax_load_fx_rates or give fx_rate on the trade",
                        format_date(day)
                    ),
                )
            })
    }

    /// Loads every stored rate.
    pub async fn load(pool: &AnyPool) -> Result<Self> {
        let rows = sqlx::query("SELECT currency, day, rate FROM broker_fx_rates")
            .fetch_all(pool)
            .await?;
        let mut table = Self::default();
        for row in &rows {
            let currency: String = row.try_get(0)?;
            let day: String = row.try_get(1)?;
            let day =
                parse_date(&day).ok_or_else(|| BrokersError::Corrupt(format!("fx day {day}")))?;
            table.insert(&currency, day, dec(&row.try_get::<String, _>(2)?)?);
        }
        Ok(table)
    }
}

/// Stores rates (date `YYYY-MM-DD`, currency, CAD per unit), replacing any
/// for the same day. Returns how many were stored.
pub async fn store_rates(pool: &AnyPool, rates: &[(String, String, Decimal)]) -> Result<usize> {
    let mut tx = pool.begin().await?;
    for (i, (date, currency, rate)) in rates.iter().enumerate() {
        let day = parse_date(date).ok_or_else(|| {
            BrokersError::invalid(format!("rates[{i}].date"), "must be a date YYYY-MM-DD")
        })?;
        let currency = currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(BrokersError::invalid(
                format!("rates[{i}].currency"),
                "must be a 3-letter ISO code",
            ));
        }
        if *rate <= Decimal::ZERO {
            return Err(BrokersError::invalid(
                format!("rates[{i}].rate"),
                "must be greater than zero",
            ));
        }
        sqlx::query(
            "INSERT INTO broker_fx_rates (currency, day, rate) VALUES ($1, $2, $3) \
             ON CONFLICT (currency, day) DO UPDATE SET rate = excluded.rate",
        )
        .bind(&currency)
        .bind(format_date(day))
        .bind(rate.normalize().to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rates.len())
}

// ---------------------------------------------------------------------------
// The ACB engine.

/// Shares that took in part of a superficial loss (ITA s. 53(1)(f)): the
/// identical property bought in the 61-day window and held at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubstitutedProperty {
    /// Trade date of the purchase.
    pub trade_date: String,
    /// How many of its units stand in for units sold.
    pub qty: Decimal,
    /// The denied loss added to their ACB, in CAD.
    pub acb_added: Decimal,
}

/// One disposition with its gain in CAD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Disposition {
    /// Trade date (exchange local day): the superficial-loss window and the
    /// FX rate follow it.
    pub trade_date: String,
    /// Settlement date: the tax year follows it.
    pub settlement_date: String,
    /// Tax year (the settlement date's year).
    pub tax_year: i64,
    /// Security.
    pub symbol: String,
    /// Quantity sold.
    pub qty: Decimal,
    /// Trade currency.
    pub currency: String,
    /// CAD per unit of the trade currency used (1 for CAD).
    pub fx_rate: Decimal,
    /// Proceeds of disposition in CAD.
    pub proceeds: Decimal,
    /// ACB of the units sold in CAD.
    pub acb: Decimal,
    /// Outlays and expenses (commission) in CAD.
    pub outlays: Decimal,
    /// Gain (negative: loss) in CAD after any superficial loss is denied:
    /// proceeds − ACB − outlays + the denied loss.
    pub gain: Decimal,
    /// The part of the loss denied as superficial, in CAD; it is added to
    /// the ACB of `substituted_property`.
    pub superficial_loss_denied: Decimal,
    /// The purchases whose ACB took the denied loss.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substituted_property: Vec<SubstitutedProperty>,
}

/// What is still held of one security.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Holding {
    /// Security.
    pub symbol: String,
    /// Units held.
    pub qty: Decimal,
    /// Total ACB in CAD.
    pub acb: Decimal,
    /// ACB per unit in CAD.
    pub acb_per_unit: Decimal,
}

/// The result of running the ACB engine over a set of trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AcbReport {
    /// Every disposition, in settlement-date order.
    pub dispositions: Vec<Disposition>,
    /// Holdings after the last trade.
    pub holdings: Vec<Holding>,
}

/// Totals for one tax year, as on Schedule 3 (publicly traded shares):
/// each total is the sum of the year's rounded rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Schedule3 {
    /// Tax year.
    pub year: i64,
    /// Number of dispositions.
    pub dispositions: usize,
    /// Total proceeds of disposition (line 13199 column 2 total).
    pub proceeds: Decimal,
    /// Total ACB.
    pub acb: Decimal,
    /// Total outlays and expenses.
    pub outlays: Decimal,
    /// Net gain (negative: net loss) after superficial losses are denied.
    pub net_gain: Decimal,
    /// Total superficial losses denied.
    pub superficial_losses_denied: Decimal,
    /// Taxable capital gain: half of a positive net gain (inclusion rate 1/2).
    pub taxable_capital_gain: Decimal,
    /// Net capital loss available to carry over (half of a negative net gain).
    pub net_capital_loss: Decimal,
}

struct Leg {
    trade_day: i64,
    settle_day: i64,
    side: TaxSide,
    qty: Decimal,
    rate: Decimal,
    amount_cad: Decimal,
    fee_cad: Decimal,
    currency: String,
}

impl Leg {
    fn signed_qty(&self) -> Decimal {
        match self.side {
            TaxSide::Buy => self.qty,
            TaxSide::Sell => -self.qty,
        }
    }
}

fn leg_of(i: usize, t: &TaxTrade, rates: &RateTable) -> Result<Leg> {
    let asset = t
        .asset_class
        .unwrap_or_else(|| infer_asset_class(&t.symbol));
    let trade_day = trade_day(&t.date, asset).ok_or_else(|| {
        BrokersError::invalid(
            format!("trades[{i}].date"),
            "must be a date YYYY-MM-DD or an ISO 8601 timestamp with its offset",
        )
    })?;
    let settle_day = match &t.settlement_date {
        Some(s) => {
            let day = parse_date(s)
                .filter(|_| s.trim().len() == 10)
                .ok_or_else(|| {
                    BrokersError::invalid(
                        format!("trades[{i}].settlement_date"),
                        "must be a date YYYY-MM-DD",
                    )
                })?;
            if day < trade_day {
                return Err(BrokersError::invalid(
                    format!("trades[{i}].settlement_date"),
                    format!("is before the trade date {}", format_date(trade_day)),
                ));
            }
            day
        }
        None => {
            let market = t
                .market
                .unwrap_or_else(|| infer_market(&t.symbol, &t.currency));
            settlement_day(asset, market, &t.symbol, &t.currency, trade_day)
        }
    };
    if t.qty <= Decimal::ZERO {
        return Err(BrokersError::invalid(
            format!("trades[{i}].qty"),
            "must be greater than zero",
        ));
    }
    if t.price < Decimal::ZERO || t.commission < Decimal::ZERO {
        return Err(BrokersError::invalid(
            format!("trades[{i}].price"),
            "price and commission must not be negative",
        ));
    }
    let rate = match t.fx_rate {
        Some(r) if r > Decimal::ZERO => r,
        Some(_) => {
            return Err(BrokersError::invalid(
                format!("trades[{i}].fx_rate"),
                "must be greater than zero",
            ));
        }
        // The Bank of Canada rate of the trade date.
        None => rates.rate(&t.currency, trade_day)?,
    };
    Ok(Leg {
        trade_day,
        settle_day,
        side: t.side,
        qty: t.qty,
        rate,
        amount_cad: round_cents(t.qty * t.price * rate),
        fee_cad: round_cents(t.commission * rate),
        currency: t.currency.to_ascii_uppercase(),
    })
}

/// Runs the average-cost ACB with the superficial-loss rule over `trades`,
/// converting each to CAD at its trade date's rate.
///
/// A loss on a sale is superficial for the fraction
/// min(S, P, B) / S (IT-456R): S the units sold, P the units of identical
/// property bought from 30 days before to 30 days after the trade date and
/// not already standing in for an earlier superficial loss, B the units
/// held 30 days after. The denied part is added to the ACB of those
/// substituted units (ITA s. 53(1)(f)): at once when they were bought on or
/// before the sale, on their purchase when bought after it, so a sale in
/// between is not given the deferred loss. The units are taken from the
/// latest purchase in the window backwards (the ones most likely still
/// held at its end); units bought before the sale count only up to what
/// is still held after it. Same-day trades keep their given order.
pub fn compute_acb(trades: &[TaxTrade], rates: &RateTable) -> Result<AcbReport> {
    let mut by_symbol: BTreeMap<String, Vec<Leg>> = BTreeMap::new();
    for (i, t) in trades.iter().enumerate() {
        by_symbol
            .entry(t.symbol.trim().to_ascii_uppercase())
            .or_default()
            .push(leg_of(i, t, rates)?);
    }
    let mut dispositions = Vec::new();
    let mut holdings = Vec::new();
    for (symbol, mut legs) in by_symbol {
        // Stable: same-day trades keep their given order.
        legs.sort_by_key(|l| l.trade_day);
        // Units of each purchase not yet standing in for a denied loss.
        let mut substitutable: Vec<Decimal> = legs
            .iter()
            .map(|l| match l.side {
                TaxSide::Buy => l.qty,
                TaxSide::Sell => Decimal::ZERO,
            })
            .collect();
        // Denied losses waiting for the purchase they belong to.
        let mut deferred = vec![Decimal::ZERO; legs.len()];
        let mut shares = Decimal::ZERO;
        let mut acb = Decimal::ZERO;
        for (i, leg) in legs.iter().enumerate() {
            if leg.side == TaxSide::Buy {
                shares += leg.qty;
                acb += leg.amount_cad + leg.fee_cad + deferred[i];
                continue;
            }
            if leg.qty > shares {
                return Err(BrokersError::invalid(
                    "trades",
                    format!(
                        "{symbol} sold {} on {} with only {shares} held",
                        leg.qty,
                        format_date(leg.trade_day)
                    ),
                ));
            }
            let acb_sold = if leg.qty == shares {
                acb
            } else {
                round_cents(acb * leg.qty / shares)
            };
            shares -= leg.qty;
            acb -= acb_sold;
            let result = leg.amount_cad - acb_sold - leg.fee_cad;
            let mut denied = Decimal::ZERO;
            let mut substituted_property = Vec::new();
            if result < Decimal::ZERO {
                let first = leg.trade_day - SUPERFICIAL_WINDOW_DAYS;
                let last = leg.trade_day + SUPERFICIAL_WINDOW_DAYS;
                // B: units held at the end of the window.
                let held_at_end = legs
                    .iter()
                    .filter(|l| l.trade_day <= last)
                    .map(Leg::signed_qty)
                    .sum::<Decimal>()
                    .max(Decimal::ZERO);
                // P: purchases in the window, latest first, with what each
                // can still stand in for.
                let in_window: Vec<(usize, Decimal)> = (0..legs.len())
                    .rev()
                    .filter(|&j| {
                        legs[j].side == TaxSide::Buy
                            && (first..=last).contains(&legs[j].trade_day)
                            && substitutable[j] > Decimal::ZERO
                    })
                    .map(|j| (j, substitutable[j]))
                    .collect();
                let after: Decimal = in_window
                    .iter()
                    .filter(|(j, _)| *j > i)
                    .map(|(_, q)| *q)
                    .sum();
                let before: Decimal = in_window
                    .iter()
                    .filter(|(j, _)| *j < i)
                    .map(|(_, q)| *q)
                    .sum::<Decimal>()
                    .min(shares);
                let substituted = leg.qty.min(after + before).min(held_at_end);
                if substituted > Decimal::ZERO {
                    denied = round_cents(-result * substituted / leg.qty);
                    // Which purchases stand in, and for how many units.
                    let mut parts: Vec<(usize, Decimal)> = Vec::new();
                    let (mut left, mut before_left) = (substituted, before);
                    for &(j, can) in &in_window {
                        let take = if j > i {
                            can.min(left)
                        } else {
                            can.min(left).min(before_left)
                        };
                        if take > Decimal::ZERO {
                            if j < i {
                                before_left -= take;
                            }
                            left -= take;
                            parts.push((j, take));
                        }
                    }
                    // Split the denied loss over them; the last takes the
                    // rounding remainder so the parts sum to it exactly.
                    let mut given = Decimal::ZERO;
                    for (k, &(j, take)) in parts.iter().enumerate() {
                        let share = if k + 1 == parts.len() {
                            denied - given
                        } else {
                            round_cents(denied * take / substituted)
                        };
                        given += share;
                        substitutable[j] -= take;
                        if j > i {
                            deferred[j] += share;
                        } else {
                            acb += share;
                        }
                        substituted_property.push(SubstitutedProperty {
                            trade_date: format_date(legs[j].trade_day),
                            qty: take,
                            acb_added: share,
                        });
                    }
                }
            }
            dispositions.push(Disposition {
                trade_date: format_date(leg.trade_day),
                settlement_date: format_date(leg.settle_day),
                tax_year: year_of_day(leg.settle_day),
                symbol: symbol.clone(),
                qty: leg.qty,
                currency: leg.currency.clone(),
                fx_rate: leg.rate,
                proceeds: leg.amount_cad,
                acb: acb_sold,
                outlays: leg.fee_cad,
                gain: result + denied,
                superficial_loss_denied: denied,
                substituted_property,
            });
        }
        if shares > Decimal::ZERO || acb > Decimal::ZERO {
            holdings.push(Holding {
                symbol: symbol.clone(),
                qty: shares,
                acb: round_cents(acb),
                acb_per_unit: if shares.is_zero() {
                    Decimal::ZERO
                } else {
                    crate::money::round_dp(acb / shares, 4)
                },
            });
        }
    }
    dispositions.sort_by(|a, b| {
        (&a.settlement_date, &a.trade_date, &a.symbol).cmp(&(
            &b.settlement_date,
            &b.trade_date,
            &b.symbol,
        ))
    });
    Ok(AcbReport {
        dispositions,
        holdings,
    })
}

/// The dispositions of tax year `year` (by settlement date).
pub fn of_year(report: &AcbReport, year: i64) -> Vec<Disposition> {
    report
        .dispositions
        .iter()
        .filter(|d| d.tax_year == year)
        .cloned()
        .collect()
}

/// Schedule 3 totals for `year`: sums of the rounded rows.
pub fn schedule3(report: &AcbReport, year: i64) -> Schedule3 {
    let rows = of_year(report, year);
    let sum = |f: fn(&Disposition) -> Decimal| round_cents(rows.iter().map(f).sum::<Decimal>());
    let net = sum(|d| d.gain);
    let half = Decimal::new(5, 1);
    Schedule3 {
        year,
        dispositions: rows.len(),
        proceeds: sum(|d| d.proceeds),
        acb: sum(|d| d.acb),
        outlays: sum(|d| d.outlays),
        net_gain: net,
        superficial_losses_denied: sum(|d| d.superficial_loss_denied),
        taxable_capital_gain: round_cents(if net > Decimal::ZERO {
            net * half
        } else {
            Decimal::ZERO
        }),
        net_capital_loss: round_cents(if net < Decimal::ZERO {
            -net * half
        } else {
            Decimal::ZERO
        }),
    }
}

/// The year's dispositions as a T5008-style CSV (amounts in CAD), one row
/// each, with the trade date and the settlement date that put the row in
/// this tax year.
pub fn t5008_csv(report: &AcbReport, year: i64) -> String {
    let mut out = String::from(
        "tax_year,trade_date,settlement_date,security,quantity_box16,trade_currency,cost_or_book_value_box20_cad,proceeds_of_disposition_box21_cad,outlays_cad,gain_loss_cad,superficial_loss_denied_cad\n",
    );
    for d in of_year(report, year) {
        out.push_str(&format!(
            "{year},{},{},{},{},{},{},{},{},{},{}\n",
            d.trade_date,
            d.settlement_date,
            crate::audit::csv_field(&d.symbol),
            d.qty.normalize(),
            d.currency,
            format_cents(d.acb),
            format_cents(d.proceeds),
            format_cents(d.outlays),
            format_cents(d.gain),
            format_cents(d.superficial_loss_denied)
        ));
    }
    out
}

/// The T5008-style report and Schedule 3 summary as a one-or-more-page PDF.
pub fn report_pdf(report: &AcbReport, year: i64) -> Vec<u8> {
    let s3 = schedule3(report, year);
    let row = |cells: [&str; 9]| {
        format!(
            "{:<10} {:<10} {:<10} {:>8} {:>12} {:>12} {:>8} {:>11} {:>9}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8]
        )
    };
    let mut lines = vec![
        format!("T5008-style summary of dispositions, tax year {year} (amounts in CAD)"),
        "Tax year by settlement date; amounts rounded half away from zero to the cent.".to_string(),
        String::new(),
        row([
            "Traded",
            "Settled",
            "Security",
            "Qty",
            "Proceeds",
            "ACB",
            "Outlays",
            "Gain/loss",
            "SL denied",
        ]),
    ];
    for d in of_year(report, year) {
        let symbol: String = d.symbol.chars().take(10).collect();
        lines.push(row([
            &d.trade_date,
            &d.settlement_date,
            &symbol,
            &d.qty.normalize().to_string(),
            &format_cents(d.proceeds),
            &format_cents(d.acb),
            &format_cents(d.outlays),
            &format_cents(d.gain),
            &format_cents(d.superficial_loss_denied),
        ]));
    }
    lines.push(row([
        "Total",
        "",
        "",
        "",
        &format_cents(s3.proceeds),
        &format_cents(s3.acb),
        &format_cents(s3.outlays),
        &format_cents(s3.net_gain),
        &format_cents(s3.superficial_losses_denied),
    ]));
    lines.extend([
        String::new(),
        "Schedule 3 - publicly traded shares, mutual fund units and other shares".to_string(),
        format!("  Dispositions:                 {}", s3.dispositions),
        format!(
            "  Proceeds of disposition:      {}",
            format_cents(s3.proceeds)
        ),
        format!("  Adjusted cost base:           {}", format_cents(s3.acb)),
        format!(
            "  Outlays and expenses:         {}",
            format_cents(s3.outlays)
        ),
        format!(
            "  Net gain (loss):              {}",
            format_cents(s3.net_gain)
        ),
        format!(
            "  Superficial losses denied:    {}",
            format_cents(s3.superficial_losses_denied)
        ),
        format!(
            "  Taxable capital gain (1/2):   {}",
            format_cents(s3.taxable_capital_gain)
        ),
        format!(
            "  Net capital loss (1/2):       {}",
            format_cents(s3.net_capital_loss)
        ),
    ]);
    crate::pdf::text_pdf(&lines)
}
