//! Yield strategies over the vault list: ranking by risk-adjusted yield,
//! allocating a budget across the best vaults under caps, and rebalance
//! suggestions when yields move.
//!
//! Risk-adjusted yield = `totalApy · safety · size · age`, where
//! * `safety = 1 − Σ penalties` of the vault's Beefy risk flags (the
//!   categories of Beefy's safety score: complexity, impermanent loss,
//!   market cap, platform and audit; table [`risk_penalty`]), floored at 0.05;
//!   a missing `AUDIT` flag adds 0.15 and a missing `CONTRACTS_VERIFIED` 0.05;
//! * `size = min(1, log10(tvl) / 7)` (a $10M vault scores 1, $100k 0.71);
//! * `age = min(1, √(days / 180))` (six months of history scores 1).

use std::collections::HashMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde::Serialize;

use crate::beefy::BeefyData;
use crate::beefy::types::Vault;
use crate::error::{DefiError, Result};

/// The penalty of one Beefy risk flag (0 for flags that lower no score).
pub fn risk_penalty(flag: &str) -> f64 {
    match flag {
        "COMPLEXITY_MID" => 0.05,
        "COMPLEXITY_HIGH" => 0.15,
        "IL_LOW" => 0.05,
        "IL_HIGH" => 0.15,
        "MCAP_MEDIUM" => 0.05,
        "MCAP_SMALL" => 0.15,
        "MCAP_MICRO" => 0.25,
        "PLATFORM_NEW" => 0.15,
        "EXPERIMENTAL_STRAT" => 0.15,
        "NO_TIMELOCK" | "ADMIN_WITH_FUNDS" | "OVER_COLLAT_ALGO_STABLECOIN" => 0.15,
        "ALGO_STABLE" | "LIQ_LOW" => 0.1,
        _ => 0.0,
    }
}

/// `1 − Σ penalties`, floored at 0.05.
pub fn safety(risks: &[String]) -> f64 {
    let mut p: f64 = risks.iter().map(|r| risk_penalty(r)).sum();
    if !risks.iter().any(|r| r == "AUDIT") {
        p += 0.15;
    }
    if !risks.iter().any(|r| r == "CONTRACTS_VERIFIED") {
        p += 0.05;
    }
    (1.0 - p).max(0.05)
}

/// Filters for ranking.
#[derive(Debug, Clone, Default)]
pub struct RankFilter {
    /// Only these chains (empty: all).
    pub chains: Vec<String>,
    /// Only vaults holding one of these assets (empty: all).
    pub assets: Vec<String>,
    /// Only these platforms (empty: all).
    pub platforms: Vec<String>,
    /// Minimum TVL in USD.
    pub min_tvl: f64,
    /// Minimum safety (0-1).
    pub min_safety: f64,
    /// Leave out vaults with an IL risk flag other than `IL_NONE`.
    pub no_il: bool,
}

/// One ranked vault.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    /// Vault id.
    pub id: String,
    /// Chain key.
    pub chain: String,
    /// Platform.
    pub platform: String,
    /// Assets.
    pub assets: Vec<String>,
    /// Total APY.
    pub apy: f64,
    /// TVL, USD.
    pub tvl: f64,
    /// Safety factor.
    pub safety: f64,
    /// Size factor.
    pub size: f64,
    /// Age factor.
    pub age: f64,
    /// Risk-adjusted yield.
    pub score: f64,
}

fn matches(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(value))
}

/// Scores one vault at `now_s` (Unix seconds).
pub fn score(data: &BeefyData, v: &Vault, now_s: i64) -> Ranked {
    let apy = data.total_apy(&v.id);
    let tvl = data.tvl(&v.id);
    let safety = safety(&v.risks);
    let size = if tvl > 1.0 {
        (tvl.log10() / 7.0).min(1.0)
    } else {
        0.0
    };
    let days = v
        .created_at
        .map(|c| ((now_s - c) as f64 / 86_400.0).max(0.0))
        .unwrap_or(0.0);
    let age = (days / 180.0).sqrt().min(1.0);
    Ranked {
        id: v.id.clone(),
        chain: v.chain.clone(),
        platform: v.platform_id.clone(),
        assets: v.assets.clone(),
        apy,
        tvl,
        safety,
        size,
        age,
        score: apy * safety * size * age,
    }
}

/// Active vaults passing `filter`, best risk-adjusted yield first (ties by id).
pub fn rank(data: &BeefyData, filter: &RankFilter, now_s: i64) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = data
        .vaults
        .iter()
        .filter(|v| v.is_active())
        .filter(|v| matches(&filter.chains, &v.chain) && matches(&filter.platforms, &v.platform_id))
        .filter(|v| filter.assets.is_empty() || v.assets.iter().any(|a| matches(&filter.assets, a)))
        .filter(|v| {
            !filter.no_il
                || !v
                    .risks
                    .iter()
                    .any(|r| r.starts_with("IL_") && r != "IL_NONE")
        })
        .map(|v| score(data, v, now_s))
        .filter(|r| r.tvl >= filter.min_tvl && r.safety >= filter.min_safety && r.score > 0.0)
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out
}

/// Caps on an allocation, as shares of the budget.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Most in one vault (0-1].
    pub per_vault: f64,
    /// Most on one chain (0-1].
    pub per_chain: f64,
    /// Most on one platform (0-1].
    pub per_platform: f64,
}

/// One slice of an allocation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Slice {
    /// Vault id.
    pub id: String,
    /// Chain.
    pub chain: String,
    /// Platform.
    pub platform: String,
    /// USD amount.
    pub amount: Decimal,
    /// Share of the budget.
    pub weight: f64,
    /// The vault's APY.
    pub apy: f64,
    /// Risk-adjusted score.
    pub score: f64,
}

