//! The tools' typed inputs: the schema an agent sees is generated from these.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;

/// `defi_chains`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainsInput {}

/// `defi_vaults`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultsInput {
    /// Only this chain (Beefy key: `base`, `arbitrum`, `bsc`, ...).
    #[serde(default)]
    pub chain: Option<String>,
    /// Only this platform (`aerodrome`, `curve`, ...).
    #[serde(default)]
    pub platform: Option<String>,
    /// Only vaults holding this asset (`USDC`, `WETH`, ...).
    #[serde(default)]
    pub asset: Option<String>,
    /// `active` (default), `paused`, `eol` or `all`.
    #[serde(default)]
    pub status: Option<String>,
    /// Minimum TVL, USD.
    #[serde(default)]
    pub min_tvl_usd: Option<f64>,
    /// Minimum total APY (0.05 = 5 %).
    #[serde(default)]
    pub min_apy: Option<f64>,
    /// `apy` (default), `tvl` or `id`.
    #[serde(default)]
    pub sort: Option<String>,
    /// At most this many (default 25, max 500).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `defi_vault`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultInput {
    /// Vault id (`aerodrome-weth-usdc`).
    pub vault_id: String,
}

/// `defi_apy_breakdown`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApyBreakdownInput {
    /// Vault id.
    pub vault_id: String,
    /// Project the yield on this many USD (default 1000).
    #[serde(default)]
    pub deposit_usd: Option<Decimal>,
    /// Over this many days (default 365).
    #[serde(default)]
    pub days: Option<f64>,
    /// With `liquidity_usd`: estimate the LP trading-fee APR from this daily
    /// volume and the vault's `lpFee` (`volume · lpFee · 365 / liquidity`).
    #[serde(default)]
    pub daily_volume_usd: Option<f64>,
    /// The pool's liquidity, USD (for the LP fee APR estimate).
    #[serde(default)]
    pub liquidity_usd: Option<f64>,
}

/// `defi_position`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// Vault id; omitted: every paper position.
    #[serde(default)]
    pub vault_id: Option<String>,
    /// Wallet address: read the position on-chain (needs the chain's RPC);
    /// omitted: the paper ledger.
    #[serde(default)]
    pub wallet: Option<String>,
}

/// `defi_build_deposit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildDepositInput {
    /// Vault id.
    pub vault_id: String,
    /// Want tokens to deposit (whole tokens, e.g. `"1.5"`); omitted: `depositAll()`.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Sender: with the chain's RPC configured, checks balance and allowance,
    /// estimates gas and dry-runs the deposit with `eth_call`.
    #[serde(default)]
    pub from: Option<String>,
}

/// `defi_build_withdraw`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildWithdrawInput {
    /// Vault id.
    pub vault_id: String,
    /// Vault shares to redeem (whole shares, 18 decimals); omitted: `withdrawAll()`.
    #[serde(default)]
    pub shares: Option<Decimal>,
    /// Sender: with the chain's RPC, estimates gas and dry-runs the call.
    #[serde(default)]
    pub from: Option<String>,
}

/// What `defi_send_transaction` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendAction {
    /// `want.approve(vault, amount)`.
    Approve,
    /// `vault.deposit(amount)` (or `depositAll()`).
    Deposit,
    /// `vault.withdraw(shares)` (or `withdrawAll()`).
    Withdraw,
}

/// `defi_send_transaction`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// Vault id.
    pub vault_id: String,
    /// approve, deposit or withdraw.
    pub action: SendAction,
    /// Want tokens (approve, deposit) or shares (withdraw); omitted: all.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Must be true: the caller's explicit request to sign and send.
    pub confirm: bool,
}

/// `defi_rank_vaults`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RankInput {
    /// Only these chains.
    #[serde(default)]
    pub chains: Vec<String>,
    /// Only vaults holding one of these assets.
    #[serde(default)]
    pub assets: Vec<String>,
    /// Only these platforms.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Minimum TVL, USD (default 100000).
    #[serde(default)]
    pub min_tvl_usd: Option<f64>,
    /// Minimum safety factor 0-1 (default 0).
    #[serde(default)]
    pub min_safety: Option<f64>,
    /// Leave out vaults exposed to impermanent loss.
    #[serde(default)]
    pub no_impermanent_loss: bool,
    /// At most this many (default 20).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `defi_allocate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateInput {
    /// Budget, USD.
    pub budget_usd: Decimal,
    /// Spread over at most this many of the best vaults (default 5).
    #[serde(default)]
    pub max_vaults: Option<usize>,
    /// Most in one vault, share of the budget (default 0.4).
    #[serde(default)]
    pub max_per_vault: Option<f64>,
    /// Most on one chain (default 0.6).
    #[serde(default)]
    pub max_per_chain: Option<f64>,
    /// Most on one platform (default 0.5).
    #[serde(default)]
    pub max_per_platform: Option<f64>,
    /// Ranking filters.
    #[serde(default)]
    pub filter: Option<RankInput>,
}

/// A current holding, for `defi_rebalance`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holding {
    /// Vault id.
    pub vault_id: String,
    /// USD in it now.
    pub usd: Decimal,
}

/// `defi_rebalance`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceInput {
    /// Current holdings; omitted: the paper positions.
    #[serde(default)]
    pub holdings: Option<Vec<Holding>>,
    /// Skip moves under this many USD (default 25).
    #[serde(default)]
    pub min_move_usd: Option<Decimal>,
    /// Suggest only when the target's APY beats the current by this much (default 0.005).
    #[serde(default)]
    pub min_apy_gain: Option<f64>,
    /// How the target is allocated (budget = the holdings' total).
    #[serde(default)]
    pub max_vaults: Option<usize>,
    /// Most in one vault (default 0.4).
    #[serde(default)]
    pub max_per_vault: Option<f64>,
    /// Most on one chain (default 0.6).
    #[serde(default)]
    pub max_per_chain: Option<f64>,
    /// Most on one platform (default 0.5).
    #[serde(default)]
    pub max_per_platform: Option<f64>,
}

/// `defi_impermanent_loss`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IlInput {
    /// Price of asset A when deposited (B is the numeraire).
    pub price_a_start: f64,
    /// Price of asset A now (or a scenario).
    pub price_a_end: f64,
    /// USD deposited, half in each asset (default 1000).
    #[serde(default)]
    pub deposit_usd: Option<Decimal>,
    /// Fee/farm APY earned meanwhile (default: the vault's, else 0).
    #[serde(default)]
    pub apy: Option<f64>,
    /// A vault whose APY to use.
    #[serde(default)]
    pub vault_id: Option<String>,
    /// Days held (default 365).
    #[serde(default)]
    pub days: Option<f64>,
}

/// `defi_paper_deposit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperDepositInput {
    /// Vault id.
    pub vault_id: String,
    /// Want tokens to deposit.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Or USD worth of want tokens at the data's price.
    #[serde(default)]
    pub amount_usd: Option<Decimal>,
    /// Your id for this deposit: the same id twice books once.
    pub client_id: String,
}

/// `defi_paper_withdraw`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperWithdrawInput {
    /// Vault id.
    pub vault_id: String,
    /// Shares to redeem.
    #[serde(default)]
    pub shares: Option<Decimal>,
    /// Or shares worth this many want tokens.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Or everything (default when neither is given).
    #[serde(default)]
    pub all: bool,
    /// Your id for this withdrawal: the same id twice books once.
    pub client_id: String,
}
