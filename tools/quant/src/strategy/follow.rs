//! Strategies that follow an outside series: mirror (a given portfolio's
//! weight path, lagged and scaled) and news sentiment (dated scores). A
//! point dated on a bar's day counts from that bar's close on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::{Decision, PositionView, Strategy};
use crate::bars::{Bar, parse_day};
use crate::error::{QuantError, Result};

/// One point of a followed portfolio: from `date` on, hold `weight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightPoint {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Weight of this symbol in the followed portfolio (-3..3).
    pub weight: f64,
}

/// Mirror parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MirrorParams {
    /// The followed portfolio's weight of this symbol over time.
    pub weights: Vec<WeightPoint>,
    /// Bars between the followed trade and ours (0-250).
    #[serde(default = "one")]
    pub lag_bars: usize,
    /// Multiplier on the followed weight (0-3).
    #[serde(default = "unit")]
    pub scale: f64,
}

fn one() -> usize {
    1
}
fn unit() -> f64 {
    1.0
}

fn dated<T>(points: &[T], field: &str, date: impl Fn(&T) -> &str) -> Result<Vec<i64>> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            parse_day(date(p)).ok_or_else(|| {
                QuantError::invalid(format!("params.{field}[{i}].date"), "must be YYYY-MM-DD")
            })
        })
        .collect()
}

/// Mirror trader.
pub struct Mirror {
    path: Vec<(i64, f64)>,
    lag: usize,
    scale: f64,
}

impl Mirror {
    /// Checks the parameters.
    pub fn new(p: MirrorParams) -> Result<Self> {
        if p.weights.is_empty() {
            return Err(QuantError::invalid(
                "params.weights",
                "give at least one {date, weight}",
            ));
        }
        if p.lag_bars > 250 || !(0.0..=3.0).contains(&p.scale) {
            return Err(QuantError::invalid(
                "params.lag_bars",
                "lag_bars must be 0-250 and scale 0-3",
            ));
        }
        let days = dated(&p.weights, "weights", |w| &w.date)?;
        let mut path: Vec<(i64, f64)> = days
            .into_iter()
            .zip(p.weights.iter().map(|w| w.weight))
            .collect();
        if path.iter().any(|(_, w)| !(-3.0..=3.0).contains(w)) {
            return Err(QuantError::invalid(
                "params.weights",
                "weights must be within -3..3",
            ));
        }
        path.sort_by_key(|(d, _)| *d);
        Ok(Self {
            path,
            lag: p.lag_bars,
            scale: p.scale,
        })
    }
}

impl Strategy for Mirror {
    fn on_bar(&mut self, h: &[Bar], _p: &PositionView) -> Option<Decision> {
        let i = (h.len() - 1).checked_sub(self.lag)?;
        let day = h[i].day;
        let w = self.path.iter().take_while(|(d, _)| *d <= day).last()?.1;
        Some(Decision::market((w * self.scale).clamp(-3.0, 3.0)))
    }
}

/// One dated sentiment score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentimentPoint {
    /// `YYYY-MM-DD` the news was known.
    pub date: String,
    /// Score, -1 (very negative) to 1 (very positive).
    pub score: f64,
}

/// News-sentiment parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentimentParams {
    /// The sentiment series.
    pub sentiment: Vec<SentimentPoint>,
    /// Enter long above this decayed score (short below minus it).
    #[serde(default = "enter")]
    pub entry: f64,
    /// Exit when the decayed score is back within ±exit.
    #[serde(default)]
    pub exit: f64,
    /// Half-life of a score's weight in calendar days (0.1-365).
    #[serde(default = "half_life")]
    pub half_life_days: f64,
    /// Never short.
    #[serde(default)]
    pub long_only: bool,
}

fn enter() -> f64 {
    0.3
}
fn half_life() -> f64 {
    3.0
}

/// News-sentiment trader.
pub struct Sentiment {
    points: Vec<(i64, f64)>,
    p: SentimentParams,
}

