//! `defi_chains`, `defi_vaults`, `defi_vault`, `defi_apy_breakdown`,
//! `defi_impermanent_loss`: reading the vault data and the yield maths.

use std::sync::Arc;

use nt_mcp_core::{ToolCtx, ToolError, ToolOutput};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_json::{Value, json};

use super::inputs::{ApyBreakdownInput, ChainsInput, IlInput, VaultInput, VaultsInput};
use super::{answer, pct};
use crate::DefiBundle;
use crate::apy;
use crate::beefy::BeefyData;
use crate::beefy::types::Vault;
use crate::chains::{self, MULTICALL3};
use crate::error::DefiError;

pub(crate) async fn chains(
    b: Arc<DefiBundle>,
    _input: ChainsInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let mut rows = Vec::new();
    let mut text = String::new();
    for key in data.chain_keys() {
        let vaults: Vec<&Vault> = data.vaults.iter().filter(|v| v.chain == key).collect();
        let tvl: f64 = vaults.iter().map(|v| data.tvl(&v.id)).sum();
        let active = vaults.iter().filter(|v| v.is_active()).count();
        let known = chains::by_key(&key);
        let rpc = b.rpc(&key).is_some();
        text.push_str(&format!(
            "{key} (chain id {}): {} vaults ({active} active), TVL ${tvl:.0}, RPC {}\n",
            known
                .map(|c| c.chain_id.to_string())
                .unwrap_or_else(|| "?".into()),
            vaults.len(),
            if rpc { "configured" } else { "not configured" }
        ));
        rows.push(json!({
            "chain": key,
            "name": known.map(|c| c.name),
            "chain_id": known.map(|c| c.chain_id),
            "native": known.map(|c| c.native),
            "vaults": vaults.len(),
            "active_vaults": active,
            "tvl_usd": tvl,
            "rpc_configured": rpc,
            "multicall3": MULTICALL3.to_checksum(None),
        }));
    }
    Ok(answer(&data, text, json!({ "chains": rows })))
}

fn summary(data: &BeefyData, v: &Vault) -> Value {
    json!({
        "id": v.id,
        "name": v.name,
        "chain": v.chain,
        "platform": v.platform_id,
        "assets": v.assets,
        "token": v.token,
        "status": v.status,
        "apy": data.total_apy(&v.id),
        "tvl_usd": data.tvl(&v.id),
        "risks": v.risks,
        "vault_address": v.earn_contract_address,
    })
}

pub(crate) async fn vaults(
    b: Arc<DefiBundle>,
    input: VaultsInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let status = input
        .status
        .as_deref()
        .unwrap_or("active")
        .to_ascii_lowercase();
    if !matches!(status.as_str(), "active" | "paused" | "eol" | "all") {
        return Err(DefiError::invalid("status", "must be active, paused, eol or all").into());
    }
    let limit = input.limit.unwrap_or(25);
    if !(1..=500).contains(&limit) {
        return Err(DefiError::invalid("limit", "must be between 1 and 500").into());
    }
    let eq = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
    };
    let mut list: Vec<&Vault> = data
        .vaults
        .iter()
        .filter(|v| status == "all" || v.status == status)
        .filter(|v| eq(&input.chain, &v.chain) && eq(&input.platform, &v.platform_id))
        .filter(|v| {
            input
                .asset
                .as_deref()
                .is_none_or(|a| v.assets.iter().any(|x| x.eq_ignore_ascii_case(a)))
        })
        .filter(|v| data.tvl(&v.id) >= input.min_tvl_usd.unwrap_or(0.0))
        .filter(|v| data.total_apy(&v.id) >= input.min_apy.unwrap_or(f64::MIN))
        .collect();
    match input.sort.as_deref().unwrap_or("apy") {
        "apy" => list.sort_by(|a, b| {
            data.total_apy(&b.id)
                .total_cmp(&data.total_apy(&a.id))
                .then_with(|| a.id.cmp(&b.id))
        }),
        "tvl" => list.sort_by(|a, b| {
            data.tvl(&b.id)
                .total_cmp(&data.tvl(&a.id))
                .then_with(|| a.id.cmp(&b.id))
        }),
        "id" => list.sort_by(|a, b| a.id.cmp(&b.id)),
        _ => return Err(DefiError::invalid("sort", "must be apy, tvl or id").into()),
    }
    let matched = list.len();
    list.truncate(limit);
    let mut text = format!("{matched} vaults match; showing {}\n", list.len());
    for v in &list {
        text.push_str(&format!(
            "{} [{}] {} APY {} TVL ${:.0}\n",
            v.id,
            v.chain,
            v.platform_id,
            pct(data.total_apy(&v.id)),
            data.tvl(&v.id)
        ));
    }
    let rows: Vec<Value> = list.iter().map(|v| summary(&data, v)).collect();
    Ok(answer(
        &data,
        text,
        json!({ "matched": matched, "vaults": rows }),
    ))
}

