//! Canadian capital gains on identical properties: adjusted cost base by
//! average cost (ITA s. 47), the superficial-loss rule (ITA s. 54: an
//! identical property bought in the 61 days around a loss sale and still
//! held 30 days after it; the denied part is added to the ACB of the
//! shares held), conversion of foreign-currency trades to CAD at the rate
//! of each transaction's day from a user-loaded table, realized gains per
//! year, a T5008-style CSV, a Schedule 3 summary and a readable PDF.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::dates::{format_date, parse_date, year_of_day};
use crate::error::{BrokersError, Result};
use crate::types::dec;

/// How far back a rate may be taken for a day without one (weekends,
/// holidays): the most recent rate at most this many days earlier.
pub const RATE_LOOKBACK_DAYS: i64 = 7;

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
    /// Trade (settlement) date, `YYYY-MM-DD`.
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
    /// table's rate for the date is used.
    #[serde(default)]
    pub fx_rate: Option<Decimal>,
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

/// One disposition with its gain in CAD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Disposition {
    /// Date sold.
    pub date: String,
    /// Security.
    pub symbol: String,
    /// Quantity sold.
    pub qty: Decimal,
    /// Trade currency.
    pub currency: String,
    /// Proceeds of disposition in CAD.
    pub proceeds: Decimal,
    /// ACB of the units sold in CAD.
    pub acb: Decimal,
    /// Outlays and expenses (commission) in CAD.
    pub outlays: Decimal,
    /// Gain (negative: loss) in CAD, after any superficial loss is denied.
    pub gain: Decimal,
    /// The part of the loss denied as superficial (added to the ACB of the
    /// units still held), in CAD.
    pub superficial_loss_denied: Decimal,
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
    /// Every disposition, in date order.
    pub dispositions: Vec<Disposition>,
    /// Holdings after the last trade.
    pub holdings: Vec<Holding>,
}

/// Totals for one tax year, as on Schedule 3 (publicly traded shares).
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
    day: i64,
    side: TaxSide,
    qty: Decimal,
    amount_cad: Decimal,
    fee_cad: Decimal,
    currency: String,
}

/// Runs the average-cost ACB with the superficial-loss rule over `trades`,
/// converting each to CAD at its own day's rate.
pub fn compute_acb(trades: &[TaxTrade], rates: &RateTable) -> Result<AcbReport> {
    let mut by_symbol: BTreeMap<String, Vec<Leg>> = BTreeMap::new();
    for (i, t) in trades.iter().enumerate() {
        let day = parse_date(&t.date).ok_or_else(|| {
            BrokersError::invalid(format!("trades[{i}].date"), "must be a date YYYY-MM-DD")
        })?;
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
            None => rates.rate(&t.currency, day)?,
        };
        by_symbol
            .entry(t.symbol.trim().to_ascii_uppercase())
            .or_default()
            .push(Leg {
                day,
                side: t.side,
                qty: t.qty,
                amount_cad: t.qty * t.price * rate,
                fee_cad: t.commission * rate,
                currency: t.currency.to_ascii_uppercase(),
            });
    }
    let mut dispositions = Vec::new();
    let mut holdings = Vec::new();
    for (symbol, mut legs) in by_symbol {
        // Stable: same-day trades keep their given order.
        legs.sort_by_key(|l| l.day);
        let mut shares = Decimal::ZERO;
        let mut acb = Decimal::ZERO;
        for (i, leg) in legs.iter().enumerate() {
            match leg.side {
                TaxSide::Buy => {
                    shares += leg.qty;
                    acb += leg.amount_cad + leg.fee_cad;
                }
                TaxSide::Sell => {
                    if leg.qty > shares {
                        return Err(BrokersError::invalid(
                            "trades",
                            format!(
                                "{symbol} sold {} on {} with only {shares} held",
                                leg.qty,
                                format_date(leg.day)
                            ),
                        ));
                    }
                    let acb_sold = acb * leg.qty / shares;
                    shares -= leg.qty;
                    acb -= acb_sold;
                    let mut gain = leg.amount_cad - acb_sold - leg.fee_cad;
                    let mut denied = Decimal::ZERO;
                    if gain < Decimal::ZERO {
                        // Units bought in the 61-day window around the sale.
                        let bought: Decimal = legs
                            .iter()
                            .enumerate()
                            .filter(|(j, l)| {
                                *j != i && l.side == TaxSide::Buy && (l.day - leg.day).abs() <= 30
                            })
                            .map(|(_, l)| l.qty)
                            .sum();
                        // Units held at the end of the window.
                        let mut held_after = Decimal::ZERO;
                        for l in legs.iter().filter(|l| l.day <= leg.day + 30) {
                            match l.side {
                                TaxSide::Buy => held_after += l.qty,
                                TaxSide::Sell => held_after -= l.qty,
                            }
                        }
                        let substituted = leg.qty.min(bought).min(held_after.max(Decimal::ZERO));
                        if substituted > Decimal::ZERO {
                            denied = -gain * substituted / leg.qty;
                            gain += denied;
                            acb += denied;
                        }
                    }
                    dispositions.push(Disposition {
                        date: format_date(leg.day),
                        symbol: symbol.clone(),
                        qty: leg.qty,
                        currency: leg.currency.clone(),
                        proceeds: leg.amount_cad.round_dp(2),
                        acb: acb_sold.round_dp(2),
                        outlays: leg.fee_cad.round_dp(2),
                        gain: gain.round_dp(2),
                        superficial_loss_denied: denied.round_dp(2),
                    });
                }
            }
        }
        if shares > Decimal::ZERO || acb > Decimal::ZERO {
            holdings.push(Holding {
                symbol: symbol.clone(),
                qty: shares,
                acb: acb.round_dp(2),
                acb_per_unit: if shares.is_zero() {
                    Decimal::ZERO
                } else {
                    (acb / shares).round_dp(4)
                },
            });
        }
    }
    dispositions.sort_by(|a, b| a.date.cmp(&b.date).then(a.symbol.cmp(&b.symbol)));
    Ok(AcbReport {
        dispositions,
        holdings,
    })
}

