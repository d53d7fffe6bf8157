//! Trading fees as Polymarket's CLOB V2 charges them: the one fee function
//! every part of this crate uses (arbitrage edge, the local CLOB's fills,
//! analytics, market-making quotes, Kelly sizing, `polymarket_fee_estimate`).
//!
//! Built against (read 2026-12):
//!
//! - Polymarket docs, *Trading → Fees* (<https://docs.polymarket.com/trading/fees>):
//!   `fee = C × feeRate × (p × (1 − p))^exponent` with `C` the shares
//!   traded and `p` their price; fees are set by the protocol per market and
//!   applied at match time (V2 orders carry no fee field); **makers are never
//!   charged, only takers pay**; fees are kept to 5 decimal places, the
//!   smallest fee charged being 0.00001 USDC, so an amount below that is no
//!   fee: the fee is rounded **down** (toward zero) to 5 decimals.
//! - Polymarket docs, *Builders → Builder Fees*
//!   (<https://docs.polymarket.com/builders/fees>): a builder fee is a flat
//!   percentage of trade notional (`shares × price`), set per builder code
//!   as a taker rate (at most 100 bps) and a maker rate (at most 50 bps),
//!   charged on top of the platform fee when an order carries that builder
//!   code. This module rounds it like the platform fee.
//! - The official client `py-clob-client-v2` (github Polymarket/py-clob-client-v2,
//!   commit b0a97fac, 2026-05-04) for where the numbers come from:
//!   `GET /clob-markets/{condition_id}` answers
//!   `{"t": [{"t": token_id, "o": outcome}, ...], "mts": tick, "nr": neg_risk,
//!   "fd": {"r": rate, "e": exponent, "to": taker_only}}` (no `fd`: no fee),
//!   `GET /markets-by-token/{token_id}` answers `{"condition_id": ...}`, and
//!   `GET /fees/builder-fees/{builder_code}` answers
//!   `{"builder_maker_fee_rate_bps": n, "builder_taker_fee_rate_bps": n}`.
//!   The client computes the same fee in its market-buy adjustment
//!   (`amount / price × rate × (p(1−p))^e`, plus `amount × builder taker rate`).
//!
//! Everything here is [`Decimal`]; the exponent is a whole number (the venue
//! documents 1 and 2), so the power is exact.

use std::collections::HashMap;
use std::sync::Mutex;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{PolymarketError, Result};
use crate::types::Side;

/// Decimal places the venue keeps on a fee.
pub const FEE_DP: u32 = 5;
/// Largest exponent accepted from a schedule.
pub const MAX_EXPONENT: u32 = 8;
/// Documented cap on a builder's taker fee rate (bps).
pub const MAX_BUILDER_TAKER_BPS: u32 = 100;
/// Documented cap on a builder's maker fee rate (bps).
pub const MAX_BUILDER_MAKER_BPS: u32 = 50;

/// Which side of a match an order was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Took liquidity (crossed the book): pays the platform fee.
    Taker,
    /// Rested on the book: pays no platform fee.
    Maker,
}

impl Role {
    /// `taker` or `maker`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Taker => "taker",
            Role::Maker => "maker",
        }
    }
}

/// A market's platform fee schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeeSchedule {
    /// `feeRate` (0.04 = 4 %), between 0 and 1.
    pub rate: Decimal,
    /// Exponent of `p(1 − p)`.
    pub exponent: u32,
    /// Whether only takers pay (the venue's `fd.to`; always true today).
    pub taker_only: bool,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self::ZERO
    }
}

impl FeeSchedule {
    /// No fee (fee-free markets).
    pub const ZERO: FeeSchedule = FeeSchedule {
        rate: Decimal::ZERO,
        exponent: 1,
        taker_only: true,
    };

    /// A taker-only schedule; `rate` in [0, 1], `exponent` at most
    /// [`MAX_EXPONENT`]. Errors name `fee_rate` / `fee_exponent`.
    pub fn new(rate: Decimal, exponent: u32) -> Result<Self> {
        if rate < Decimal::ZERO || rate > Decimal::ONE {
            return Err(PolymarketError::invalid(
                "fee_rate",
                format!("{rate} is outside 0..=1 (0.04 is 4 %)"),
            ));
        }
        if exponent > MAX_EXPONENT {
            return Err(PolymarketError::invalid(
                "fee_exponent",
                format!("{exponent} is above {MAX_EXPONENT}"),
            ));
        }
        Ok(Self {
            rate,
            exponent,
            taker_only: true,
        })
    }

