//! `defi_rank_vaults`, `defi_allocate`, `defi_rebalance`.

use std::sync::Arc;
use std::time::Instant;

use nt_mcp_core::{ToolCtx, ToolError, ToolOutput};
use rust_decimal::Decimal;
use serde_json::json;

use super::inputs::{AllocateInput, RankInput, RebalanceInput};
use super::{answer, pct};
use crate::DefiBundle;
use crate::apy;
use crate::error::DefiError;
use crate::strategy::{self, Caps, RankFilter};

fn filter(input: &RankInput) -> Result<RankFilter, DefiError> {
    let min_safety = input.min_safety.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&min_safety) {
        return Err(DefiError::invalid("min_safety", "must be in [0, 1]"));
    }
    Ok(RankFilter {
        chains: input.chains.clone(),
        assets: input.assets.clone(),
        platforms: input.platforms.clone(),
        min_tvl: input.min_tvl_usd.unwrap_or(100_000.0),
        min_safety,
        no_il: input.no_impermanent_loss,
    })
}

fn caps(v: Option<f64>, c: Option<f64>, p: Option<f64>) -> Caps {
    Caps {
        per_vault: v.unwrap_or(0.4),
        per_chain: c.unwrap_or(0.6),
        per_platform: p.unwrap_or(0.5),
    }
}

pub(crate) async fn rank(
    b: Arc<DefiBundle>,
    input: RankInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let limit = input.limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(DefiError::invalid("limit", "must be between 1 and 500").into());
    }
    let f = filter(&input)?;
    let started = Instant::now();
    let mut ranked = strategy::rank(&data, &f, ctx.clock.now_ms() / 1000);
    let micros = started.elapsed().as_micros();
    let matched = ranked.len();
    ranked.truncate(limit);
    let mut text = format!(
        "ranked {} of {} vaults in {micros} µs; top {}\n",
        matched,
        data.vaults.len(),
        ranked.len()
    );
    for (i, r) in ranked.iter().enumerate() {
        text.push_str(&format!(
            "{}. {} [{}] score {} = APY {} x safety {:.2} x size {:.2} x age {:.2}\n",
            i + 1,
            r.id,
            r.chain,
            pct(r.score),
            pct(r.apy),
            r.safety,
            r.size,
            r.age
        ));
    }
    Ok(answer(
        &data,
        text,
        json!({
            "ranked": ranked,
            "matched": matched,
            "vaults_scanned": data.vaults.len(),
            "elapsed_us": micros,
            "formula": "score = total_apy * safety * min(1, log10(tvl)/7) * min(1, sqrt(age_days/180))",
        }),
    ))
}

pub(crate) async fn allocate(
    b: Arc<DefiBundle>,
    input: AllocateInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let f = filter(&input.filter.unwrap_or_default())?;
    let ranked = strategy::rank(&data, &f, ctx.clock.now_ms() / 1000);
    let n = input.max_vaults.unwrap_or(5);
    if !(1..=100).contains(&n) {
        return Err(DefiError::invalid("max_vaults", "must be between 1 and 100").into());
    }
    let a = strategy::allocate(
        &ranked,
        input.budget_usd,
        n,
        caps(
            input.max_per_vault,
            input.max_per_chain,
            input.max_per_platform,
        ),
    )?;
    let yearly = apy::mul_f64(a.allocated, a.blended_apy).round_dp(2);
    let mut text = format!(
        "${} over {} vault(s), blended APY {} (about ${yearly}/yr); ${} unallocated\n",
        a.allocated,
        a.slices.len(),
        pct(a.blended_apy),
        a.unallocated
    );
    for s in &a.slices {
        text.push_str(&format!(
            "{} [{} / {}]: ${} ({:.1}%), APY {}\n",
            s.id,
            s.chain,
            s.platform,
            s.amount,
            s.weight * 100.0,
            pct(s.apy)
        ));
    }
    Ok(answer(
        &data,
        text,
        json!({ "allocation": a, "projected_yearly_yield_usd": yearly }),
    ))
}

pub(crate) async fn rebalance(
    b: Arc<DefiBundle>,
    input: RebalanceInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let current: Vec<(String, Decimal)> = match &input.holdings {
        Some(h) => {
            for x in h {
                data.vault(&x.vault_id)?;
                if x.usd < Decimal::ZERO {
                    return Err(DefiError::invalid("holdings.usd", "must not be negative").into());
                }
            }
            h.iter().map(|x| (x.vault_id.clone(), x.usd)).collect()
        }
        None => crate::paper::positions(&ctx, &data, None)
            .await?
            .into_iter()
            .map(|p| (p.vault_id, p.value_usd))
            .collect(),
    };
    let total: Decimal = current.iter().map(|(_, a)| *a).sum();
    if total <= Decimal::ZERO {
        return Err(DefiError::NotFound(
            "no holdings to rebalance (pass `holdings`, or paper-deposit first)".into(),
        )
        .into());
    }
    let ranked = strategy::rank(
        &data,
        &RankFilter {
            min_tvl: 100_000.0,
            ..RankFilter::default()
        },
        ctx.clock.now_ms() / 1000,
    );
    let target = strategy::allocate(
        &ranked,
        total,
        input.max_vaults.unwrap_or(5),
        caps(
            input.max_per_vault,
            input.max_per_chain,
            input.max_per_platform,
        ),
    )?;
    let min_move = input.min_move_usd.unwrap_or(Decimal::from(25));
    let (moves, cur_apy, tgt_apy) = strategy::rebalance(&data, &current, &target, min_move);
    let gain = tgt_apy - cur_apy;
    let worth = gain >= input.min_apy_gain.unwrap_or(0.005);
    let mut text = format!(
        "holdings ${total} at {} APY; best allocation {} ({:+.2} pts): {}\n",
        pct(cur_apy),
        pct(tgt_apy),
        gain * 100.0,
        if worth {
            format!("{} move(s) suggested", moves.len())
        } else {
            "not worth moving".into()
        }
    );
    if worth {
        for m in &moves {
            text.push_str(&format!(
                "{}: ${} -> ${} ({:+})\n",
                m.id, m.current, m.target, m.change
            ));
        }
    }
    Ok(answer(
        &data,
        text,
        json!({
            "current_apy": cur_apy,
            "target_apy": tgt_apy,
            "apy_gain": gain,
            "rebalance": worth,
            "moves": if worth { json!(moves) } else { json!([]) },
            "target": target,
        }),
    ))
}
