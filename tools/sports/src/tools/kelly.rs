//! Kelly tools: one bet, and several simultaneous independent bets.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::SportsBundle;
use crate::error::SportsError;
use crate::kelly::{self, KellyBet, Sizing};
use crate::odds::{self, OddsFormat};

pub(crate) fn routes() -> Vec<Route<SportsBundle>> {
    vec![
        route(
            "kelly_stake",
            "Kelly stake for one bet: full-Kelly fraction (p·d − 1)/(d − 1), expected value, and the stake on a bankroll after the Kelly multiplier, a per-bet cap and a minimum stake.",
            stake,
        ),
        route(
            "kelly_portfolio",
            "Simultaneous Kelly for up to 12 independent bets settled together: maximises expected log growth over every joint outcome, then applies the multiplier, per-bet and total caps and the minimum stake (a bet under it is dropped and the rest optimised again). Compares with betting each alone.",
            portfolio,
        )
        .cpu_heavy(),
    ]
}

fn one() -> f64 {
    1.0
}

fn decimal_format() -> OddsFormat {
    OddsFormat::Decimal
}

fn sizing(
    fraction: f64,
    max_bet: Option<f64>,
    max_total: Option<f64>,
    min_stake: Option<Decimal>,
) -> Result<Sizing, ToolError> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(ToolError::invalid(
            "fraction",
            "the Kelly multiplier is in (0, 1] (0.5 = half Kelly)",
        ));
    }
    for (name, v) in [
        ("max_bet_fraction", max_bet),
        ("max_total_fraction", max_total),
    ] {
        if let Some(x) = v
            && !(x > 0.0 && x <= 1.0)
        {
            return Err(ToolError::invalid(
                name,
                "a share of the bankroll in (0, 1]",
            ));
        }
    }
    if min_stake.is_some_and(|m| m < Decimal::ZERO) {
        return Err(ToolError::invalid("min_stake", "cannot be negative"));
    }
    Ok(Sizing {
        fraction,
        max_bet_fraction: max_bet.unwrap_or(1.0),
        max_total_fraction: max_total.unwrap_or(1.0),
        min_stake: min_stake.unwrap_or_default(),
    })
}

/// Input of `kelly_stake`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StakeInput {
    /// Your probability that the bet wins, in (0, 1).
    probability: f64,
    /// The price offered.
    odds: String,
    /// How `odds` is written (default decimal).
    #[serde(default = "decimal_format")]
    format: OddsFormat,
    /// Bankroll to size the stake on.
    bankroll: Decimal,
    /// Kelly multiplier in (0, 1] (default 1 = full Kelly; 0.5 = half).
    #[serde(default = "one")]
    fraction: f64,
    /// Largest share of the bankroll on this bet.
    max_bet_fraction: Option<f64>,
    /// Stakes below this are not placed.
    min_stake: Option<Decimal>,
}

async fn stake(
    _b: Arc<SportsBundle>,
    input: StakeInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let d = odds::to_decimal(input.format, &input.odds, "odds")?;
    if !(input.probability > 0.0 && input.probability < 1.0) {
        return Err(ToolError::invalid(
            "probability",
            "must be strictly between 0 and 1",
        ));
    }
    if input.bankroll <= Decimal::ZERO {
        return Err(ToolError::invalid("bankroll", "must be positive"));
    }
    let s = sizing(
        input.fraction,
        input.max_bet_fraction,
        None,
        input.min_stake,
    )?;
    let f = kelly::single(input.probability, d);
    let sized = kelly::size(&[f], input.bankroll, &s).remove(0);
    let ev = odds::expected_value(input.probability, d);
    let text = if f == 0.0 {
        format!(
            "no edge: EV {:.4} per unit at {d}; Kelly says do not bet",
            ev
        )
    } else {
        format!(
            "Kelly fraction {:.4}; stake {} of {} (EV {:+.4} per unit)",
            f, sized.stake, input.bankroll, ev
        )
    };
    Ok(ToolOutput::new(
        text,
        json!({
            "decimal_odds": d, "probability": input.probability, "edge": ev, "expected_value_per_unit": ev,
            "kelly_fraction": odds::round(f, 10), "fraction_used": odds::round(sized.fraction, 10),
            "stake": sized.stake, "limited_by": sized.limited_by,
            "expected_log_growth": kelly::growth(&[KellyBet { p: input.probability, decimal: d }], &[sized.fraction]),
        }),
    ))
}

