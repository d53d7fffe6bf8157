//! Price-rule strategies: momentum, mean reversion (z-score / Bollinger),
//! swing, emergency momentum and buy-and-hold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::{Decision, OrderKind, PositionView, Strategy};
use crate::bars::Bar;
use crate::error::{QuantError, Result};
use crate::strategy::indicators::{atr, lowest_low, sma, stdev};

fn need(ok: bool, field: &str, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(QuantError::invalid(format!("params.{field}"), rule))
    }
}

/// Momentum parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MomentumParams {
    /// Bars of trailing return (2-1000).
    pub lookback: usize,
    /// Return the trailing move must beat to enter (0.02 = 2%).
    pub threshold: f64,
    /// Stay flat instead of shorting on negative momentum.
    pub long_only: bool,
}

impl Default for MomentumParams {
    fn default() -> Self {
        Self {
            lookback: 20,
            threshold: 0.0,
            long_only: true,
        }
    }
}

/// Time-series momentum.
pub struct Momentum(MomentumParams);

impl Momentum {
    /// Checks the parameters.
    pub fn new(p: MomentumParams) -> Result<Self> {
        need(
            (2..=1000).contains(&p.lookback),
            "lookback",
            "must be 2-1000",
        )?;
        need(
            (0.0..=1.0).contains(&p.threshold),
            "threshold",
            "must be 0-1",
        )?;
        Ok(Self(p))
    }
}

impl Strategy for Momentum {
    fn on_bar(&mut self, h: &[Bar], _p: &PositionView) -> Option<Decision> {
        let n = self.0.lookback;
        if h.len() <= n {
            return None;
        }
        let r = h[h.len() - 1].close / h[h.len() - 1 - n].close - 1.0;
        let t = self.0.threshold;
        let target = if r > t {
            1.0
        } else if r < -t && !self.0.long_only {
            -1.0
        } else {
            0.0
        };
        Some(Decision::market(target))
    }
}

/// How mean reversion measures stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BandMode {
    /// Market orders on the z-score of the close.
    Zscore,
    /// Resting limit orders at the Bollinger bands (mean ± entry_z σ).
    Bollinger,
}

/// Mean-reversion parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MeanReversionParams {
    /// Bars in the moving mean and deviation (3-1000).
    pub window: usize,
    /// Enter when the close is this many deviations from the mean.
    pub entry_z: f64,
    /// Exit when back within this many deviations.
    pub exit_z: f64,
    /// Z-score (market orders) or Bollinger (limit orders at the band).
    pub mode: BandMode,
    /// Never short.
    pub long_only: bool,
}

impl Default for MeanReversionParams {
    fn default() -> Self {
        Self {
            window: 20,
            entry_z: 2.0,
            exit_z: 0.5,
            mode: BandMode::Zscore,
            long_only: false,
        }
    }
}

/// Mean reversion.
pub struct MeanReversion(MeanReversionParams);

impl MeanReversion {
    /// Checks the parameters.
    pub fn new(p: MeanReversionParams) -> Result<Self> {
        need((3..=1000).contains(&p.window), "window", "must be 3-1000")?;
        need(
            p.entry_z > 0.0 && p.entry_z <= 10.0,
            "entry_z",
            "must be in (0, 10]",
        )?;
        need(
            p.exit_z >= 0.0 && p.exit_z < p.entry_z,
            "exit_z",
            "must be >= 0 and below entry_z",
        )?;
        Ok(Self(p))
    }
}

impl Strategy for MeanReversion {
    fn on_bar(&mut self, h: &[Bar], pos: &PositionView) -> Option<Decision> {
        let p = &self.0;
        let (m, sd) = (sma(h, p.window)?, stdev(h, p.window)?);
        if sd <= 0.0 {
            return None;
        }
        let close = h[h.len() - 1].close;
        let z = (close - m) / sd;
        let short_ok = !p.long_only;
        if pos.qty != 0.0 {
            return (z.abs() < p.exit_z
                || (pos.qty > 0.0 && z > 0.0)
                || (pos.qty < 0.0 && z < 0.0))
                .then(|| Decision::market(0.0));
        }
        match p.mode {
            BandMode::Zscore => {
                if z < -p.entry_z {
                    Some(Decision::market(1.0))
                } else if z > p.entry_z && short_ok {
                    Some(Decision::market(-1.0))
                } else {
                    None
                }
            }
            BandMode::Bollinger => {
                // Rest a buy at the lower band (and a sell at the upper when shorting is on,
                // choosing the nearer band): re-issued each bar as the bands move.
                let lower = m - p.entry_z * sd;
                let upper = m + p.entry_z * sd;
                if short_ok && (upper - close) < (close - lower) {
                    Some(Decision {
                        target: -1.0,
                        kind: OrderKind::Limit { price: upper },
                        stop_loss: None,
                    })
                } else {
                    Some(Decision {
                        target: 1.0,
                        kind: OrderKind::Limit { price: lower },
                        stop_loss: None,
                    })
                }
            }
        }
    }
}

