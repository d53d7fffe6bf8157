//! The `risk` bundle's fixed-income tools: `bond_analytics`, `curve_fit`
//! and `curve_signal`.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use nt_quant::fixed_income::{Bond, fit_nss, two_ten_signal};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::RiskBundle;
use crate::error::tool_error;

/// The routes of this family.
pub(crate) fn routes() -> Vec<Route<RiskBundle>> {
    vec![
        route("bond_analytics", "Price (from a yield) or yield (from a price) of a coupon bond on a coupon date, with Macaulay and modified duration, convexity and DV01.", bond),
        route("curve_fit", "Fit a Nelson–Siegel–Svensson yield curve to (maturity in years, yield) points: the six parameters, the fit error, and the fitted yields at standard maturities.", curve).cpu_heavy(),
        route("curve_signal", "2s10s curve signal from 2-year and 10-year yield histories: current spread, inversion, z-score against the lookback, and steepener / flattener / none.", signal),
    ]
}

/// Input of `bond_analytics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BondInput {
    /// The bond.
    pub bond: Bond,
    /// Annual yield (0.05 = 5%); give this or `price`.
    #[serde(default)]
    pub yield_rate: Option<f64>,
    /// Price per 100 face; give this or `yield_rate`.
    #[serde(default)]
    pub price: Option<f64>,
}

async fn bond(_b: Arc<RiskBundle>, i: BondInput, _ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let f = match (i.yield_rate, i.price) {
        (Some(y), None) => i.bond.at_yield(y),
        (None, Some(p)) => i.bond.yield_for_price(p),
        _ => {
            return Err(ToolError::invalid(
                "yield_rate",
                "give exactly one of yield_rate and price",
            ));
        }
    }
    .map_err(tool_error)?;
    Ok(ToolOutput::new(
        format!(
            "price {:.4} at yield {:.4}%: Macaulay {:.4} y, modified {:.4}, convexity {:.4}, DV01 {:.5}",
            f.price,
            f.yield_rate * 100.0,
            f.macaulay_duration,
            f.modified_duration,
            f.convexity,
            f.dv01
        ),
        f,
    ))
}

/// One curve point.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Maturity in years.
    pub maturity: f64,
    /// Yield (0.045 = 4.5%).
    pub yield_rate: f64,
}

/// Input of `curve_fit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurveInput {
    /// At least 6 points.
    pub points: Vec<CurvePoint>,
}

async fn curve(_b: Arc<RiskBundle>, i: CurveInput, _ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let m: Vec<f64> = i.points.iter().map(|p| p.maturity).collect();
    let y: Vec<f64> = i.points.iter().map(|p| p.yield_rate).collect();
    let (nss, rmse) = fit_nss(&m, &y).map_err(tool_error)?;
    let std: Vec<_> = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0]
        .iter()
        .map(|t| json!({"maturity": t, "yield_rate": nss.yield_at(*t)}))
        .collect();
    Ok(ToolOutput::new(
        format!(
            "NSS fit over {} points, RMSE {:.2} bp: beta0 {:.5}, beta1 {:.5}, beta2 {:.5}, beta3 {:.5}, tau1 {:.3}, tau2 {:.3}; 2y {:.3}%, 10y {:.3}%",
            m.len(),
            rmse * 1e4,
            nss.beta0,
            nss.beta1,
            nss.beta2,
            nss.beta3,
            nss.tau1,
            nss.tau2,
            nss.yield_at(2.0) * 100.0,
            nss.yield_at(10.0) * 100.0
        ),
        json!({"params": nss, "rmse": rmse, "fitted": std}),
    ))
}

/// Input of `curve_signal`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalInput {
    /// 2-year yields, oldest first.
    pub yields_2y: Vec<f64>,
    /// 10-year yields, same dates.
    pub yields_10y: Vec<f64>,
    /// History used for the z-score (default 60).
    #[serde(default = "lookback")]
    pub lookback: usize,
    /// Signal threshold in standard deviations (default 2).
    #[serde(default = "entry")]
    pub entry_z: f64,
}

fn lookback() -> usize {
    60
}
fn entry() -> f64 {
    2.0
}

async fn signal(
    _b: Arc<RiskBundle>,
    i: SignalInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let s =
        two_ten_signal(&i.yields_2y, &i.yields_10y, i.lookback, i.entry_z).map_err(tool_error)?;
    Ok(ToolOutput::new(
        format!(
            "2s10s {:+.1} bp{}, z {:.2}: {}",
            s.spread * 1e4,
            if s.inverted { " (inverted)" } else { "" },
            s.z,
            s.signal
        ),
        s,
    ))
}