/// One bet of `kelly_portfolio`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PortfolioBet {
    /// A label to recognise it by.
    label: Option<String>,
    /// Probability it wins, in (0, 1).
    probability: f64,
    /// Decimal odds.
    odds: String,
}

/// Input of `kelly_portfolio`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PortfolioInput {
    /// The independent bets (1 to 12), settled at the same time.
    bets: Vec<PortfolioBet>,
    /// Bankroll.
    bankroll: Decimal,
    /// Kelly multiplier in (0, 1] (default 1).
    #[serde(default = "one")]
    fraction: f64,
    /// Largest share of the bankroll on one bet.
    max_bet_fraction: Option<f64>,
    /// Largest share of the bankroll on all bets together.
    max_total_fraction: Option<f64>,
    /// Stakes below this are not placed.
    min_stake: Option<Decimal>,
}

async fn portfolio(
    _b: Arc<SportsBundle>,
    input: PortfolioInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if input.bankroll <= Decimal::ZERO {
        return Err(ToolError::invalid("bankroll", "must be positive"));
    }
    let s = sizing(
        input.fraction,
        input.max_bet_fraction,
        input.max_total_fraction,
        input.min_stake,
    )?;
    let bets = input
        .bets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Ok(KellyBet {
                p: b.probability,
                decimal: odds::to_decimal(
                    OddsFormat::Decimal,
                    &b.odds,
                    &format!("bets[{i}].odds"),
                )?,
            })
        })
        .collect::<Result<Vec<_>, SportsError>>()?;
    let (full, sized) = kelly::portfolio(&bets, input.bankroll, &s, || {
        ctx.check_cancelled().map_err(|_| SportsError::Cancelled)
    })?;
    let used: Vec<f64> = sized.iter().map(|x| x.fraction).collect();
    let alone: Vec<f64> = bets.iter().map(|b| kelly::single(b.p, b.decimal)).collect();
    let rows: Vec<_> = input
        .bets
        .iter()
        .zip(&bets)
        .zip(sized.iter().zip(&alone))
        .enumerate()
        .map(|(i, ((pb, kb), (sz, single)))| {
            json!({
                "label": pb.label.clone().unwrap_or_else(|| format!("bet {}", i + 1)),
                "probability": kb.p, "decimal_odds": kb.decimal,
                "expected_value_per_unit": odds::round(odds::expected_value(kb.p, kb.decimal), 8),
                "kelly_alone": odds::round(*single, 8), "kelly_simultaneous": odds::round(full[i], 8),
                "fraction_used": odds::round(sz.fraction, 8), "stake": sz.stake, "limited_by": sz.limited_by,
            })
        })
        .collect();
    let total: Decimal = sized.iter().map(|x| x.stake).sum();
    let text = rows
        .iter()
        .map(|r| {
            format!(
                "{}: f={} stake {}",
                r["label"].as_str().unwrap_or(""),
                r["kelly_simultaneous"],
                r["stake"].as_str().unwrap_or("0")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolOutput::new(
        format!(
            "simultaneous Kelly over {} bets: total stake {total}\n{text}",
            bets.len()
        ),
        json!({
            "bets": rows, "total_stake": total, "bankroll": input.bankroll,
            "expected_log_growth": kelly::growth(&bets, &used),
            "expected_log_growth_full_kelly": kelly::growth(&bets, &full),
        }),
    ))
}