impl Sentiment {
    /// Checks the parameters.
    pub fn new(p: SentimentParams) -> Result<Self> {
        if p.sentiment.is_empty() {
            return Err(QuantError::invalid(
                "params.sentiment",
                "give at least one {date, score}",
            ));
        }
        if !(p.entry > 0.0 && p.exit >= 0.0 && p.exit < p.entry) {
            return Err(QuantError::invalid(
                "params.entry",
                "need entry > exit >= 0",
            ));
        }
        if !(0.1..=365.0).contains(&p.half_life_days) {
            return Err(QuantError::invalid(
                "params.half_life_days",
                "must be 0.1-365",
            ));
        }
        let days = dated(&p.sentiment, "sentiment", |s| &s.date)?;
        let mut points: Vec<(i64, f64)> = days
            .into_iter()
            .zip(p.sentiment.iter().map(|s| s.score.clamp(-1.0, 1.0)))
            .collect();
        points.sort_by_key(|(d, _)| *d);
        Ok(Self { points, p })
    }

    /// The decayed score known at `day`.
    pub fn score_at(&self, day: i64) -> f64 {
        self.points
            .iter()
            .take_while(|(d, _)| *d <= day)
            .map(|(d, s)| s * 0.5f64.powf((day - d) as f64 / self.p.half_life_days))
            .sum()
    }
}

impl Strategy for Sentiment {
    fn on_bar(&mut self, h: &[Bar], pos: &PositionView) -> Option<Decision> {
        let s = self.score_at(h[h.len() - 1].day);
        if s > self.p.entry {
            Some(Decision::market(1.0))
        } else if s < -self.p.entry {
            Some(Decision::market(if self.p.long_only { 0.0 } else { -1.0 }))
        } else if pos.qty != 0.0 && s.abs() <= self.p.exit {
            Some(Decision::market(0.0))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::{BacktestConfig, run};
    use crate::bars::{BarSeries, format_day};

    fn flat(n: i64) -> BarSeries {
        let start = parse_day("2024-01-01").unwrap();
        let bars = (0..n)
            .map(|d| Bar {
                day: start + d,
                open: 10.0,
                high: 10.0,
                low: 10.0,
                close: 10.0,
                volume: 1.0,
            })
            .collect();
        BarSeries::new("X", "t", bars).unwrap()
    }

    #[test]
    fn mirror_follows_the_weight_path_after_the_lag_and_scaled() {
        let s = flat(10);
        let p = MirrorParams {
            weights: vec![
                WeightPoint {
                    date: format_day(s.bars[2].day),
                    weight: 0.5,
                },
                WeightPoint {
                    date: format_day(s.bars[6].day),
                    weight: 0.0,
                },
            ],
            lag_bars: 2,
            scale: 2.0,
        };
        let cfg = BacktestConfig {
            slippage_bps: 0.0,
            commission: Default::default(),
            ..Default::default()
        };
        let r = run(&s, &mut Mirror::new(p).unwrap(), &cfg).unwrap();
        // Seen at bar 2 + lag 2 = bar 4's close, filled at bar 5's open; out after bar 8.
        assert_eq!(r.fills[0].bar, 5);
        assert!((r.exposure[5] - 1.0).abs() < 1e-3);
        assert_eq!(r.fills[1].bar, 9);
    }

    #[test]
    fn sentiment_decays_by_half_life_and_drives_the_position() {
        let s = Sentiment::new(SentimentParams {
            sentiment: vec![SentimentPoint {
                date: "2024-01-03".into(),
                score: 0.8,
            }],
            entry: 0.3,
            exit: 0.1,
            half_life_days: 2.0,
            long_only: false,
        })
        .unwrap();
        let d = parse_day("2024-01-03").unwrap();
        assert_eq!(s.score_at(d - 1), 0.0);
        assert!((s.score_at(d + 2) - 0.4).abs() < 1e-12);
        let r = run(
            &flat(12),
            &mut Sentiment::new(s.p.clone()).unwrap(),
            &BacktestConfig::default(),
        )
        .unwrap();
        // Long from the close of 01-03 (bar 2), filled at bar 3; 0.8 * 0.5^(t/2) <= 0.1 from t = 6 days: out after bar 8.
        assert_eq!((r.fills[0].bar, r.fills[1].bar), (3, 9));
    }
}