pub(crate) async fn vault(
    b: Arc<DefiBundle>,
    input: VaultInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let v = data.vault(&input.vault_id)?;
    let boosts: Vec<Value> = data.boosts_of(&v.id).map(|b| json!(b)).collect();
    let now_s = ctx.clock.now_ms() / 1000;
    let mut body = summary(&data, v);
    body["vault"] = json!(v);
    body["want_price_usd"] = json!(data.want_price(v));
    body["price_per_full_share"] = json!(crate::paper::snapshot_ppfs(v));
    body["apy_breakdown"] = json!(data.breakdown(&v.id));
    body["fees"] = json!(data.fees(&v.id));
    body["boosts"] = json!(boosts);
    body["age_days"] = json!(v.created_at.map(|c| (now_s - c) / 86_400));
    body["safety"] = json!(crate::strategy::safety(&v.risks));
    let text = format!(
        "{} ({}) on {} via {}: APY {}, TVL ${:.0}, status {}, want {} at ${}, {} boost(s), risks {}",
        v.id,
        v.name,
        v.chain,
        v.platform_id,
        pct(data.total_apy(&v.id)),
        data.tvl(&v.id),
        v.status,
        v.token,
        data.want_price(v)
            .map(|p| format!("{p}"))
            .unwrap_or_else(|| "?".into()),
        boosts.len(),
        v.risks.join(", ")
    );
    Ok(answer(&data, text, body))
}

pub(crate) async fn apy_breakdown(
    b: Arc<DefiBundle>,
    input: ApyBreakdownInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let v = data.vault(&input.vault_id)?;
    let bd = data.breakdown(&v.id);
    let deposit = input.deposit_usd.unwrap_or(Decimal::ONE_THOUSAND);
    let days = input.days.unwrap_or(365.0);
    if deposit <= Decimal::ZERO {
        return Err(DefiError::invalid("deposit_usd", "must be positive").into());
    }
    if !(days > 0.0 && days <= 3650.0) {
        return Err(DefiError::invalid("days", "must be in (0, 3650]").into());
    }
    let n = bd.compoundings_per_year.unwrap_or(apy::BASE_HPY);
    let fee = bd
        .beefy_performance_fee
        .unwrap_or_else(|| data.fees(&v.id).performance.total);
    let vault_apr = bd.vault_apr.unwrap_or(0.0);
    let farm_apr = if fee < 1.0 {
        vault_apr / (1.0 - fee)
    } else {
        0.0
    };
    let recomputed_vault_apy = apy::apr_to_apy(vault_apr, n);
    let trading = bd.trading_apr.unwrap_or(0.0);
    let simple = bd.liquid_staking_apr.unwrap_or(0.0)
        + bd.composable_pool_apr.unwrap_or(0.0)
        + bd.merkl_apr.unwrap_or(0.0);
    let recomputed_total = apy::total_apy(
        bd.vault_apy.unwrap_or(recomputed_vault_apy),
        trading,
        simple,
    );
    let total = data.total_apy(&v.id);
    let now_s = ctx.clock.now_ms() / 1000;
    let ppfs = apy::to_f64(crate::paper::snapshot_ppfs(v));
    let mut boost_rows = Vec::new();
    let mut boost_apr = 0.0;
    for boost in data.boosts_of(&v.id) {
        let mut period_finish = boost.period_finish;
        let mut reward_rate = boost.reward_rate.clone();
        let mut total_supply = boost.total_supply.clone();
        let mut from_chain = false;
        // The API's /boosts has no reward figures: read them on-chain.
        if boost.status == "active"
            && (reward_rate.is_none() || total_supply.is_none())
            && let (Some(rpc), Ok(addr)) = (
                b.rpc(&boost.chain),
                crate::chain::parse_address("boost", &boost.earn_contract_address),
            )
        {
            let state = crate::chain::reads::read_boost(rpc, addr).await?;
            reward_rate = Some(state.reward_rate.to_string());
            total_supply = Some(state.total_supply.to_string());
            period_finish = i64::try_from(state.period_finish).ok();
            from_chain = true;
        }
        let live = boost.status == "active" && period_finish.is_none_or(|f| f > now_s);
        let scale = 10f64.powi(boost.earned_token_decimals as i32);
        let rate = reward_rate
            .as_deref()
            .and_then(|r| r.parse::<f64>().ok())
            .map(|r| r / scale);
        let staked = total_supply
            .as_deref()
            .and_then(|r| r.parse::<f64>().ok())
            .map(|s| s / 1e18);
        let apr = match (
            live,
            rate,
            staked,
            data.price(&boost.earned_oracle_id),
            data.want_price(v),
        ) {
            (true, Some(rate), Some(staked), Some(rp), Some(wp)) => {
                apy::boost_apr(rate, rp, staked, ppfs, wp)
            }
            _ => None,
        };
        if let Some(a) = apr {
            boost_apr += a;
        }
        boost_rows.push(
            json!({ "id": boost.id, "reward": boost.earned_token, "active": live, "apr": apr, "read_on_chain": from_chain }),
        );
    }
    let boosted = total + boost_apr;
    let lp_fee_estimate = match (input.daily_volume_usd, input.liquidity_usd) {
        (Some(volume), Some(liquidity)) => {
            if volume < 0.0 {
                return Err(DefiError::invalid("daily_volume_usd", "must not be negative").into());
            }
            let fee = bd.lp_fee.ok_or_else(|| {
                DefiError::NotFound(format!("the API gives no lpFee for {}", v.id))
            })?;
            Some(
                apy::lp_fee_apr(volume, fee, liquidity)
                    .map_err(|_| DefiError::invalid("liquidity_usd", "must be positive"))?,
            )
        }
        (None, None) => None,
        _ => {
            return Err(DefiError::invalid(
                "liquidity_usd",
                "give both daily_volume_usd and liquidity_usd, or neither",
            )
            .into());
        }
    };
    let yield_usd = apy::projected_yield(deposit, total, days);
    let boosted_yield = apy::projected_yield(deposit, boosted, days);
    let consistent = bd
        .vault_apy
        .is_none_or(|a| (a - recomputed_vault_apy).abs() <= 1e-6 * (1.0 + a))
        && bd
            .total_apy
            .is_none_or(|t| (t - recomputed_total).abs() <= 1e-6 * (1.0 + t));
    let body = json!({
        "vault_id": v.id,
        "breakdown": bd,
        "farm_apr_before_fee": farm_apr,
        "performance_fee": fee,
        "compoundings_per_year": n,
        "recomputed": { "vault_apy": recomputed_vault_apy, "total_apy": recomputed_total, "consistent": consistent },
        "total_apy": total,
        "boosts": boost_rows,
        "boost_apr": boost_apr,
        "boosted_total_apy": boosted,
        "projection": {
            "deposit_usd": deposit,
            "days": days,
            "yield_usd": yield_usd,
            "boosted_yield_usd": boosted_yield,
            "value_usd": deposit + yield_usd,
        },
        "lp_fee": bd.lp_fee,
        "lp_fee_apr_estimate": lp_fee_estimate,
        "want_price_usd": data.want_price(v),
        "deposit_in_want": data.want_price(v).and_then(Decimal::from_f64).filter(|p| !p.is_zero()).map(|p| (deposit / p).round_dp(12)),
    });
    let text = format!(
        "{}: farm APR {} before a {} performance fee -> vault APR {}, compounded {n}x/yr -> vault APY {}; trading APR {}; total APY {}{}; boost APR {}; ${deposit} over {days} days earns ${yield_usd:.2} (boosted ${boosted_yield:.2}){}",
        v.id,
        pct(farm_apr),
        pct(fee),
        pct(vault_apr),
        pct(bd.vault_apy.unwrap_or(recomputed_vault_apy)),
        pct(trading),
        pct(total),
        if simple > 0.0 {
            format!(" (incl. {} non-compounded)", pct(simple))
        } else {
            String::new()
        },
        pct(boost_apr),
        if consistent {
            ""
        } else {
            "; WARNING: the API's figures do not match Beefy's formula"
        }
    );
    Ok(answer(&data, text, body))
}

