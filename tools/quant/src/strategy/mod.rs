//! The strategies: typed, described parameters ([`StrategySpec`], one
//! variant per strategy, its JSON schema generated from the same types) and
//! their [`Strategy`](crate::backtest::Strategy) implementations. Every
//! strategy sees only the bars up to the one that just closed.

pub mod follow;
pub mod indicators;
pub mod pairs;
pub mod rules;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::Strategy;
use crate::error::{QuantError, Result};

pub use follow::{MirrorParams, SentimentParams, SentimentPoint, WeightPoint};
pub use pairs::PairsParams;
pub use rules::{BandMode, EmergencyParams, MeanReversionParams, MomentumParams, SwingParams};

/// A strategy and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StrategySpec {
    /// Time-series momentum: long when the trailing return beats a threshold, short (or flat) when it is below minus the threshold.
    Momentum(MomentumParams),
    /// Mean reversion on a z-score of price against its moving average, or Bollinger-band limit entries.
    MeanReversion(MeanReversionParams),
    /// Swing trading: fast/slow moving-average crossover entries with an ATR trailing stop.
    Swing(SwingParams),
    /// Emergency momentum: aggressive breakout entries (stop orders above the recent high) with a hard stop and a fast exit.
    EmergencyMomentum(EmergencyParams),
    /// Mirror: follow a given portfolio weight path for this symbol with a lag and a scale.
    Mirror(MirrorParams),
    /// News sentiment: trade a dated sentiment series (decayed sum of scores) against entry and exit thresholds.
    NewsSentiment(SentimentParams),
    /// Buy on the first bar and hold (the benchmark).
    BuyAndHold,
}

impl StrategySpec {
    /// The strategy's name as the tools spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Momentum(_) => "momentum",
            Self::MeanReversion(_) => "mean_reversion",
            Self::Swing(_) => "swing",
            Self::EmergencyMomentum(_) => "emergency_momentum",
            Self::Mirror(_) => "mirror",
            Self::NewsSentiment(_) => "news_sentiment",
            Self::BuyAndHold => "buy_and_hold",
        }
    }

    /// A ready-to-run strategy, after checking the parameters.
    pub fn build(&self) -> Result<Box<dyn Strategy>> {
        Ok(match self {
            Self::Momentum(p) => Box::new(rules::Momentum::new(p.clone())?),
            Self::MeanReversion(p) => Box::new(rules::MeanReversion::new(p.clone())?),
            Self::Swing(p) => Box::new(rules::Swing::new(p.clone())?),
            Self::EmergencyMomentum(p) => Box::new(rules::Emergency::new(p.clone())?),
            Self::Mirror(p) => Box::new(follow::Mirror::new(p.clone())?),
            Self::NewsSentiment(p) => Box::new(follow::Sentiment::new(p.clone())?),
            Self::BuyAndHold => Box::new(rules::BuyAndHold),
        })
    }

    /// One spec of each strategy that needs no outside series, with defaults.
    pub fn examples() -> Vec<Self> {
        vec![
            Self::Momentum(MomentumParams::default()),
            Self::MeanReversion(MeanReversionParams::default()),
            Self::MeanReversion(MeanReversionParams {
                mode: BandMode::Bollinger,
                ..Default::default()
            }),
            Self::Swing(SwingParams::default()),
            Self::EmergencyMomentum(EmergencyParams::default()),
            Self::BuyAndHold,
        ]
    }

    /// The numeric parameters an optimiser may tune: (name, current value).
    pub fn numeric_params(&self) -> Vec<(String, f64)> {
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) else {
            return vec![];
        };
        map.into_iter()
            .filter_map(|(k, v)| v.as_f64().map(|x| (k, x)))
            .collect()
    }

    /// This spec with parameter `name` set to `value` (rounded for integer
    /// parameters); an unknown name or a value the parameter cannot take is
    /// an error naming `params.<name>`.
    pub fn with_param(&self, name: &str, value: f64) -> Result<Self> {
        let field = format!("params.{name}");
        let mut v =
            serde_json::to_value(self).map_err(|e| QuantError::invalid(&field, e.to_string()))?;
        let slot = v.get_mut(name).filter(|s| s.is_number()).ok_or_else(|| {
            QuantError::invalid(
                &field,
                format!("`{}` has no numeric parameter `{name}`", self.kind()),
            )
        })?;
        *slot = if slot.is_u64() || slot.is_i64() {
            serde_json::json!(value.round().max(0.0) as u64)
        } else {
            serde_json::json!(value)
        };
        serde_json::from_value(v).map_err(|e| QuantError::invalid(&field, e.to_string()))
    }
}
