//! Yield maths, Beefy's conventions (beefyfinance/beefy-api
//! `src/utils/compound.ts`, `getFarmWithTradingFeesApy.ts`,
//! `getTradingFeeApr`):
//!
//! * the vault compounds the farm APR after Beefy's performance fee
//!   `compoundings_per_year` times a year (`BASE_HPY` = 2190, six harvests a
//!   day): `vaultApr = farmApr·(1 − fee)`,
//!   `vaultApy = (1 + farmApr·(1 − fee)/n)^n − 1`;
//! * LP trading fees accrue to the LP itself and are not re-compounded by
//!   the vault: `totalApy = (1 + vaultApy)·(1 + tradingApr) − 1`, with
//!   `tradingApr = dailyVolume·lpFee·365 / liquidity`;
//! * other non-compounded parts (liquid staking, composable pool, Merkl) and
//!   a boost's reward APR are simple and add on.
//!
//! Impermanent loss of a two-asset 50/50 constant-product pool
//! (`x·y = k`) after the price ratio moves by `r`: `2·√r / (1 + r) − 1`.
//!
//! Rates are ratios in `f64` (`0.12` = 12 %); money is `Decimal`.

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::Serialize;

use crate::error::{DefiError, Result};

/// Beefy's default harvests per year (`BASE_HPY`).
pub const BASE_HPY: f64 = 2190.0;
/// Seconds in Beefy's year (365 days).
pub const SECONDS_PER_YEAR: f64 = 31_536_000.0;
/// Milliseconds in a 365-day year.
pub const MS_PER_YEAR: f64 = SECONDS_PER_YEAR * 1000.0;

/// Beefy's `compound(r, n, t, c)`: `(1 + r·c/n)^(n·t) − 1`.
pub fn compound(r: f64, n: f64, t: f64, c: f64) -> f64 {
    if n <= 0.0 {
        return r * c * t;
    }
    (1.0 + r * c / n).powf(n * t) - 1.0
}

/// The farm APR Beefy reports as `vaultApr`: after the performance fee.
pub fn vault_apr(farm_apr: f64, performance_fee: f64) -> f64 {
    farm_apr * (1.0 - performance_fee)
}

/// `vaultApy` from the farm APR before fees, fee and harvests per year.
pub fn vault_apy(farm_apr: f64, performance_fee: f64, compoundings_per_year: f64) -> f64 {
    compound(farm_apr, compoundings_per_year, 1.0, 1.0 - performance_fee)
}

/// APY of an APR already after fees (`vaultApr`) compounded `n` times a year.
pub fn apr_to_apy(apr: f64, n: f64) -> f64 {
    compound(apr, n, 1.0, 1.0)
}

/// The LP trading-fee APR: `daily_volume · lp_fee · 365 / liquidity`.
pub fn lp_fee_apr(daily_volume_usd: f64, lp_fee: f64, liquidity_usd: f64) -> Result<f64> {
    if liquidity_usd <= 0.0 {
        return Err(DefiError::invalid("liquidity_usd", "must be positive"));
    }
    Ok(daily_volume_usd * lp_fee * 365.0 / liquidity_usd)
}

/// Beefy's total: `(1 + vaultApy)·(1 + tradingApr) − 1 + simple`, where
/// `simple` is the sum of the non-compounded parts.
pub fn total_apy(vault_apy: f64, trading_apr: f64, simple: f64) -> f64 {
    (1.0 + vault_apy) * (1.0 + trading_apr) - 1.0 + simple
}

/// A boost's reward APR: rewards paid a year in USD over the USD value staked.
/// `reward_per_second` and `staked_moo` are in whole tokens; `ppfs` is want
/// per moo token; prices in USD.
pub fn boost_apr(
    reward_per_second: f64,
    reward_price: f64,
    staked_moo: f64,
    ppfs: f64,
    want_price: f64,
) -> Option<f64> {
    let staked_usd = staked_moo * ppfs * want_price;
    (staked_usd > 0.0).then(|| reward_per_second * SECONDS_PER_YEAR * reward_price / staked_usd)
}

