//! On-chain reads of a Beefy vault and a wallet, batched into one Multicall3
//! `aggregate3` call: the vault's `getPricePerFullShare`, `balance`,
//! `totalSupply`, `want`, `strategy`, its ERC-20 metadata, the want token's
//! metadata, and for a wallet its share `balanceOf`, want `balanceOf`, want
//! `allowance` to the vault and native balance (`getEthBalance`).

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use serde::Serialize;

use super::abi::{IBeefyBoost, IBeefyVault, IERC20, IMulticall3};
use super::rpc::{CallResult, RpcClient};
use crate::chains::MULTICALL3;
use crate::error::{DefiError, Result};

/// ERC-20 metadata.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenMeta {
    /// Token address.
    pub address: String,
    /// `name()`.
    pub name: Option<String>,
    /// `symbol()`.
    pub symbol: Option<String>,
    /// `decimals()`.
    pub decimals: Option<u8>,
}

/// A vault's on-chain state.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultState {
    /// Vault address.
    pub vault: String,
    /// `getPricePerFullShare()`, want per share scaled by 1e18.
    pub price_per_full_share: U256,
    /// `balance()`: want held by vault and strategy, raw.
    pub balance: U256,
    /// `totalSupply()` of shares, raw.
    pub total_supply: U256,
    /// `want()`.
    pub want: String,
    /// `strategy()`.
    pub strategy: String,
    /// The vault's own token metadata.
    pub share_token: TokenMeta,
    /// The want token's metadata (second batch, once `want` is known).
    pub want_token: TokenMeta,
}

/// A wallet's holdings in a vault.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletState {
    /// Wallet address.
    pub wallet: String,
    /// Vault shares, raw.
    pub shares: U256,
    /// Want tokens in the wallet, raw.
    pub want_balance: U256,
    /// Want allowance granted to the vault, raw.
    pub allowance: U256,
    /// Native coin, wei.
    pub native_balance: U256,
}

fn need(r: &CallResult, what: &str) -> Result<Bytes> {
    r.clone()
        .map_err(|e| DefiError::Upstream(format!("{what}: {e}")))
}

fn uint<C: SolCall<Return = U256>>(r: &CallResult, what: &str) -> Result<U256> {
    C::abi_decode_returns(&need(r, what)?)
        .map_err(|e| DefiError::Upstream(format!("{what} does not decode: {e}")))
}

fn addr<C: SolCall<Return = Address>>(r: &CallResult, what: &str) -> Result<Address> {
    C::abi_decode_returns(&need(r, what)?)
        .map_err(|e| DefiError::Upstream(format!("{what} does not decode: {e}")))
}

fn meta_calls(token: Address) -> Vec<(Address, Bytes)> {
    vec![
        (token, IERC20::nameCall {}.abi_encode().into()),
        (token, IERC20::symbolCall {}.abi_encode().into()),
        (token, IERC20::decimalsCall {}.abi_encode().into()),
    ]
}

fn meta(token: Address, r: &[CallResult]) -> TokenMeta {
    let text = |x: &CallResult| {
        x.as_ref()
            .ok()
            .and_then(|b| IERC20::nameCall::abi_decode_returns(b).ok())
    };
    TokenMeta {
        address: token.to_checksum(None),
        name: text(&r[0]),
        symbol: r[1]
            .as_ref()
            .ok()
            .and_then(|b| IERC20::symbolCall::abi_decode_returns(b).ok()),
        decimals: r[2]
            .as_ref()
            .ok()
            .and_then(|b| IERC20::decimalsCall::abi_decode_returns(b).ok()),
    }
}

