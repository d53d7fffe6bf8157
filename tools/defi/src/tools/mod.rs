//! The bundle's one route table: every tool's name, description, scope and
//! typed input bound to its handler. Handlers are thin: they load the vault
//! data (API or snapshot) and call the domain modules.

pub(crate) mod inputs;
mod markets;
mod onchain;
mod paper;
mod strategies;

use nt_mcp_core::{Route, ToolOutput, route};
use serde_json::Value;

use crate::DefiBundle;
use crate::beefy::{BeefyData, Source};

/// Every tool of the bundle, in listing order.
pub(crate) fn routes() -> Vec<Route<DefiBundle>> {
    vec![
        route("defi_chains", "Chains with Beefy vaults: chain id, native coin, vault count, TVL, whether a JSON-RPC endpoint is configured, the Multicall3 address.", markets::chains),
        route("defi_vaults", "List Beefy vaults with total APY, TVL, platform, assets and risk flags; filter by chain, platform, asset, status, min TVL/APY; sort by apy, tvl or id.", markets::vaults),
        route("defi_vault", "One Beefy vault in full: addresses, want token and price, price per full share, APY breakdown, TVL, fees, boosts, risks, age.", markets::vault),
        route("defi_apy_breakdown", "A vault's APY parts as Beefy computes them (farm APR after the performance fee compounded per harvest, trading-fee APR, non-compounded parts), each recomputed and checked; boost APR; projected yield on a deposit over a horizon.", markets::apy_breakdown),
        route("defi_impermanent_loss", "Impermanent loss of a two-asset 50/50 constant-product LP for a price move of asset A: loss, hold vs LP value, LP value with the vault's (or a given) APY earned, break-even APY.", markets::impermanent_loss),
        route("defi_position", "A position in a vault: on-chain for a wallet (Multicall3: shares, price per full share, want balance and allowance, native balance, vault balance/totalSupply/want/strategy, token metadata) when the chain's RPC is set; otherwise the paper ledger's positions with yield accrued.", onchain::position),
        route("defi_build_deposit", "Calldata to deposit into a vault (want.approve when the allowance is short, then vault.deposit(amount) or depositAll()), for review; with `from` and the chain's RPC: balance and allowance checks, gas estimate and an eth_call dry run. Never sends.", onchain::build_deposit),
        route("defi_build_withdraw", "Calldata to withdraw from a vault (withdraw(shares) or withdrawAll()) with the want expected back, for review; with `from` and the chain's RPC: gas estimate and eth_call dry run. Never sends.", onchain::build_withdraw),
        route("defi_send_transaction", "Sign and send an approve, deposit or withdraw as an EIP-1559 transaction from the configured key (DEFI_PRIVATE_KEY) through the chain's RPC, after a dry run. Only with confirm=true and live trading on.", onchain::send).trade().not_idempotent(),
        route("defi_rank_vaults", "Rank active vaults by risk-adjusted yield: APY × safety (Beefy risk flags) × size (TVL) × age; filters by chain, asset, platform, TVL, safety, IL exposure. Reports the ranking time.", strategies::rank).cpu_heavy(),
        route("defi_allocate", "Split a USD budget over the best risk-adjusted vaults in proportion to score, under per-vault, per-chain and per-platform caps; blended APY and projected yearly yield.", strategies::allocate).cpu_heavy(),
        route("defi_rebalance", "Suggest moves from current holdings (given, or the paper positions) to the best allocation when its APY beats the current mix by a margin; moves under a minimum are skipped.", strategies::rebalance).cpu_heavy(),
        route("defi_paper_deposit", "Paper-deposit want tokens (or USD worth) into a vault at its price per full share; shares then grow at the vault's APY on the server clock. Pass client_id: the same id twice books once.", paper::deposit).writes(),
        route("defi_paper_withdraw", "Paper-withdraw shares (or want worth, or all) from a vault at the accrued price per share, less the vault's withdrawal fee.", paper::withdraw).writes(),
    ]
}

/// The venue name of the data `data` came from.
pub(crate) fn venue(data: &BeefyData) -> &'static str {
    match data.source {
        Source::Snapshot { .. } => "beefy-snapshot",
        Source::Api { .. } => "beefy-api",
    }
}

/// An answer naming the data's venue and carrying `source` (`snapshot` or
/// `api`) and when the data is from.
pub(crate) fn answer(data: &BeefyData, text: impl AsRef<str>, mut body: Value) -> ToolOutput {
    if let Value::Object(map) = &mut body {
        if data.skipped > 0 {
            map.insert("skipped_upstream_entries".into(), Value::from(data.skipped));
        }
        map.insert("source".into(), Value::String(data.source.label().into()));
        map.insert(
            "data".into(),
            serde_json::to_value(&data.source).unwrap_or(Value::Null),
        );
    }
    ToolOutput::from_venue(
        venue(data),
        format!("source: {}\n{}", data.source.label(), text.as_ref()),
        body,
    )
}

/// A percentage for text: `0.1234` -> `12.34%`.
pub(crate) fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}