/// A budget split.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Allocation {
    /// Slices, largest first.
    pub slices: Vec<Slice>,
    /// USD allocated.
    pub allocated: Decimal,
    /// USD left because the caps bind.
    pub unallocated: Decimal,
    /// Budget-weighted APY of what was allocated.
    pub blended_apy: f64,
}

/// Splits `budget` over the `ranked` vaults (best first, at most `max_vaults`)
/// in proportion to score, water-filling under the caps: a vault, chain or
/// platform that hits its cap is frozen and the rest re-split.
pub fn allocate(
    ranked: &[Ranked],
    budget: Decimal,
    max_vaults: usize,
    caps: Caps,
) -> Result<Allocation> {
    if budget <= Decimal::ZERO {
        return Err(DefiError::invalid("budget_usd", "must be positive"));
    }
    for (field, c) in [
        ("max_per_vault", caps.per_vault),
        ("max_per_chain", caps.per_chain),
        ("max_per_platform", caps.per_platform),
    ] {
        if !(c > 0.0 && c <= 1.0) {
            return Err(DefiError::invalid(field, "must be in (0, 1]"));
        }
    }
    let picks: Vec<&Ranked> = ranked.iter().take(max_vaults.max(1)).collect();
    let n = picks.len();
    let mut w = vec![0.0f64; n];
    let mut frozen = vec![false; n];
    let mut chain_used: HashMap<&str, f64> = HashMap::new();
    let mut plat_used: HashMap<&str, f64> = HashMap::new();
    // Water-filling: at most 3n rounds (each freezes a vault or ends).
    for _ in 0..(3 * n + 1) {
        let left = 1.0 - w.iter().sum::<f64>();
        let open: Vec<usize> = (0..n).filter(|&i| !frozen[i]).collect();
        let total: f64 = open.iter().map(|&i| picks[i].score).sum();
        if left <= 1e-12 || open.is_empty() || total <= 0.0 {
            break;
        }
        let mut any_capped = false;
        for &i in &open {
            let r = picks[i];
            let want = left * r.score / total;
            let room_v = caps.per_vault - w[i];
            let room_c = caps.per_chain - chain_used.get(r.chain.as_str()).copied().unwrap_or(0.0);
            let room_p =
                caps.per_platform - plat_used.get(r.platform.as_str()).copied().unwrap_or(0.0);
            let room = room_v.min(room_c).min(room_p).max(0.0);
            let add = want.min(room);
            if want >= room - 1e-12 {
                frozen[i] = true;
                any_capped = true;
            }
            w[i] += add;
            *chain_used.entry(r.chain.as_str()).or_default() += add;
            *plat_used.entry(r.platform.as_str()).or_default() += add;
        }
        if !any_capped {
            break;
        }
    }
    let cents = |x: f64| (budget * Decimal::from_f64(x).unwrap_or_default()).round_dp(2);
    let mut slices: Vec<Slice> = picks
        .iter()
        .zip(&w)
        .filter(|(_, w)| **w > 1e-9)
        .map(|(r, &weight)| Slice {
            id: r.id.clone(),
            chain: r.chain.clone(),
            platform: r.platform.clone(),
            amount: cents(weight),
            weight,
            apy: r.apy,
            score: r.score,
        })
        .collect();
    slices.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.id.cmp(&b.id)));
    let allocated: Decimal = slices.iter().map(|s| s.amount).sum();
    let blended_apy = if allocated > Decimal::ZERO {
        slices.iter().map(|s| s.weight * s.apy).sum::<f64>()
            / slices.iter().map(|s| s.weight).sum::<f64>()
    } else {
        0.0
    };
    Ok(Allocation {
        slices,
        unallocated: budget - allocated,
        allocated,
        blended_apy,
    })
}

/// One suggested move.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Move {
    /// Vault id.
    pub id: String,
    /// Current USD in it.
    pub current: Decimal,
    /// Target USD.
    pub target: Decimal,
    /// `target − current` (negative: withdraw).
    pub change: Decimal,
}

/// Moves from `current` (vault id → USD) toward `target`, skipping changes
/// under `min_move` USD; returns the moves and the APY gain of the target
/// over the current mix (current APYs from `data`).
pub fn rebalance(
    data: &BeefyData,
    current: &[(String, Decimal)],
    target: &Allocation,
    min_move: Decimal,
) -> (Vec<Move>, f64, f64) {
    let mut ids: Vec<String> = current.iter().map(|(i, _)| i.clone()).collect();
    ids.extend(target.slices.iter().map(|s| s.id.clone()));
    ids.sort();
    ids.dedup();
    let cur = |id: &str| {
        current
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, a)| *a)
            .sum::<Decimal>()
    };
    let tgt = |id: &str| {
        target
            .slices
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.amount)
            .unwrap_or_default()
    };
    let mut moves: Vec<Move> = ids
        .iter()
        .map(|id| Move {
            id: id.clone(),
            current: cur(id),
            target: tgt(id),
            change: tgt(id) - cur(id),
        })
        .filter(|m| m.change.abs() >= min_move)
        .collect();
    moves.sort_by(|a, b| a.change.cmp(&b.change).then_with(|| a.id.cmp(&b.id)));
    let total: Decimal = current.iter().map(|(_, a)| *a).sum();
    let current_apy = if total > Decimal::ZERO {
        current
            .iter()
            .map(|(id, a)| crate::apy::to_f64(*a) * data.total_apy(id))
            .sum::<f64>()
            / crate::apy::to_f64(total)
    } else {
        0.0
    };
    (moves, current_apy, target.blended_apy)
}

#[cfg(test)]
mod tests;
