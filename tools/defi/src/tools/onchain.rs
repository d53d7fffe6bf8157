//! `defi_position`, `defi_build_deposit`, `defi_build_withdraw`,
//! `defi_send_transaction`: a vault on-chain (or on paper), and its
//! transactions, returned for review unless sending is asked for, keyed and
//! live.

use std::sync::Arc;

use alloy_primitives::{Address, U256, keccak256};
use nt_mcp_core::{ToolCtx, ToolError, ToolOutput};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_json::{Value, json};

use super::answer;
use super::inputs::{BuildDepositInput, BuildWithdrawInput, PositionInput, SendAction, SendInput};
use crate::DefiBundle;
use crate::beefy::types::Vault;
use crate::beefy::{BeefyData, Source};
use crate::chain::reads::{WalletState, read_vault};
use crate::chain::rpc::RpcClient;
use crate::chain::tx::{self, Tx1559, TxCall};
use crate::chain::{from_raw, parse_address, to_raw};
use crate::error::{DefiError, Result};

/// Vault shares (moo tokens) carry 18 decimals.
const SHARE_DECIMALS: u32 = 18;

struct Target {
    chain_id: u64,
    vault: Address,
    want: Option<Address>,
}

fn target(v: &Vault) -> Result<Target> {
    Ok(Target {
        chain_id: BeefyData::chain_id(v)?,
        vault: parse_address("vault_id", &v.earn_contract_address)
            .map_err(|_| DefiError::NotFound(format!("vault {} has no contract address", v.id)))?,
        want: v
            .token_address
            .as_deref()
            .map(|a| parse_address("vault_id", a))
            .transpose()?,
    })
}

/// A note for answers built on the snapshot, whose addresses are placeholders.
fn snapshot_note(data: &BeefyData) -> Option<String> {
    matches!(data.source, Source::Snapshot { .. }).then(|| {
        "the bundled snapshot's contract addresses are placeholders, not deployed vaults: set BEEFY_API_URL for real addresses".to_string()
    })
}

fn need_rpc<'a>(b: &'a DefiBundle, v: &Vault) -> Result<&'a RpcClient> {
    b.rpc(&v.chain).ok_or_else(|| {
        DefiError::Refused(format!(
            "no JSON-RPC endpoint is configured for {} (set DEFI_RPC_{} or `rpc_{}` in [bundle_config.defi])",
            v.chain,
            v.chain.to_uppercase(),
            v.chain
        ))
    })
}

fn wallet_json(w: &WalletState, want_decimals: u32, value_want: Decimal) -> Value {
    json!({
        "wallet": w.wallet,
        "shares": from_raw(w.shares, SHARE_DECIMALS),
        "shares_raw": w.shares.to_string(),
        "value_want": value_want,
        "want_balance": from_raw(w.want_balance, want_decimals),
        "allowance": from_raw(w.allowance, want_decimals),
        "native_balance": from_raw(w.native_balance, 18),
    })
}

