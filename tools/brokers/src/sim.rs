//! The paper venue's simulated market: a seeded, deterministic price
//! process per symbol (two triangle waves of different periods plus hashed
//! noise around a base price), quotes with a spread, and candles sampled
//! from the same process. Everything is a pure function of
//! (seed, symbol, step), so a restart sees the same prices.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::types::{Candle, Instrument, Quote};

/// Parameters of the simulated market.
#[derive(Debug, Clone)]
pub struct SimMarket {
    /// Seed of the process.
    pub seed: u64,
    /// Milliseconds per price step.
    pub step_ms: i64,
    /// Full bid/ask spread in basis points of the price.
    pub spread_bps: Decimal,
    /// Base prices per symbol; others get a base derived from the seed.
    pub base_prices: BTreeMap<String, Decimal>,
}

impl Default for SimMarket {
    fn default() -> Self {
        Self {
            seed: 42,
            step_ms: 1000,
            spread_bps: Decimal::new(4, 0),
            base_prices: BTreeMap::new(),
        }
    }
}

fn hash64(seed: u64, symbol: &str, salt: i64) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(symbol.as_bytes());
    h.update(salt.to_le_bytes());
    let out = h.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&out[..8]);
    u64::from_le_bytes(bytes)
}

/// A triangle wave in [-1, 1] with period `period` steps.
fn triangle(step: i64, period: i64, offset: i64) -> Decimal {
    let phase = (step + offset).rem_euclid(period);
    let x = Decimal::from(phase) / Decimal::from(period);
    Decimal::from(4) * (x - Decimal::new(5, 1)).abs() - Decimal::ONE
}

/// Decimal places prices are quoted in: 5 for currency pairs, 2 otherwise.
pub fn price_dp(symbol: &str) -> u32 {
    if symbol.contains('_') { 5 } else { 2 }
}

impl SimMarket {
    /// The step a timestamp falls in.
    pub fn step_of(&self, ms: i64) -> i64 {
        ms.div_euclid(self.step_ms.max(1))
    }

    /// The base price of a symbol.
    pub fn base_price(&self, symbol: &str) -> Decimal {
        if let Some(price) = self.base_prices.get(symbol) {
            return *price;
        }
        let h = hash64(self.seed, symbol, -1);
        if symbol.contains('_') {
            Decimal::ONE + Decimal::from(h % 5000) / Decimal::from(10_000)
        } else {
            Decimal::from(20) + Decimal::from(h % 18_000) / Decimal::ONE_HUNDRED
        }
    }

    /// The last price at `step`.
    pub fn price_at(&self, symbol: &str, step: i64) -> Decimal {
        let base = self.base_price(symbol);
        let h = hash64(self.seed, symbol, -2);
        let slow = triangle(step, 21_600, (h % 21_600) as i64) * Decimal::new(3, 2);
        let fast = triangle(step, 600, (h % 600) as i64) * Decimal::new(1, 2);
        let n = hash64(self.seed, symbol, step) % 2001;
        let noise =
            (Decimal::from(n) - Decimal::from(1000)) / Decimal::from(1000) * Decimal::new(2, 3);
        let price = base * (Decimal::ONE + slow + fast + noise);
        let dp = price_dp(symbol);
        price.round_dp(dp).max(Decimal::new(1, dp))
    }

    /// Bid and ask around `last`.
    pub fn spread_around(&self, symbol: &str, last: Decimal) -> (Decimal, Decimal) {
        let dp = price_dp(symbol);
        let tick = Decimal::new(1, dp);
        let half = (last * self.spread_bps / Decimal::from(20_000))
            .round_dp(dp)
            .max(tick);
        ((last - half).max(tick), last + half)
    }

    /// The quote at `step`, or around a pinned `mark` when one is set.
    pub fn quote_at(&self, symbol: &str, step: i64, mark: Option<Decimal>) -> Quote {
        let last = mark.unwrap_or_else(|| self.price_at(symbol, step));
        let (bid, ask) = self.spread_around(symbol, last);
        Quote {
            symbol: symbol.to_string(),
            currency: Instrument::paper(symbol).currency,
            bid,
            ask,
            last,
            at_ms: step.saturating_mul(self.step_ms),
        }
    }

    /// `count` bars of `bar_ms` each, the last one ending at `now_ms`.
    pub fn candles(
        &self,
        symbol: &str,
        now_ms: i64,
        bar_ms: i64,
        count: u32,
        mark: Option<Decimal>,
    ) -> Vec<Candle> {
        let bar_ms = bar_ms.max(self.step_ms);
        let end = now_ms.div_euclid(bar_ms) * bar_ms;
        let mut out = Vec::with_capacity(count as usize);
        for i in (0..i64::from(count)).rev() {
            let start = end - i * bar_ms;
            let samples = 12i64;
            let mut prices = Vec::with_capacity(samples as usize + 1);
            for k in 0..=samples {
                let t = start + bar_ms * k / samples;
                prices.push(mark.unwrap_or_else(|| self.price_at(symbol, self.step_of(t))));
            }
            let open = prices[0];
            let close = prices[prices.len() - 1];
            let high = prices.iter().copied().max().unwrap_or(open);
            let low = prices.iter().copied().min().unwrap_or(open);
            let volume = Decimal::from(100 + hash64(self.seed, symbol, start) % 10_000);
            out.push(Candle {
                start_ms: start,
                open,
                high,
                low,
                close,
                volume: Some(volume),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_is_deterministic_bounded_and_seeded() {
        let a = SimMarket::default();
        let b = SimMarket {
            seed: 7,
            ..SimMarket::default()
        };
        let base = a.base_price("SHOP.TO");
        let mut differs = false;
        for step in 0..5_000 {
            let p = a.price_at("SHOP.TO", step);
            assert_eq!(p, a.price_at("SHOP.TO", step));
            assert!(
                p > base * Decimal::new(94, 2) && p < base * Decimal::new(106, 2),
                "{p} vs {base}"
            );
            differs |= p != b.price_at("SHOP.TO", step);
        }
        assert!(differs);
        let q = a.quote_at("EUR_USD", 10, None);
        assert!(q.bid < q.last && q.last < q.ask);
        assert_eq!(q.currency, "USD");
    }

    #[test]
    fn candles_hold_their_open_and_close() {
        let m = SimMarket::default();
        let bars = m.candles("AAPL", 10_000_000, 60_000, 5, None);
        assert_eq!(bars.len(), 5);
        for bar in &bars {
            assert!(bar.low <= bar.open && bar.open <= bar.high);
            assert!(bar.low <= bar.close && bar.close <= bar.high);
        }
        assert!(
            bars.windows(2)
                .all(|w| w[1].start_ms - w[0].start_ms == 60_000)
        );
    }
}