/// Growth factor of a vault share over `dt_ms` at `apy`: `(1 + apy)^(dt/year)`.
pub fn growth(apy: f64, dt_ms: i64) -> f64 {
    if dt_ms <= 0 {
        return 1.0;
    }
    (1.0 + apy).powf(dt_ms as f64 / MS_PER_YEAR)
}

/// Yield on `amount` over `days` at `apy`: `amount·((1 + apy)^(days/365) − 1)`.
pub fn projected_yield(amount: Decimal, apy: f64, days: f64) -> Decimal {
    let factor = (1.0 + apy).powf(days / 365.0) - 1.0;
    mul_f64(amount, factor)
}

/// `amount · factor` in `Decimal`, rounded to 8 places.
pub fn mul_f64(amount: Decimal, factor: f64) -> Decimal {
    let f = Decimal::from_f64(factor).unwrap_or_default();
    (amount * f).round_dp(8)
}

/// `Decimal` to `f64` (0 when out of range).
pub fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Impermanent loss of a 50/50 constant-product LP when the price of asset A
/// in B moves by `price_ratio` (new / old): `2·√r/(1+r) − 1` (≤ 0).
pub fn impermanent_loss(price_ratio: f64) -> Result<f64> {
    if !(price_ratio.is_finite() && price_ratio > 0.0) {
        return Err(DefiError::invalid(
            "price_ratio",
            "must be a positive number",
        ));
    }
    Ok(2.0 * price_ratio.sqrt() / (1.0 + price_ratio) - 1.0)
}

/// An LP position's value against holding, after the price of A moves.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IlReport {
    /// New price of A / old price of A (B's price fixed).
    pub price_ratio: f64,
    /// `2√r/(1+r) − 1`.
    pub impermanent_loss: f64,
    /// Value if the two assets had been held.
    pub hold_value: Decimal,
    /// Value of the LP position (no fees).
    pub lp_value: Decimal,
    /// Value of the LP position with the fee APY earned over `days`.
    pub lp_value_with_fees: Decimal,
    /// Fee/yield APY that offsets the loss over `days` (break-even).
    pub break_even_apy: Option<f64>,
    /// Amount of A in the pool after the move (per the deposit).
    pub amount_a_after: f64,
    /// Amount of B in the pool after the move.
    pub amount_b_after: f64,
}

/// IL of a 50/50 deposit worth `deposit` (half in each asset, A priced
/// `price_a0` → `price_a1`, B stable), with `apy` earned over `days`.
pub fn il_report(
    deposit: Decimal,
    price_a0: f64,
    price_a1: f64,
    apy: f64,
    days: f64,
) -> Result<IlReport> {
    if !(price_a0 > 0.0 && price_a0.is_finite()) {
        return Err(DefiError::invalid("price_a_start", "must be positive"));
    }
    if !(price_a1 > 0.0 && price_a1.is_finite()) {
        return Err(DefiError::invalid("price_a_end", "must be positive"));
    }
    if deposit <= Decimal::ZERO {
        return Err(DefiError::invalid("deposit_usd", "must be positive"));
    }
    let r = price_a1 / price_a0;
    let il = impermanent_loss(r)?;
    let d = to_f64(deposit);
    let a0 = d / 2.0 / price_a0;
    let b0 = d / 2.0;
    let hold = a0 * price_a1 + b0;
    // x·y = k with the pool price x/y... : a1 = a0/√r, b1 = b0·√r.
    let a1 = a0 / r.sqrt();
    let b1 = b0 * r.sqrt();
    let lp = a1 * price_a1 + b1;
    let t = days / 365.0;
    let with_fees = lp * (1.0 + apy).powf(t);
    let break_even = if t > 0.0 && il < 0.0 {
        Some((1.0 / (1.0 + il)).powf(1.0 / t) - 1.0)
    } else {
        None
    };
    let money = |x: f64| Decimal::from_f64(x).unwrap_or_default().round_dp(2);
    Ok(IlReport {
        price_ratio: r,
        impermanent_loss: il,
        hold_value: money(hold),
        lp_value: money(lp),
        lp_value_with_fees: money(with_fees),
        break_even_apy: break_even,
        amount_a_after: a1,
        amount_b_after: b1,
    })
}

#[cfg(test)]
mod tests;