pub(crate) async fn position(
    b: Arc<DefiBundle>,
    input: PositionInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let Some(wallet) = input.wallet.as_deref() else {
        if let Some(id) = &input.vault_id {
            data.vault(id)?;
        }
        let positions = crate::paper::positions(&ctx, &data, input.vault_id.as_deref()).await?;
        let total: Decimal = positions.iter().map(|p| p.value_usd).sum();
        let mut text = format!(
            "paper ledger: {} position(s), ${total} in all\n",
            positions.len()
        );
        for p in &positions {
            text.push_str(&format!(
                "{}: {} shares x ppfs {} = {} want (${}), earned {} want at {} APY\n",
                p.vault_id,
                p.shares,
                p.ppfs.round_dp(8),
                p.value_want.round_dp(8),
                p.value_usd,
                p.earned_want.round_dp(8),
                super::pct(p.apy)
            ));
        }
        return Ok(answer(
            &data,
            text,
            json!({ "ledger": "paper", "positions": positions, "total_usd": total }),
        ));
    };
    let id = input
        .vault_id
        .as_deref()
        .ok_or_else(|| DefiError::invalid("vault_id", "is required with `wallet`"))?;
    let v = data.vault(id)?;
    let wallet = parse_address("wallet", wallet)?;
    let t = target(v)?;
    let rpc = need_rpc(&b, v)?;
    let (state, w) = read_vault(rpc, t.vault, Some(wallet)).await?;
    let w = w.ok_or_else(|| DefiError::Upstream("wallet read missing".into()))?;
    let decimals = state
        .want_token
        .decimals
        .map(u32::from)
        .unwrap_or(v.token_decimals);
    // shares · ppfs / 1e18 = want (raw): BeefyVaultV7's getPricePerFullShare.
    let value_raw =
        w.shares * state.price_per_full_share / U256::from(10u64).pow(U256::from(18u64));
    let value_want = from_raw(value_raw, decimals);
    let mut wj = wallet_json(&w, decimals, value_want);
    let price = data
        .want_price(v)
        .and_then(Decimal::from_f64)
        .unwrap_or_default();
    let value_usd = (value_want * price).round_dp(2);
    wj["value_usd"] = json!(value_usd);
    let text = format!(
        "{} on {} for {}: {} shares worth {} {} (${}); wallet holds {} {} and {} native; ppfs {}",
        v.id,
        v.chain,
        w.wallet,
        from_raw(w.shares, SHARE_DECIMALS),
        value_want,
        v.token,
        value_usd,
        from_raw(w.want_balance, decimals),
        v.token,
        from_raw(w.native_balance, 18),
        from_raw(state.price_per_full_share, 18)
    );
    Ok(answer(
        &data,
        text,
        json!({
            "ledger": "chain",
            "notes": snapshot_note(&data).into_iter().collect::<Vec<_>>(),
            "vault_id": v.id,
            "chain": v.chain,
            "vault": {
                "address": state.vault,
                "price_per_full_share": from_raw(state.price_per_full_share, 18),
                "price_per_full_share_raw": state.price_per_full_share.to_string(),
                "balance": from_raw(state.balance, decimals),
                "total_supply": from_raw(state.total_supply, SHARE_DECIMALS),
                "want": state.want,
                "strategy": state.strategy,
                "share_token": state.share_token,
                "want_token": state.want_token,
            },
            "position": wj,
        }),
    ))
}

/// Gas estimate and `eth_call` dry run of `call` from `from`.
async fn simulate(rpc: &RpcClient, from: Address, call: &TxCall) -> Value {
    let (to, data) = match (call.to_address(), call.data_bytes()) {
        (Ok(t), Ok(d)) => (t, d),
        _ => return json!({ "ok": false, "error": "bad call" }),
    };
    let dry = rpc.call(Some(from), to, &data).await;
    let gas = rpc.estimate_gas(from, to, &data).await;
    json!({
        "ok": dry.is_ok() && gas.is_ok(),
        "eth_call": match &dry { Ok(out) => json!({ "ok": true, "return_data": format!("0x{}", hex::encode(out)) }), Err(e) => json!({ "ok": false, "error": e.to_string() }) },
        "gas_estimate": match &gas { Ok(g) => json!(g), Err(_) => Value::Null },
        "gas_error": gas.err().map(|e| e.to_string()),
    })
}

