//! The seeded synthetic market: geometric Brownian motion with Poisson
//! jumps (Merton 1976) and a two-state volatility regime (a Markov chain
//! switching between calm and stressed), on weekdays from a start date.
//! The same seed gives the same bars on every machine.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bars::{Bar, BarSeries, days_from_civil, format_day, is_weekend};
use crate::data::{BarProvider, BarRequest};
use crate::error::{QuantError, Result};
use crate::rng::Rng;

/// Parameters of the synthetic generator (annualised, 252 bars a year).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticParams {
    /// Random seed: the same seed gives the same bars.
    pub seed: u64,
    /// Number of bars (2-100000).
    pub bars: usize,
    /// First price.
    pub start_price: f64,
    /// Annual drift of log prices (0.07 = 7%).
    pub drift: f64,
    /// Annual volatility in the calm regime.
    pub calm_vol: f64,
    /// Annual volatility in the stressed regime.
    pub stressed_vol: f64,
    /// Daily probability of moving from calm to stressed.
    pub p_calm_to_stressed: f64,
    /// Daily probability of moving from stressed back to calm.
    pub p_stressed_to_calm: f64,
    /// Expected jumps a year.
    pub jumps_per_year: f64,
    /// Mean log jump size (-0.03 = a 3% drop on average).
    pub jump_mean: f64,
    /// Standard deviation of the log jump size.
    pub jump_std: f64,
    /// First session date, `YYYY-MM-DD` (weekends skipped).
    pub start_date: String,
}

impl Default for SyntheticParams {
    fn default() -> Self {
        Self {
            seed: 42,
            bars: 756,
            start_price: 100.0,
            drift: 0.07,
            calm_vol: 0.15,
            stressed_vol: 0.45,
            p_calm_to_stressed: 0.01,
            p_stressed_to_calm: 0.05,
            jumps_per_year: 3.0,
            jump_mean: -0.03,
            jump_std: 0.05,
            start_date: "2020-01-02".into(),
        }
    }
}

impl SyntheticParams {
    fn check(&self) -> Result<i64> {
        let bad = |f: &str, r: &str| Err(QuantError::invalid(f, r));
        if !(2..=100_000).contains(&self.bars) {
            return bad("bars", "must be 2-100000");
        }
        if !(self.start_price > 0.0 && self.start_price.is_finite()) {
            return bad("start_price", "must be positive");
        }
        for (f, v) in [
            ("calm_vol", self.calm_vol),
            ("stressed_vol", self.stressed_vol),
            ("jump_std", self.jump_std),
        ] {
            if !(0.0..=5.0).contains(&v) {
                return bad(f, "must be between 0 and 5");
            }
        }
        for (f, v) in [
            ("p_calm_to_stressed", self.p_calm_to_stressed),
            ("p_stressed_to_calm", self.p_stressed_to_calm),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(f, "must be a probability 0-1");
            }
        }
        if !(0.0..=252.0).contains(&self.jumps_per_year) {
            return bad("jumps_per_year", "must be 0-252");
        }
        if !self.drift.is_finite()
            || self.drift.abs() > 5.0
            || !self.jump_mean.is_finite()
            || self.jump_mean.abs() > 1.0
        {
            return bad("drift", "drift must be within ±5 and jump_mean within ±1");
        }
        crate::bars::parse_day(&self.start_date)
            .ok_or_else(|| QuantError::invalid("start_date", "must be YYYY-MM-DD"))
    }
}