    /// Reads the `fd` object of a `GET /clob-markets/{condition_id}` answer
    /// (`{"r": rate, "e": exponent, "to": taker_only}`); no `fd` means no fee.
    pub fn from_clob_market(market: &Value) -> Result<Self> {
        let Some(fd) = market.get("fd").filter(|v| !v.is_null()) else {
            return Ok(Self::ZERO);
        };
        let rate = json_decimal(fd.get("r"), "fd.r")?.unwrap_or_default();
        let exponent = match json_decimal(fd.get("e"), "fd.e")? {
            None => 1,
            Some(e) if e.fract().is_zero() && e >= Decimal::ZERO => {
                e.to_u32().ok_or_else(|| {
                    PolymarketError::Upstream(format!("fee exponent {e} is out of range"))
                })?
            }
            Some(e) => {
                return Err(PolymarketError::Upstream(format!(
                    "fee exponent {e} is not a whole number"
                )));
            }
        };
        let mut s = Self::new(rate, exponent)
            .map_err(|e| PolymarketError::Upstream(format!("venue fee schedule: {e}")))?;
        s.taker_only = fd.get("to").and_then(Value::as_bool).unwrap_or(true);
        Ok(s)
    }

    /// `(p(1 − p))^exponent`, exact.
    pub fn curve(&self, price: Decimal) -> Decimal {
        let base = price * (Decimal::ONE - price);
        (0..self.exponent).fold(Decimal::ONE, |acc, _| acc * base)
    }

    /// The taker's fee per share at `price`, unrounded (for per-set edges).
    pub fn per_share(&self, price: Decimal) -> Decimal {
        self.rate * self.curve(price)
    }

    /// The platform fee on `shares` at `price` for `role`, rounded down to
    /// [`FEE_DP`] places as the venue does; a maker pays 0 (taker-only).
    pub fn platform_fee(&self, role: Role, shares: Decimal, price: Decimal) -> Decimal {
        if role == Role::Maker && self.taker_only {
            return Decimal::ZERO;
        }
        round_fee(shares * self.per_share(price))
    }

    /// Upper bound of the taker fee for a buy of `shares` limited at
    /// `limit`: the curve rises up to 0.5, so any fill at or below the limit
    /// pays at most the fee at `min(limit, 0.5)`.
    pub fn max_buy_fee(&self, shares: Decimal, limit: Decimal) -> Decimal {
        self.platform_fee(Role::Taker, shares, limit.min(Decimal::new(5, 1)))
    }
}

/// A builder code's fee rates in basis points of notional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BuilderRates {
    /// Charged when the order takes (at most 100 bps).
    pub taker_bps: Decimal,
    /// Charged when the order rests and is hit (at most 50 bps).
    pub maker_bps: Decimal,
}

impl BuilderRates {
    /// Checked rates; errors name `builder_taker_bps` / `builder_maker_bps`.
    pub fn new(taker_bps: Decimal, maker_bps: Decimal) -> Result<Self> {
        for (field, v, cap) in [
            ("builder_taker_bps", taker_bps, MAX_BUILDER_TAKER_BPS),
            ("builder_maker_bps", maker_bps, MAX_BUILDER_MAKER_BPS),
        ] {
            if v < Decimal::ZERO || v > Decimal::from(cap) || !v.fract().is_zero() {
                return Err(PolymarketError::invalid(
                    field,
                    format!("{v} must be a whole number of bps from 0 to {cap}"),
                ));
            }
        }
        Ok(Self {
            taker_bps,
            maker_bps,
        })
    }

    /// Reads a `GET /fees/builder-fees/{code}` answer.
    pub fn from_json(v: &Value) -> Result<Self> {
        let t = json_decimal(
            v.get("builder_taker_fee_rate_bps"),
            "builder_taker_fee_rate_bps",
        )?;
        let m = json_decimal(
            v.get("builder_maker_fee_rate_bps"),
            "builder_maker_fee_rate_bps",
        )?;
        Self::new(t.unwrap_or_default(), m.unwrap_or_default())
            .map_err(|e| PolymarketError::Upstream(format!("venue builder fee rates: {e}")))
    }

    /// The builder fee on `shares` at `price` for `role`: notional × bps /
    /// 10 000, rounded down to [`FEE_DP`] places.
    pub fn fee(&self, role: Role, shares: Decimal, price: Decimal) -> Decimal {
        let bps = match role {
            Role::Taker => self.taker_bps,
            Role::Maker => self.maker_bps,
        };
        round_fee(shares * price * bps / Decimal::from(10_000))
    }
}