pub(crate) async fn build_deposit(
    b: Arc<DefiBundle>,
    input: BuildDepositInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let v = data.vault(&input.vault_id)?;
    if !v.is_active() {
        return Err(DefiError::Refused(format!(
            "vault {} is {}: deposits are closed",
            v.id, v.status
        ))
        .into());
    }
    let t = target(v)?;
    let want = t.want.ok_or_else(|| {
        DefiError::Refused(format!(
            "vault {} takes the native coin; not supported",
            v.id
        ))
    })?;
    let raw = input
        .amount
        .map(|a| to_raw("amount", a, v.token_decimals))
        .transpose()?;
    let from = input
        .from
        .as_deref()
        .map(|f| parse_address("from", f))
        .transpose()?;
    let mut notes: Vec<String> = snapshot_note(&data).into_iter().collect();
    let mut checks = Value::Null;
    let mut calls = Vec::new();
    let deposit_call = tx::deposit(&v.chain, t.chain_id, t.vault, raw);
    match (from, b.rpc(&v.chain)) {
        (Some(from), Some(rpc)) => {
            let (_, w) = read_vault(rpc, t.vault, Some(from)).await?;
            let w = w.ok_or_else(|| DefiError::Upstream("wallet read missing".into()))?;
            let needed = raw.unwrap_or(w.want_balance);
            if w.want_balance < needed {
                notes.push(format!(
                    "the wallet holds {} {} but the deposit needs {}",
                    from_raw(w.want_balance, v.token_decimals),
                    v.token,
                    from_raw(needed, v.token_decimals)
                ));
            }
            if needed.is_zero() {
                notes.push("nothing to deposit: the wallet holds no want token".into());
            }
            let approve_needed = w.allowance < needed;
            if approve_needed {
                let approve = tx::approve(&v.chain, t.chain_id, want, t.vault, needed);
                let sim = simulate(rpc, from, &approve).await;
                calls.push(json!({ "call": approve, "simulation": sim }));
                notes.push("the deposit can be dry-run once the approval is mined".into());
                calls.push(json!({ "call": deposit_call, "simulation": Value::Null }));
            } else {
                let sim = simulate(rpc, from, &deposit_call).await;
                calls.push(json!({ "call": deposit_call, "simulation": sim }));
            }
            checks = json!({
                "want_balance": from_raw(w.want_balance, v.token_decimals),
                "allowance": from_raw(w.allowance, v.token_decimals),
                "approve_needed": approve_needed,
                "native_balance": from_raw(w.native_balance, 18),
            });
        }
        _ => {
            if let Some(raw) = raw {
                let approve = tx::approve(&v.chain, t.chain_id, want, t.vault, raw);
                calls.push(json!({ "call": approve, "simulation": Value::Null }));
            }
            calls.push(json!({ "call": deposit_call, "simulation": Value::Null }));
            notes.push(match (b.rpc(&v.chain).is_some(), raw.is_some()) {
                (true, _) => {
                    "pass `from` to check the balance and allowance, estimate gas and dry-run".into()
                }
                (false, true) => format!(
                    "allowance unknown (no RPC for {}): the approval is included; not simulated",
                    v.chain
                ),
                (false, false) => format!(
                    "depositAll() takes the whole balance: approve the vault for it first (no RPC for {} to read it); not simulated",
                    v.chain
                ),
            });
        }
    }
    let text = format!(
        "{} deposit on {} (chain id {}): {} call(s) for review, not sent\n{}",
        v.id,
        v.chain,
        t.chain_id,
        calls.len(),
        notes.join("\n")
    );
    Ok(answer(
        &data,
        text,
        json!({
            "vault_id": v.id,
            "chain": v.chain,
            "chain_id": t.chain_id,
            "amount": input.amount,
            "amount_raw": raw.map(|r| r.to_string()),
            "calls": calls,
            "checks": checks,
            "notes": notes,
            "sent": false,
        }),
    ))
}

pub(crate) async fn build_withdraw(
    b: Arc<DefiBundle>,
    input: BuildWithdrawInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let v = data.vault(&input.vault_id)?;
    let t = target(v)?;
    let raw = input
        .shares
        .map(|s| to_raw("shares", s, SHARE_DECIMALS))
        .transpose()?;
    let from = input
        .from
        .as_deref()
        .map(|f| parse_address("from", f))
        .transpose()?;
    let call = tx::withdraw(&v.chain, t.chain_id, t.vault, raw);
    let fee = data.fees(&v.id).withdraw;
    let mut ppfs = crate::paper::snapshot_ppfs(v);
    let mut simulation = Value::Null;
    let mut shares = input.shares;
    if let (Some(from), Some(rpc)) = (from, b.rpc(&v.chain)) {
        let (state, w) = read_vault(rpc, t.vault, Some(from)).await?;
        ppfs = from_raw(state.price_per_full_share, 18);
        if let Some(w) = w {
            let held = from_raw(w.shares, SHARE_DECIMALS);
            if shares.is_none() {
                shares = Some(held);
            }
            if raw.is_some_and(|r| r > w.shares) {
                return Err(DefiError::Refused(format!(
                    "the wallet holds {held} shares of {}",
                    v.id
                ))
                .into());
            }
        }
        simulation = simulate(rpc, from, &call).await;
    }
    let expected = shares.map(|s| {
        let gross = (s * ppfs).round_dp(v.token_decimals);
        let fee_amt = crate::apy::mul_f64(gross, fee).round_dp(v.token_decimals);
        json!({ "gross_want": gross, "fee_want": fee_amt, "net_want": gross - fee_amt })
    });
    let text = format!(
        "{} withdraw on {}: {} for review, not sent; price per full share {}, withdrawal fee {}{}",
        v.id,
        v.chain,
        call.purpose,
        ppfs.round_dp(8),
        super::pct(fee),
        expected
            .as_ref()
            .map(|e| format!(
                "; about {} {} back",
                e["net_want"].as_str().unwrap_or("?"),
                v.token
            ))
            .unwrap_or_default()
    );
    Ok(answer(
        &data,
        text,
        json!({
            "vault_id": v.id,
            "chain": v.chain,
            "chain_id": t.chain_id,
            "calls": [{ "call": call, "simulation": simulation }],
            "notes": snapshot_note(&data).into_iter().collect::<Vec<_>>(),
            "price_per_full_share": ppfs,
            "withdraw_fee": fee,
            "expected": expected,
            "sent": false,
        }),
    ))
}