/// Generates the series `params` describes for `symbol`.
pub fn generate(symbol: &str, params: &SyntheticParams) -> Result<BarSeries> {
    let mut day = params.check()?;
    let mut rng = Rng::new(params.seed);
    let dt: f64 = 1.0 / 252.0;
    let mut stressed = false;
    let mut close = params.start_price;
    let mut bars = Vec::with_capacity(params.bars);
    while is_weekend(day) {
        day += 1;
    }
    for _ in 0..params.bars {
        let switch = if stressed {
            params.p_stressed_to_calm
        } else {
            params.p_calm_to_stressed
        };
        if rng.unit() < switch {
            stressed = !stressed;
        }
        let vol = if stressed {
            params.stressed_vol
        } else {
            params.calm_vol
        };
        // Overnight gap carries a fifth of the day's variance, the session the rest.
        let gap = vol * (0.2 * dt).sqrt() * rng.normal();
        let mut jump = 0.0;
        for _ in 0..rng.poisson(params.jumps_per_year * dt) {
            jump += params.jump_mean + params.jump_std * rng.normal();
        }
        let open = close * (gap + jump).exp();
        let session =
            (params.drift - 0.5 * vol * vol) * dt + vol * (0.8 * dt).sqrt() * rng.normal();
        let new_close = open * session.exp();
        let range = vol * dt.sqrt() * 0.5;
        let high = open.max(new_close) * (range * rng.unit()).exp();
        let low = open.min(new_close) * (-range * rng.unit()).exp();
        let volume =
            (1_000_000.0 * if stressed { 2.0 } else { 1.0 } * (0.3 * rng.normal()).exp()).round();
        bars.push(Bar {
            day,
            open,
            high,
            low,
            close: new_close,
            volume,
        });
        close = new_close;
        day += 1;
        while is_weekend(day) {
            day += 1;
        }
    }
    BarSeries::new(
        symbol,
        format!(
            "synthetic(seed={}, from {})",
            params.seed,
            format_day(bars[0].day)
        ),
        bars,
    )
}

/// The synthetic provider: each symbol gets its own stream, seeded from the
/// configured seed and the symbol's name.
#[derive(Debug, Clone, Default)]
pub struct SyntheticProvider {
    /// Generator parameters (the seed is mixed with the symbol).
    pub params: SyntheticParams,
}

/// FNV-1a of a symbol, to give each symbol its own stream from one seed.
fn symbol_hash(symbol: &str) -> u64 {
    symbol.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[async_trait]
impl BarProvider for SyntheticProvider {
    fn name(&self) -> &str {
        "synthetic"
    }

    async fn bars(&self, req: &BarRequest) -> Result<BarSeries> {
        let mut params = self.params.clone();
        params.seed ^= symbol_hash(&req.symbol);
        if let Some(from) = req.from {
            params.start_date = format_day(from);
        }
        if let (Some(from), Some(to)) = (req.from, req.to) {
            let weekdays = (from..=to).filter(|d| !is_weekend(*d)).count();
            params.bars = weekdays.max(2);
        }
        let mut s = generate(&req.symbol, &params)?;
        s.source = format!("synthetic(seed={}, symbol-mixed)", self.params.seed);
        Ok(s)
    }
}

/// The default first day of synthetic data (2020-01-02).
pub fn default_start() -> i64 {
    days_from_civil(2020, 1, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{mean, std_dev};

    #[test]
    fn same_seed_same_bars_and_valid_ohlc() {
        let p = SyntheticParams {
            bars: 500,
            ..Default::default()
        };
        let a = generate("SYN", &p).unwrap();
        let b = generate("SYN", &p).unwrap();
        assert_eq!(a, b);
        let c = generate("SYN", &SyntheticParams { seed: 43, ..p }).unwrap();
        assert_ne!(a.bars, c.bars);
        assert!(a.bars.iter().all(|b| !is_weekend(b.day)));
    }

    #[test]
    fn without_jumps_or_regimes_the_log_returns_have_the_set_drift_and_vol() {
        // GBM: log returns ~ N((mu - s^2/2) dt, s^2 dt); over 100k bars the
        // sample moments sit within a few standard errors of those values.
        let p = SyntheticParams {
            bars: 100_000,
            drift: 0.10,
            calm_vol: 0.20,
            p_calm_to_stressed: 0.0,
            jumps_per_year: 0.0,
            ..Default::default()
        };
        let s = generate("SYN", &p).unwrap();
        let lr: Vec<f64> = s.closes().windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let vol = std_dev(&lr) * 252f64.sqrt();
        assert!((vol - 0.20).abs() < 0.002, "vol {vol}");
        let mu = mean(&lr) * 252.0 + 0.5 * vol * vol;
        // standard error of the annual drift over ~400 years is 0.2/sqrt(400) = 0.01
        assert!((mu - 0.10).abs() < 0.04, "drift {mu}");
    }

    #[test]
    fn regimes_raise_volatility_and_jumps_fatten_tails() {
        let calm = SyntheticParams {
            bars: 20_000,
            p_calm_to_stressed: 0.0,
            jumps_per_year: 0.0,
            ..Default::default()
        };
        let wild = SyntheticParams {
            p_calm_to_stressed: 0.02,
            jumps_per_year: 10.0,
            ..calm.clone()
        };
        let v = |p: &SyntheticParams| std_dev(&generate("S", p).unwrap().returns());
        assert!(v(&wild) > 1.3 * v(&calm));
    }
}
