//! Adaptive risk: volatility targeting, drawdown de-risking and the
//! emergency kill rule.
//!
//! - Vol targeting: exposure for period t is `min(target / σ̂_{t-1}, max_leverage)`,
//!   with σ̂ the annualised sample deviation of the `window` returns before
//!   t (never including t).
//! - Drawdown de-risking: full exposure until the drawdown reaches `start`,
//!   then linearly down to `floor` at `max`, and `floor` beyond.
//! - Kill rule: stop trading when the drawdown from peak, one period's loss
//!   or the run of losing periods passes its limit. The rule is plain data
//!   (serde), so a broker-side compliance check can read the same limits
//!   from its configuration and apply [`KillRule::evaluate`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::metrics::drawdown_series;
use crate::error::{QuantError, Result};
use crate::stats::std_dev;

/// Exposure multipliers from volatility targeting, one per return (the
/// first `window` are 1: not enough history).
pub fn vol_target_scales(
    returns: &[f64],
    target: f64,
    window: usize,
    periods_per_year: f64,
    max_leverage: f64,
) -> Result<Vec<f64>> {
    if !(target > 0.0 && target <= 5.0) {
        return Err(QuantError::invalid("target_vol", "must be in (0, 5]"));
    }
    if !(2..=1000).contains(&window) || !(max_leverage > 0.0 && max_leverage <= 10.0) {
        return Err(QuantError::invalid(
            "window",
            "window must be 2-1000 and max_leverage in (0, 10]",
        ));
    }
    Ok((0..returns.len())
        .map(|t| {
            if t < window {
                return 1.0;
            }
            let s = std_dev(&returns[t - window..t]) * periods_per_year.sqrt();
            if s > 0.0 {
                (target / s).min(max_leverage)
            } else {
                max_leverage
            }
        })
        .collect())
}

/// Drawdown de-risking settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DrawdownDerisk {
    /// Drawdown where de-risking starts (0.05 = 5%).
    pub start: f64,
    /// Drawdown where exposure reaches the floor.
    pub max: f64,
    /// Least exposure multiplier.
    pub floor: f64,
}

impl Default for DrawdownDerisk {
    fn default() -> Self {
        Self {
            start: 0.05,
            max: 0.20,
            floor: 0.25,
        }
    }
}

impl DrawdownDerisk {
    /// The exposure multiplier at drawdown `dd`.
    pub fn multiplier(&self, dd: f64) -> f64 {
        if dd <= self.start {
            1.0
        } else if dd >= self.max {
            self.floor
        } else {
            1.0 - (1.0 - self.floor) * (dd - self.start) / (self.max - self.start)
        }
    }

    /// Checks the settings.
    pub fn check(&self) -> Result<()> {
        if !(0.0 <= self.start
            && self.start < self.max
            && self.max <= 1.0
            && (0.0..=1.0).contains(&self.floor))
        {
            return Err(QuantError::invalid(
                "drawdown",
                "need 0 <= start < max <= 1 and floor in [0, 1]",
            ));
        }
        Ok(())
    }
}

/// Applies vol targeting (optional) and drawdown de-risking to `returns`,
/// path by path: each period's exposure uses only earlier information.
/// Returns (adjusted returns, exposure used each period).
pub fn overlay(
    returns: &[f64],
    vol: Option<(f64, usize, f64)>,
    dd: Option<DrawdownDerisk>,
    periods_per_year: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let scales = match vol {
        Some((t, w, l)) => vol_target_scales(returns, t, w, periods_per_year, l)?,
        None => vec![1.0; returns.len()],
    };
    if let Some(d) = dd {
        d.check()?;
    }
    let (mut eq, mut peak) = (1.0f64, 1.0f64);
    let mut out = Vec::with_capacity(returns.len());
    let mut used = Vec::with_capacity(returns.len());
    for (r, s) in returns.iter().zip(scales) {
        let m = dd.map_or(1.0, |d| d.multiplier(1.0 - eq / peak));
        let e = s * m;
        let adj = e * r;
        eq *= 1.0 + adj;
        peak = peak.max(eq);
        out.push(adj);
        used.push(e);
    }
    Ok((out, used))
}

/// The emergency kill rule; zero disables a limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KillRule {
    /// Stop at this drawdown from the equity peak (0.2 = 20%).
    pub max_drawdown: f64,
    /// Stop after one period losing this fraction.
    pub max_period_loss: f64,
    /// Stop after this many losing periods in a row.
    pub max_consecutive_losses: u32,
}

impl Default for KillRule {
    fn default() -> Self {
        Self {
            max_drawdown: 0.20,
            max_period_loss: 0.07,
            max_consecutive_losses: 0,
        }
    }
}

/// What the kill rule decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KillDecision {
    /// Whether trading must stop.
    pub triggered: bool,
    /// The first point (index into the equity curve) where it fired.
    pub at: Option<usize>,
    /// Why, in words.
    pub reasons: Vec<String>,
}