/// Reads the vault (two Multicall3 batches: the vault, then the want token
/// and the wallet once `want` is known).
pub async fn read_vault(
    rpc: &RpcClient,
    vault: Address,
    wallet: Option<Address>,
) -> Result<(VaultState, Option<WalletState>)> {
    let mut calls = vec![
        (
            vault,
            IBeefyVault::getPricePerFullShareCall {}.abi_encode().into(),
        ),
        (vault, IBeefyVault::balanceCall {}.abi_encode().into()),
        (vault, IERC20::totalSupplyCall {}.abi_encode().into()),
        (vault, IBeefyVault::wantCall {}.abi_encode().into()),
        (vault, IBeefyVault::strategyCall {}.abi_encode().into()),
    ];
    calls.extend(meta_calls(vault));
    let r = rpc.multicall(&calls).await?;
    let want = addr::<IBeefyVault::wantCall>(&r[3], "want()")?;
    let mut second = meta_calls(want);
    if let Some(w) = wallet {
        second.push((
            vault,
            IERC20::balanceOfCall { owner: w }.abi_encode().into(),
        ));
        second.push((want, IERC20::balanceOfCall { owner: w }.abi_encode().into()));
        second.push((
            want,
            IERC20::allowanceCall {
                owner: w,
                spender: vault,
            }
            .abi_encode()
            .into(),
        ));
        second.push((
            MULTICALL3,
            IMulticall3::getEthBalanceCall { addr: w }
                .abi_encode()
                .into(),
        ));
    }
    let s = rpc.multicall(&second).await?;
    let state = VaultState {
        vault: vault.to_checksum(None),
        price_per_full_share: uint::<IBeefyVault::getPricePerFullShareCall>(
            &r[0],
            "getPricePerFullShare()",
        )?,
        balance: uint::<IBeefyVault::balanceCall>(&r[1], "balance()")?,
        total_supply: uint::<IERC20::totalSupplyCall>(&r[2], "totalSupply()")?,
        want: want.to_checksum(None),
        strategy: addr::<IBeefyVault::strategyCall>(&r[4], "strategy()")?.to_checksum(None),
        share_token: meta(vault, &r[5..8]),
        want_token: meta(want, &s[0..3]),
    };
    let wallet_state = match wallet {
        Some(w) => Some(WalletState {
            wallet: w.to_checksum(None),
            shares: uint::<IERC20::balanceOfCall>(&s[3], "balanceOf(wallet)")?,
            want_balance: uint::<IERC20::balanceOfCall>(&s[4], "want balanceOf(wallet)")?,
            allowance: uint::<IERC20::allowanceCall>(&s[5], "allowance(wallet, vault)")?,
            native_balance: uint::<IMulticall3::getEthBalanceCall>(&s[6], "getEthBalance(wallet)")?,
        }),
        None => None,
    };
    Ok((state, wallet_state))
}

/// A boost contract's reward state.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostState {
    /// `rewardRate()`: reward token units (raw) per second.
    pub reward_rate: U256,
    /// `totalSupply()`: moo tokens staked (raw).
    pub total_supply: U256,
    /// `periodFinish()`: when rewards stop, Unix seconds.
    pub period_finish: U256,
}

/// Reads a boost's `rewardRate`, `totalSupply` and `periodFinish` in one
/// Multicall3 batch (the Beefy API's `/boosts` does not carry them).
pub async fn read_boost(rpc: &RpcClient, boost: Address) -> Result<BoostState> {
    let calls = vec![
        (boost, IBeefyBoost::rewardRateCall {}.abi_encode().into()),
        (boost, IBeefyBoost::totalSupplyCall {}.abi_encode().into()),
        (boost, IBeefyBoost::periodFinishCall {}.abi_encode().into()),
    ];
    let r = rpc.multicall(&calls).await?;
    Ok(BoostState {
        reward_rate: uint::<IBeefyBoost::rewardRateCall>(&r[0], "rewardRate()")?,
        total_supply: uint::<IBeefyBoost::totalSupplyCall>(&r[1], "totalSupply()")?,
        period_finish: uint::<IBeefyBoost::periodFinishCall>(&r[2], "periodFinish()")?,
    })
}