/// Rounds a fee as the venue does: down to [`FEE_DP`] places.
pub fn round_fee(fee: Decimal) -> Decimal {
    fee.max(Decimal::ZERO)
        .round_dp_with_strategy(FEE_DP, RoundingStrategy::ToZero)
        .normalize()
}

/// Where a schedule came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeeSource {
    /// Read from the venue (`endpoint`), at `fetched_ms`.
    Venue {
        /// The request, e.g. `GET /clob-markets/0x..`.
        endpoint: String,
        /// When it was read (ms since epoch).
        fetched_ms: i64,
        /// Answered from the cache rather than a fresh request.
        cached: bool,
    },
    /// The local CLOB's schedule for that market (its configured default
    /// unless set per market).
    LocalClob,
    /// Given in the call.
    Input,
}

impl FeeSource {
    /// One line for answers' text.
    pub fn describe(&self) -> String {
        match self {
            FeeSource::Venue {
                endpoint, cached, ..
            } => format!("venue {endpoint}{}", if *cached { " (cached)" } else { "" }),
            FeeSource::LocalClob => "local CLOB schedule".into(),
            FeeSource::Input => "given in the call".into(),
        }
    }
}

/// What one fill would cost in fees.
#[derive(Debug, Clone, Serialize)]
pub struct FeeEstimate {
    /// Taker or maker.
    pub role: Role,
    /// Buy or sell.
    pub side: Side,
    /// Price per share.
    pub price: Decimal,
    /// Shares.
    pub shares: Decimal,
    /// `shares × price` (USDC).
    pub notional: Decimal,
    /// Platform fee (USDC).
    pub platform_fee: Decimal,
    /// Builder fee (USDC), 0 without a builder code.
    pub builder_fee: Decimal,
    /// `platform_fee + builder_fee`.
    pub total_fee: Decimal,
    /// `total_fee / notional` (6 dp).
    pub effective_rate: Decimal,
    /// The platform schedule applied.
    pub schedule: FeeSchedule,
    /// Where it came from.
    pub schedule_source: FeeSource,
    /// Builder rates applied, if a builder code was set.
    pub builder: Option<BuilderRates>,
}

/// Fees on one fill of `shares` at `price`. Price must be inside (0, 1)
/// and shares positive (errors name `price` / `size`).
pub fn estimate(
    schedule: FeeSchedule,
    source: FeeSource,
    builder: Option<BuilderRates>,
    role: Role,
    side: Side,
    price: Decimal,
    shares: Decimal,
) -> Result<FeeEstimate> {
    if price <= Decimal::ZERO || price >= Decimal::ONE {
        return Err(PolymarketError::invalid("price", "must be between 0 and 1"));
    }
    if shares <= Decimal::ZERO {
        return Err(PolymarketError::invalid("size", "must be positive"));
    }
    let notional = shares * price;
    let platform_fee = schedule.platform_fee(role, shares, price);
    let builder_fee = builder
        .map(|b| b.fee(role, shares, price))
        .unwrap_or_default();
    let total_fee = platform_fee + builder_fee;
    Ok(FeeEstimate {
        role,
        side,
        price,
        shares,
        notional,
        platform_fee,
        builder_fee,
        total_fee,
        effective_rate: (total_fee / notional).round_dp(6).normalize(),
        schedule,
        schedule_source: source,
        builder,
    })
}

/// Fee schedules read from the venue, per condition id (or token id), kept
/// for `ttl_ms`.
#[derive(Debug)]
pub struct FeeCache {
    ttl_ms: i64,
    entries: Mutex<HashMap<String, (FeeSchedule, i64)>>,
}

impl FeeCache {
    /// An empty cache whose entries live `ttl_ms`.
    pub fn new(ttl_ms: i64) -> Self {
        Self {
            ttl_ms,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The schedule stored for `key` and when it was read, if younger than the TTL at `now_ms`.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<(FeeSchedule, i64)> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(_, at)| now_ms - at < self.ttl_ms)
            .copied()
    }

    /// Stores `schedule` for `key`, read at `now_ms`.
    pub fn put(&self, key: &str, schedule: FeeSchedule, now_ms: i64) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(key.to_string(), (schedule, now_ms));
    }
}

/// Default time a venue fee schedule is trusted before it is read again.
pub const DEFAULT_FEE_TTL_MS: i64 = 5 * 60 * 1000;