impl KillRule {
    /// Checks the limits.
    pub fn check(&self) -> Result<()> {
        if !((0.0..1.0).contains(&self.max_drawdown) && (0.0..1.0).contains(&self.max_period_loss))
        {
            return Err(QuantError::invalid(
                "kill_rule",
                "max_drawdown and max_period_loss must be in [0, 1) (0 disables)",
            ));
        }
        Ok(())
    }

    /// Evaluates the rule over an equity curve (oldest first): at each
    /// point the drawdown from the running peak, the one-period return and
    /// the losing streak so far go through [`Self::judge`].
    pub fn evaluate(&self, equity: &[f64]) -> Result<KillDecision> {
        self.check()?;
        let dd = drawdown_series(equity);
        let mut streak = 0u32;
        for i in 0..equity.len() {
            let mut period_loss = 0.0;
            if i > 0 && equity[i - 1] > 0.0 {
                let r = equity[i] / equity[i - 1] - 1.0;
                streak = if r < 0.0 { streak + 1 } else { 0 };
                period_loss = (-r).max(0.0);
            }
            let reasons = self.judge(&KillFigures {
                drawdown: dd[i],
                period_loss,
                consecutive_losses: streak,
            });
            if !reasons.is_empty() {
                return Ok(KillDecision {
                    triggered: true,
                    at: Some(i),
                    reasons,
                });
            }
        }
        Ok(KillDecision {
            triggered: false,
            at: None,
            reasons: vec![],
        })
    }

    /// The limits `figures` reach, in words (empty: none). This is the one
    /// place the limits are compared, for an equity curve
    /// ([`Self::evaluate`]) and for figures a caller measured another way
    /// (a broker account's drawdown from its starting cash, its realized
    /// loss today, its run of losing closed trades).
    pub fn judge(&self, figures: &KillFigures) -> Vec<String> {
        let mut reasons = vec![];
        if self.max_drawdown > 0.0 && figures.drawdown >= self.max_drawdown {
            reasons.push(format!(
                "drawdown {:.2}% reached the limit {:.2}%",
                figures.drawdown * 100.0,
                self.max_drawdown * 100.0
            ));
        }
        if self.max_period_loss > 0.0 && figures.period_loss >= self.max_period_loss {
            reasons.push(format!(
                "one-period loss {:.2}% reached the limit {:.2}%",
                figures.period_loss * 100.0,
                self.max_period_loss * 100.0
            ));
        }
        if self.max_consecutive_losses > 0
            && figures.consecutive_losses >= self.max_consecutive_losses
        {
            reasons.push(format!(
                "{} losing periods in a row (limit {})",
                figures.consecutive_losses, self.max_consecutive_losses
            ));
        }
        reasons
    }
}

/// What the kill rule compares with its limits at one point.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct KillFigures {
    /// Fall from the peak (or the reference) as a fraction (0.25 = 25%).
    pub drawdown: f64,
    /// Loss over the last period as a fraction of the equity before it
    /// (0 when the period gained).
    pub period_loss: f64,
    /// Losing periods (or closed trades) in a row, up to now.
    pub consecutive_losses: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn vol_targeting_brings_realised_vol_near_the_target() {
        let mut rng = Rng::new(3);
        // Volatility switches from 10% to 40% a year halfway.
        let rs: Vec<f64> = (0..4000)
            .map(|i| rng.normal() * if i < 2000 { 0.10 } else { 0.40 } / 252f64.sqrt())
            .collect();
        let (adj, _) = overlay(&rs, Some((0.15, 60, 5.0)), None, 252.0).unwrap();
        for half in [&adj[100..2000], &adj[2100..]] {
            let v = std_dev(half) * 252f64.sqrt();
            assert!((v - 0.15).abs() < 0.02, "{v}");
        }
    }

    #[test]
    fn drawdown_derisking_is_linear_between_start_and_max() {
        let d = DrawdownDerisk {
            start: 0.1,
            max: 0.3,
            floor: 0.2,
        };
        assert_eq!(d.multiplier(0.05), 1.0);
        assert!((d.multiplier(0.2) - 0.6).abs() < 1e-12);
        assert_eq!(d.multiplier(0.5), 0.2);
    }

    #[test]
    fn the_kill_rule_fires_at_the_first_breach_with_reasons() {
        let rule = KillRule {
            max_drawdown: 0.10,
            max_period_loss: 0.0,
            max_consecutive_losses: 3,
        };
        let eq = [100.0, 101.0, 100.5, 100.0, 99.5, 98.0];
        let d = rule.evaluate(&eq).unwrap();
        assert_eq!(d.at, Some(4));
        assert!(d.reasons[0].contains("3 losing periods"));
        let d = KillRule {
            max_consecutive_losses: 0,
            ..rule
        }
        .evaluate(&[100.0, 120.0, 107.0])
        .unwrap();
        assert_eq!(d.at, Some(2)); // 107/120 = 10.8% drawdown
        let calm = KillRule::default()
            .evaluate(&[100.0, 101.0, 102.0])
            .unwrap();
        assert!(!calm.triggered);
    }
}