/// The dispositions of `year`.
pub fn of_year(report: &AcbReport, year: i64) -> Vec<Disposition> {
    report
        .dispositions
        .iter()
        .filter(|d| parse_date(&d.date).map(year_of_day) == Some(year))
        .cloned()
        .collect()
}

/// Schedule 3 totals for `year`.
pub fn schedule3(report: &AcbReport, year: i64) -> Schedule3 {
    let rows = of_year(report, year);
    let sum = |f: fn(&Disposition) -> Decimal| rows.iter().map(f).sum::<Decimal>();
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
        taxable_capital_gain: if net > Decimal::ZERO {
            (net * half).round_dp(2)
        } else {
            Decimal::ZERO
        },
        net_capital_loss: if net < Decimal::ZERO {
            (-net * half).round_dp(2)
        } else {
            Decimal::ZERO
        },
    }
}

/// The year's dispositions as a T5008-style CSV (amounts in CAD).
pub fn t5008_csv(report: &AcbReport, year: i64) -> String {
    let mut out = String::from(
        "tax_year,settlement_date,security,quantity_box16,trade_currency,cost_or_book_value_box20_cad,proceeds_of_disposition_box21_cad,outlays_cad,gain_loss_cad,superficial_loss_denied_cad\n",
    );
    for d in of_year(report, year) {
        out.push_str(&format!(
            "{year},{},{},{},{},{:.2},{:.2},{:.2},{:.2},{:.2}\n",
            d.date,
            crate::audit::csv_field(&d.symbol),
            d.qty.normalize(),
            d.currency,
            d.acb,
            d.proceeds,
            d.outlays,
            d.gain,
            d.superficial_loss_denied
        ));
    }
    out
}

/// The T5008-style report and Schedule 3 summary as a one-or-more-page PDF.
pub fn report_pdf(report: &AcbReport, year: i64) -> Vec<u8> {
    let s3 = schedule3(report, year);
    let mut lines = vec![
        format!("T5008-style summary of dispositions, tax year {year} (amounts in CAD)"),
        String::new(),
        format!(
            "{:<11} {:<10} {:>10} {:>13} {:>13} {:>9} {:>12} {:>10}",
            "Date", "Security", "Qty", "Proceeds", "ACB", "Outlays", "Gain/loss", "SL denied"
        ),
    ];
    for d in of_year(report, year) {
        lines.push(format!(
            "{:<11} {:<10} {:>10} {:>13} {:>13} {:>9} {:>12} {:>10}",
            d.date,
            d.symbol.chars().take(10).collect::<String>(),
            d.qty.normalize().to_string(),
            d.proceeds.to_string(),
            d.acb.to_string(),
            d.outlays.to_string(),
            d.gain.to_string(),
            d.superficial_loss_denied.to_string()
        ));
    }
    lines.extend([
        String::new(),
        "Schedule 3 - publicly traded shares, mutual fund units and other shares".to_string(),
        format!("  Dispositions:                 {}", s3.dispositions),
        format!("  Proceeds of disposition:      {}", s3.proceeds),
        format!("  Adjusted cost base:           {}", s3.acb),
        format!("  Outlays and expenses:         {}", s3.outlays),
        format!("  Net gain (loss):              {}", s3.net_gain),
        format!(
            "  Superficial losses denied:    {}",
            s3.superficial_losses_denied
        ),
        format!(
            "  Taxable capital gain (1/2):   {}",
            s3.taxable_capital_gain
        ),
        format!("  Net capital loss (1/2):       {}", s3.net_capital_loss),
    ]);
    crate::pdf::text_pdf(&lines)
}