pub(crate) async fn impermanent_loss(
    b: Arc<DefiBundle>,
    input: IlInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let vault_apy = match &input.vault_id {
        Some(id) => Some(data.total_apy(&data.vault(id)?.id)),
        None => None,
    };
    let apy_used = input.apy.or(vault_apy).unwrap_or(0.0);
    let days = input.days.unwrap_or(365.0);
    if !(0.0..=3650.0).contains(&days) {
        return Err(DefiError::invalid("days", "must be in [0, 3650]").into());
    }
    let deposit = input.deposit_usd.unwrap_or(Decimal::ONE_THOUSAND);
    let r = apy::il_report(
        deposit,
        input.price_a_start,
        input.price_a_end,
        apy_used,
        days,
    )?;
    let text = format!(
        "price ratio {:.4}: impermanent loss {} (hold ${} vs LP ${}); with {} APY over {days} days the LP is worth ${}{}",
        r.price_ratio,
        pct(r.impermanent_loss),
        r.hold_value,
        r.lp_value,
        pct(apy_used),
        r.lp_value_with_fees,
        r.break_even_apy
            .map(|b| format!("; break-even APY {}", pct(b)))
            .unwrap_or_default()
    );
    let mut body = json!(r);
    body["apy_used"] = json!(apy_used);
    body["days"] = json!(days);
    body["formula"] =
        json!("IL = 2*sqrt(r)/(1+r) - 1, r = price_a_end/price_a_start (50/50 constant product)");
    Ok(answer(&data, text, body))
}