/// The platform fee schedule of `condition_id` from the venue
/// (`GET /clob-markets/{condition_id}`), through `cache`.
pub async fn venue_schedule(
    clob: &crate::rest::ClobClient,
    cache: &FeeCache,
    condition_id: &str,
    now_ms: i64,
) -> Result<(FeeSchedule, FeeSource)> {
    let endpoint = format!("GET /clob-markets/{condition_id}");
    if let Some((schedule, at)) = cache.get(condition_id, now_ms) {
        return Ok((
            schedule,
            FeeSource::Venue {
                endpoint,
                fetched_ms: at,
                cached: true,
            },
        ));
    }
    let info = clob.clob_market(condition_id).await?;
    let schedule = FeeSchedule::from_clob_market(&info)?;
    cache.put(condition_id, schedule, now_ms);
    Ok((
        schedule,
        FeeSource::Venue {
            endpoint,
            fetched_ms: now_ms,
            cached: false,
        },
    ))
}

/// The condition id of `token_id` from the venue
/// (`GET /markets-by-token/{token_id}`).
pub async fn venue_condition_of(clob: &crate::rest::ClobClient, token_id: &str) -> Result<String> {
    let v = clob.market_by_token(token_id).await?;
    v.get("condition_id")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            PolymarketError::Upstream(format!("no condition id for token {token_id}: {v}"))
        })
}

/// A builder code's fee rates from the venue
/// (`GET /fees/builder-fees/{code}`); `None` for the zero code.
pub async fn venue_builder_rates(
    clob: &crate::rest::ClobClient,
    builder_code: &str,
) -> Result<Option<BuilderRates>> {
    let zero = builder_code
        .trim_start_matches("0x")
        .chars()
        .all(|c| c == '0');
    if zero {
        return Ok(None);
    }
    let v = clob.builder_fees(builder_code).await?;
    BuilderRates::from_json(&v).map(Some)
}

/// An override schedule from a tool's `fee_bps` (rate = bps / 10 000) and
/// `fee_exponent` (default 1).
pub fn schedule_from_bps(bps: Decimal, exponent: Option<u32>) -> Result<FeeSchedule> {
    if bps < Decimal::ZERO || bps > Decimal::from(10_000) {
        return Err(PolymarketError::invalid(
            "fee_bps",
            format!("{bps} is outside 0..=10000"),
        ));
    }
    FeeSchedule::new(bps / Decimal::from(10_000), exponent.unwrap_or(1))
}

