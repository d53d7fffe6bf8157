//! Canadian tax tools: daily CAD rates, adjusted cost base and the T5008
//! / Schedule 3 report, from given trades or the paper fills.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::BrokersBundle;
use crate::broker::Broker;
use crate::paper::PAPER;
use crate::pdf;
use crate::tax::{self, RateTable, TaxSide, TaxTrade};
use crate::types::Side;

/// Trades for the adjusted cost base.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcbInput {
    /// Trades to use; when omitted, the paper broker's audited fills.
    #[serde(default)]
    trades: Option<Vec<TaxTrade>>,
    /// Only this security.
    #[serde(default)]
    symbol: Option<String>,
}

/// A tax year's report.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct T5008Input {
    /// Tax year.
    year: i64,
    /// Trades to use; when omitted, the paper broker's audited fills.
    #[serde(default)]
    trades: Option<Vec<TaxTrade>>,
    /// Also return the report as a PDF (base64).
    #[serde(default)]
    pdf: bool,
}

/// One daily rate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateRow {
    /// Day, YYYY-MM-DD.
    date: String,
    /// ISO currency (`USD`).
    currency: String,
    /// CAD per one unit of the currency (Bank of Canada daily rate).
    rate: Decimal,
}

/// Daily rates to store: given, or fetched from the Bank of Canada.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RatesInput {
    /// Daily rates to store (replacing any for the same day).
    #[serde(default)]
    rates: Option<Vec<RateRow>>,
    /// Fetch the Bank of Canada's published daily rates (Valet
    /// `FX{CCY}CAD`) for these currencies and days instead, and store them.
    #[serde(default)]
    bank_of_canada: Option<BocRequest>,
}

/// Which Bank of Canada daily rates to fetch.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BocRequest {
    /// ISO codes (`["USD", "EUR"]`); empty for every currency the Bank
    /// publishes.
    #[serde(default)]
    currencies: Vec<String>,
    /// First day, YYYY-MM-DD.
    start: String,
    /// Last day, YYYY-MM-DD (the latest published when omitted).
    #[serde(default)]
    end: Option<String>,
}

/// The tax routes.
pub(crate) fn routes() -> Vec<Route<BrokersBundle>> {
    vec![
        route(
            "tax_load_fx_rates",
            "Stores daily CAD exchange rates (CAD per unit of currency) used to convert foreign trades: given `rates`, or `bank_of_canada` to fetch the Bank of Canada's published daily rates (Valet FX{CCY}CAD) for a range of days.",
            load_rates,
        )
        .writes(),
        route(
            "tax_acb",
            "Adjusted cost base by average cost per security with the superficial-loss rule, in CAD, from given trades or the paper fills.",
            acb,
        ),
        route(
            "tax_report_t5008",
            "T5008-style CSV of a tax year's dispositions (by settlement date, with trade and settlement dates), the Schedule 3 summary (totals are sums of the rows, cents rounded half away from zero), and optionally a PDF.",
            t5008,
        ),
    ]
}

/// The caller's paper fills as tax trades, oldest first, and how many
/// short-side fills were left out.
async fn fills_as_trades(
    bundle: &BrokersBundle,
    ctx: &ToolCtx,
) -> Result<(Vec<TaxTrade>, usize), ToolError> {
    let paper = bundle.paper(ctx).await?;
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

async fn load_rates(
    bundle: Arc<BrokersBundle>,
    a: RatesInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let (rows, source) = match (a.rates, a.bank_of_canada) {
        (Some(rates), None) => {
            let rows: Vec<(String, String, Decimal)> = rates
                .into_iter()
                .map(|r| (r.date, r.currency, r.rate))
                .collect();
            (rows, "given")
        }
        (None, Some(boc)) => (fetch_boc(&bundle, boc).await?, "bank-of-canada"),
        _ => {
            return Err(ToolError::invalid(
                "rates",
                "give either `rates` or `bank_of_canada`, not both",
            ));
        }
    };
    if rows.is_empty() || rows.len() > MAX_RATES {
        return Err(ToolError::invalid(
            if source == "given" {
                "rates"
            } else {
                "bank_of_canada"
            },
            format!(
                "{} rates: store 1 to {MAX_RATES} at a time (ask for fewer currencies or days)",
                rows.len()
            ),
        ));
    }
    let n = tax::store_rates(ctx.store.pool(), &rows).await?;
    let mut currencies: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    currencies.sort_unstable();
    currencies.dedup();
    let first = rows.iter().map(|r| r.0.as_str()).min().unwrap_or_default();
    let last = rows.iter().map(|r| r.0.as_str()).max().unwrap_or_default();
    Ok(ToolOutput::new(
        format!(
            "venue: paper — stored {n} daily CAD rates ({source}: {} from {first} to {last})",
            currencies.join(", ")
        ),
        json!({"stored": n, "source": source, "currencies": currencies, "first_day": first, "last_day": last}),
    ))
}

/// Most rates one call stores.
const MAX_RATES: usize = 10_000;

/// The Bank of Canada's daily rates asked for, as rows to store.
async fn fetch_boc(
    bundle: &BrokersBundle,
    boc: BocRequest,
) -> Result<Vec<(String, String, Decimal)>, ToolError> {
    let window = nt_valet::client::Window {
        start: Some(boc.start),
        end: boc.end,
        recent: None,
    };
    let rates = nt_valet::cad_rates(bundle.valet(), &boc.currencies, &window)
        .await
        .map_err(|e| match e {
            nt_valet::ValetError::Invalid { field, reason } => {
                ToolError::invalid(format!("bank_of_canada.{field}"), reason)
            }
            other => ToolError::upstream(other.to_string()),
        })?;
    Ok(rates
        .into_iter()
        .map(|r| (r.date, r.currency, r.rate))
        .collect())
}

async fn acb(
    bundle: Arc<BrokersBundle>,
    a: AcbInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let (trades, skipped, source) = match a.trades {
        Some(t) => (t, 0, "given trades"),
        None => {
            let (t, s) = fills_as_trades(&bundle, &ctx).await?;
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

async fn t5008(
    bundle: Arc<BrokersBundle>,
    a: T5008Input,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if !(1972..=9999).contains(&a.year) {
        return Err(ToolError::invalid("year", "must be 1972 or later"));
    }
    let (trades, skipped) = match a.trades {
        Some(t) => (t, 0),
        None => fills_as_trades(&bundle, &ctx).await?,
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