/// Swing parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SwingParams {
    /// Fast moving average (2-500 bars).
    pub fast: usize,
    /// Slow moving average (longer than fast, up to 1000).
    pub slow: usize,
    /// Bars in the average true range (2-500).
    pub atr_window: usize,
    /// Trailing stop distance in ATRs.
    pub stop_atr: f64,
}

impl Default for SwingParams {
    fn default() -> Self {
        Self {
            fast: 10,
            slow: 30,
            atr_window: 14,
            stop_atr: 2.5,
        }
    }
}

/// Swing trader: long while the fast average is above the slow, with a trailing ATR stop.
pub struct Swing {
    p: SwingParams,
    stop: Option<f64>,
    was_above: Option<bool>,
}

impl Swing {
    /// Checks the parameters.
    pub fn new(p: SwingParams) -> Result<Self> {
        need((2..=500).contains(&p.fast), "fast", "must be 2-500")?;
        need(
            p.slow > p.fast && p.slow <= 1000,
            "slow",
            "must be above fast and at most 1000",
        )?;
        need(
            (2..=500).contains(&p.atr_window),
            "atr_window",
            "must be 2-500",
        )?;
        need(
            p.stop_atr > 0.0 && p.stop_atr <= 20.0,
            "stop_atr",
            "must be in (0, 20]",
        )?;
        Ok(Self {
            p,
            stop: None,
            was_above: None,
        })
    }
}

impl Strategy for Swing {
    fn on_bar(&mut self, h: &[Bar], pos: &PositionView) -> Option<Decision> {
        let (f, s, a) = (
            sma(h, self.p.fast)?,
            sma(h, self.p.slow)?,
            atr(h, self.p.atr_window)?,
        );
        let close = h[h.len() - 1].close;
        let above = f > s;
        let crossed_up = above && self.was_above == Some(false);
        self.was_above = Some(above);
        if pos.qty > 0.0 {
            if !above {
                self.stop = None;
                return Some(Decision::market(0.0));
            }
            let trail = close - self.p.stop_atr * a;
            let stop = self.stop.map_or(trail, |s| s.max(trail));
            self.stop = Some(stop);
            return Some(Decision {
                target: 1.0,
                kind: OrderKind::Market,
                stop_loss: Some(stop),
            });
        }
        if crossed_up {
            let stop = close - self.p.stop_atr * a;
            self.stop = Some(stop);
            return Some(Decision {
                target: 1.0,
                kind: OrderKind::Market,
                stop_loss: Some(stop),
            });
        }
        None
    }
}

/// Emergency-momentum parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EmergencyParams {
    /// Breakout window: buy-stop just above the high of these bars (2-500).
    pub breakout_window: usize,
    /// Exit when the close falls under the low of these bars (2-500).
    pub exit_window: usize,
    /// Hard stop below the entry, as a fraction (0.05 = 5%).
    pub stop_pct: f64,
    /// Position size at entry as a multiple of the sized position (aggressive: up to 3).
    pub leverage: f64,
}

impl Default for EmergencyParams {
    fn default() -> Self {
        Self {
            breakout_window: 20,
            exit_window: 10,
            stop_pct: 0.05,
            leverage: 1.5,
        }
    }
}

/// Emergency momentum: breakout buy-stops, hard stops, fast exits.
pub struct Emergency(EmergencyParams);

impl Emergency {
    /// Checks the parameters.
    pub fn new(p: EmergencyParams) -> Result<Self> {
        need(
            (2..=500).contains(&p.breakout_window),
            "breakout_window",
            "must be 2-500",
        )?;
        need(
            (2..=500).contains(&p.exit_window),
            "exit_window",
            "must be 2-500",
        )?;
        need(
            p.stop_pct > 0.0 && p.stop_pct < 1.0,
            "stop_pct",
            "must be in (0, 1)",
        )?;
        need(
            p.leverage > 0.0 && p.leverage <= 3.0,
            "leverage",
            "must be in (0, 3]",
        )?;
        Ok(Self(p))
    }
}

impl Strategy for Emergency {
    fn on_bar(&mut self, h: &[Bar], pos: &PositionView) -> Option<Decision> {
        let p = &self.0;
        if pos.qty > 0.0 {
            let low = lowest_low(&h[..h.len() - 1], p.exit_window)?;
            return (h[h.len() - 1].close < low).then(|| Decision::market(0.0));
        }
        if h.len() < p.breakout_window {
            return None;
        }
        let high = h[h.len() - p.breakout_window..]
            .iter()
            .map(|b| b.high)
            .fold(f64::MIN, f64::max);
        let trigger = high * 1.001;
        Some(Decision {
            target: p.leverage,
            kind: OrderKind::Stop { price: trigger },
            stop_loss: Some(trigger * (1.0 - p.stop_pct)),
        })
    }
}

/// Buy and hold.
pub struct BuyAndHold;

impl Strategy for BuyAndHold {
    fn on_bar(&mut self, h: &[Bar], _p: &PositionView) -> Option<Decision> {
        (h.len() == 1).then(|| Decision::market(1.0))
    }
}