fn json_decimal(v: Option<&Value>, field: &str) -> Result<Option<Decimal>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => crate::types::parse_decimal(field, &n.to_string())
            .map(Some)
            .map_err(|e| PolymarketError::Upstream(e.to_string())),
        Some(Value::String(s)) => crate::types::parse_decimal(field, s)
            .map(Some)
            .map_err(|e| PolymarketError::Upstream(e.to_string())),
        Some(other) => Err(PolymarketError::Upstream(format!(
            "`{field}` is not a number: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn s(rate: Decimal, e: u32) -> FeeSchedule {
        FeeSchedule::new(rate, e).expect("schedule")
    }

    #[test]
    fn exponent_one_hand_worked() {
        // rate 0.04, exponent 1, 100 shares:
        // p = 0.5:  0.5 × 0.5   = 0.25   → 100 × 0.04 × 0.25   = 1.00000
        // p = 0.1:  0.1 × 0.9   = 0.09   → 100 × 0.04 × 0.09   = 0.36000
        // p = 0.99: 0.99 × 0.01 = 0.0099 → 100 × 0.04 × 0.0099 = 0.03960
        let f = s(dec!(0.04), 1);
        assert_eq!(f.platform_fee(Role::Taker, dec!(100), dec!(0.5)), dec!(1));
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(100), dec!(0.1)),
            dec!(0.36)
        );
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(100), dec!(0.99)),
            dec!(0.0396)
        );
    }

    #[test]
    fn exponent_two_hand_worked() {
        // rate 0.25, exponent 2, 100 shares:
        // p = 0.5:  0.25²   = 0.0625     → 100 × 0.25 × 0.0625     = 1.56250
        // p = 0.1:  0.09²   = 0.0081     → 100 × 0.25 × 0.0081     = 0.20250
        // p = 0.99: 0.0099² = 0.00009801 → 100 × 0.25 × 0.00009801 = 0.00245025 → 0.00245
        let f = s(dec!(0.25), 2);
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(100), dec!(0.5)),
            dec!(1.5625)
        );
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(100), dec!(0.1)),
            dec!(0.2025)
        );
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(100), dec!(0.99)),
            dec!(0.00245)
        );
    }

    #[test]
    fn rounds_down_to_five_places_and_makers_pay_nothing() {
        // 13 × 0.25 × 0.00009801 = 0.0003185325: down to 0.00031 (half-up would give 0.00032).
        let f = s(dec!(0.25), 2);
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(13), dec!(0.99)),
            dec!(0.00031)
        );
        // 1 × 0.25 × 0.00009801 = 0.0000245 → 0.00002; 0.1 share → 0.00000245 → 0.
        assert_eq!(
            f.platform_fee(Role::Taker, dec!(1), dec!(0.99)),
            dec!(0.00002)
        );
        assert_eq!(f.platform_fee(Role::Taker, dec!(0.1), dec!(0.99)), dec!(0));
        assert_eq!(f.platform_fee(Role::Maker, dec!(100), dec!(0.5)), dec!(0));
        // Buy bound: a buy limited at 0.7 may fill at 0.5, the curve's top.
        assert_eq!(f.max_buy_fee(dec!(100), dec!(0.7)), dec!(1.5625));
        assert_eq!(f.max_buy_fee(dec!(100), dec!(0.1)), dec!(0.2025));
    }

    #[test]
    fn builder_fee_is_bps_of_notional_on_top() {
        // 100 shares at 0.40 = 40 USDC notional; taker 100 bps → 0.40, maker 50 bps → 0.20.
        let b = BuilderRates::new(dec!(100), dec!(50)).expect("rates");
        let e = estimate(
            s(dec!(0.04), 1),
            FeeSource::Input,
            Some(b),
            Role::Taker,
            Side::Buy,
            dec!(0.40),
            dec!(100),
        )
        .expect("estimate");
        // platform: 100 × 0.04 × 0.24 = 0.96; total 1.36 on 40 → 0.034.
        assert_eq!(e.platform_fee, dec!(0.96));
        assert_eq!(e.builder_fee, dec!(0.4));
        assert_eq!(e.total_fee, dec!(1.36));
        assert_eq!(e.effective_rate, dec!(0.034));
        assert_eq!(b.fee(Role::Maker, dec!(100), dec!(0.40)), dec!(0.2));
        assert!(BuilderRates::new(dec!(101), dec!(0)).is_err());
        let err = BuilderRates::new(dec!(0), dec!(51)).expect_err("cap");
        assert!(err.to_string().contains("builder_maker_bps"));
    }

    #[test]
    fn reads_the_clob_market_fee_object() {
        let v = json!({"t": [{"t": "1", "o": "Yes"}], "mts": 0.01, "nr": false,
                        "fd": {"r": 0.03, "e": 2, "to": true}});
        assert_eq!(
            FeeSchedule::from_clob_market(&v).expect("fd"),
            s(dec!(0.03), 2)
        );
        let none = json!({"t": [], "mts": "0.01"});
        assert_eq!(
            FeeSchedule::from_clob_market(&none).expect("none"),
            FeeSchedule::ZERO
        );
        let float_e = json!({"fd": {"r": "0.0175", "e": 1.0}});
        assert_eq!(
            FeeSchedule::from_clob_market(&float_e).expect("1.0"),
            s(dec!(0.0175), 1)
        );
        assert!(FeeSchedule::from_clob_market(&json!({"fd": {"r": 0.1, "e": 1.5}})).is_err());
        assert!(FeeSchedule::new(dec!(1.5), 1).is_err());
        let b = BuilderRates::from_json(
            &json!({"builder_maker_fee_rate_bps": 10, "builder_taker_fee_rate_bps": 25}),
        )
        .expect("builder");
        assert_eq!(b, BuilderRates::new(dec!(25), dec!(10)).expect("b"));
    }

    #[test]
    fn estimate_checks_inputs_and_cache_expires() {
        let err = estimate(
            FeeSchedule::ZERO,
            FeeSource::Input,
            None,
            Role::Taker,
            Side::Buy,
            dec!(1),
            dec!(1),
        )
        .expect_err("price");
        assert!(err.to_string().contains("price"));
        let cache = FeeCache::new(1_000);
        cache.put("m", s(dec!(0.04), 1), 10);
        assert!(cache.get("m", 500).is_some());
        assert!(cache.get("m", 1_010).is_none());
    }
}