pub(crate) async fn send(
    b: Arc<DefiBundle>,
    input: SendInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if !input.confirm {
        return Err(DefiError::invalid(
            "confirm",
            "must be true to sign and send; use defi_build_deposit / defi_build_withdraw to review",
        )
        .into());
    }
    if !ctx.live_trading {
        return Err(DefiError::Refused("live trading is off: transactions are built for review only (defi_build_deposit / defi_build_withdraw)".into()).into());
    }
    let signer = b.signer().ok_or_else(|| {
        DefiError::Refused("no signing key is configured (DEFI_PRIVATE_KEY)".into())
    })?;
    let data = b.data(&ctx).await?;
    if matches!(data.source, Source::Snapshot { .. }) {
        return Err(DefiError::Refused(format!(
            "the bundled snapshot's contract addresses are placeholders: set BEEFY_API_URL (e.g. {}) so transactions go to real vaults",
            crate::beefy::client::DEFAULT_BASE
        ))
        .into());
    }
    let v = data.vault(&input.vault_id)?;
    let t = target(v)?;
    let rpc = need_rpc(&b, v)?;
    let from = signer.address();
    let call = match input.action {
        SendAction::Approve => {
            let want = t.want.ok_or_else(|| {
                DefiError::Refused("native-coin vault: nothing to approve".into())
            })?;
            let amount = input
                .amount
                .ok_or_else(|| DefiError::invalid("amount", "is required to approve"))?;
            tx::approve(
                &v.chain,
                t.chain_id,
                want,
                t.vault,
                to_raw("amount", amount, v.token_decimals)?,
            )
        }
        SendAction::Deposit => {
            if !v.is_active() {
                return Err(DefiError::Refused(format!("vault {} is {}", v.id, v.status)).into());
            }
            tx::deposit(
                &v.chain,
                t.chain_id,
                t.vault,
                input
                    .amount
                    .map(|a| to_raw("amount", a, v.token_decimals))
                    .transpose()?,
            )
        }
        SendAction::Withdraw => tx::withdraw(
            &v.chain,
            t.chain_id,
            t.vault,
            input
                .amount
                .map(|a| to_raw("amount", a, SHARE_DECIMALS))
                .transpose()?,
        ),
    };
    let served = rpc.chain_id().await?;
    if served != t.chain_id {
        return Err(DefiError::Config(format!(
            "the {} RPC serves chain {served}, not {}",
            v.chain, t.chain_id
        ))
        .into());
    }
    let to = call.to_address()?;
    let calldata = call.data_bytes()?;
    rpc.call(Some(from), to, &calldata)
        .await
        .map_err(|e| DefiError::Refused(format!("the dry run failed, nothing sent: {e}")))?;
    let gas = rpc.estimate_gas(from, to, &calldata).await?;
    let nonce = rpc.nonce(from).await?;
    let (tip, fee_cap) = rpc.fees().await?;
    let txn = Tx1559 {
        chain_id: t.chain_id,
        nonce,
        max_priority_fee_per_gas: tip,
        max_fee_per_gas: fee_cap,
        gas: gas.saturating_mul(6) / 5,
        to,
        data: calldata,
    };
    let raw = txn.sign(signer).map_err(DefiError::from)?;
    let hash = keccak256(&raw).to_string();
    let reported = rpc.send_raw(&raw).await?;
    if !reported.eq_ignore_ascii_case(&hash) {
        return Err(DefiError::Upstream(format!(
            "the RPC answered hash {reported} for transaction {hash}"
        ))
        .into());
    }
    let detail = json!({
        "vault_id": v.id, "chain": v.chain, "action": format!("{:?}", input.action).to_lowercase(),
        "from": from.to_checksum(None), "to": call.to, "selector": call.selector, "hash": hash,
        "nonce": nonce, "gas": txn.gas, "max_fee_per_gas": fee_cap.to_string(),
    });
    ctx.audit(ctx.store.pool(), "defi_tx_sent", &detail)
        .await
        .map_err(DefiError::from)?;
    let text = format!(
        "sent {} on {}: {hash} (nonce {nonce}, gas {})",
        call.purpose, v.chain, txn.gas
    );
    Ok(answer(
        &data,
        text,
        json!({ "sent": true, "transaction": detail, "call": call }),
    ))
}
