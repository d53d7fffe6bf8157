//! pUSD, the CLOB V2 collateral, and the on-chain calls around it:
//! wrapping USDC.e into pUSD (CollateralOnramp) and back (CollateralOfframp),
//! the approvals a trading wallet needs, and split / merge / redeem through
//! the V2 collateral adapters. Every function returns calldata for review;
//! nothing here sends a transaction.
//!
//! Addresses from Polymarket's contracts page
//! (<https://docs.polymarket.com/resources/contract-addresses>) and the V2
//! migration guide; the adapters keep the ConditionalTokens ABI shape
//! (`splitPosition`, `mergePositions`, `redeemPositions`) with pUSD as the
//! collateral argument.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, sol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};
use crate::signing::{EXCHANGE_V2, EXCHANGE_V3, NEG_RISK_EXCHANGE_V2};

sol! {
    /// ERC-20 approve.
    function approve(address spender, uint256 amount);
    /// ERC-1155 setApprovalForAll (the CTF's outcome tokens).
    function setApprovalForAll(address operator, bool approved);
    /// CollateralOnramp.wrap: `amount` of `asset` in, pUSD to `to`.
    function wrap(address asset, address to, uint256 amount);
    /// CollateralOfframp.unwrap: `amount` pUSD in, `asset` to `to`.
    function unwrap(address asset, address to, uint256 amount);
    /// Collateral adapter (CTF shape): pUSD into a full outcome set.
    function splitPosition(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] partition, uint256 amount);
    /// Collateral adapter (CTF shape): a full outcome set back into pUSD.
    function mergePositions(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] partition, uint256 amount);
    /// Collateral adapter (CTF shape): winning tokens of a resolved market into pUSD.
    function redeemPositions(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] indexSets);
}

/// pUSD (Polymarket USD), 6 decimals.
pub const PUSD: &str = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB";
/// USDC.e, what the onramp wraps.
pub const USDC_E: &str = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174";
/// Gnosis ConditionalTokens (CTF).
pub const CONDITIONAL_TOKENS: &str = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045";
/// CollateralOnramp (wrap).
pub const COLLATERAL_ONRAMP: &str = "0x93070a847efEf7F70739046A929D47a521F5B8ee";
/// CollateralOfframp (unwrap).
pub const COLLATERAL_OFFRAMP: &str = "0x2957922Eb93258b93368531d39fAcCA3B4dC5854";
/// V2 split/merge/redeem adapter for binary CTF markets.
pub const CTF_COLLATERAL_ADAPTER: &str = "0xAdA100Db00Ca00073811820692005400218FcE1f";
/// V2 split/merge/redeem adapter for neg-risk markets.
pub const NEG_RISK_COLLATERAL_ADAPTER: &str = "0xadA2005600Dec949baf300f4C6120000bDB6eAab";
/// The Neg-Risk adapter (its outcome tokens move through it).
pub const NEG_RISK_ADAPTER: &str = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296";

fn addr(text: &str) -> Address {
    text.parse().unwrap_or(Address::ZERO)
}

/// One transaction for the caller to review (and send only when asked).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Call {
    /// What it does, in words.
    pub purpose: String,
    /// Contract called, checksummed.
    pub to: String,
    /// `0x` calldata.
    pub data: String,
}

fn call(purpose: impl Into<String>, to: &str, data: Vec<u8>) -> Call {
    Call {
        purpose: purpose.into(),
        to: addr(to).to_checksum(None),
        data: format!("0x{}", hex::encode(data)),
    }
}

/// pUSD (6 decimals) in base units; refuses negatives and sub-unit amounts.
pub fn units(field: &str, amount: Decimal) -> Result<U256> {
    if amount <= Decimal::ZERO {
        return Err(PolymarketError::invalid(field, "amount must be positive"));
    }
    let scaled = amount * Decimal::from(1_000_000);
    if !scaled.fract().is_zero() {
        return Err(PolymarketError::invalid(
            field,
            "amount has more than 6 decimal places (pUSD has 6)",
        ));
    }
    scaled
        .trunc()
        .normalize()
        .to_string()
        .parse()
        .map_err(|_| PolymarketError::invalid(field, "amount too large"))
}

/// Every approval a V2 trading wallet needs: pUSD to each exchange and the
/// neg-risk adapter, and the CTF's outcome tokens to the same operators
/// (what `approve_allowances` in the official examples sets).
pub fn approvals() -> Vec<Call> {
    let spenders = [
        ("CTF Exchange V2", EXCHANGE_V2),
        ("Neg-Risk CTF Exchange V2", NEG_RISK_EXCHANGE_V2),
        ("Exchange V3", EXCHANGE_V3),
        ("Neg-Risk Adapter", NEG_RISK_ADAPTER),
        ("CTF collateral adapter", CTF_COLLATERAL_ADAPTER),
        ("Neg-risk collateral adapter", NEG_RISK_COLLATERAL_ADAPTER),
    ];
    let mut out = Vec::new();
    for (name, spender) in spenders {
        out.push(call(
            format!("pUSD: approve {name} to spend collateral"),
            PUSD,
            approveCall {
                spender: addr(spender),
                amount: U256::MAX,
            }
            .abi_encode(),
        ));
        out.push(call(
            format!("CTF: approve {name} to move outcome tokens"),
            CONDITIONAL_TOKENS,
            setApprovalForAllCall {
                operator: addr(spender),
                approved: true,
            }
            .abi_encode(),
        ));
    }
    out
}

/// Wrap `amount` USDC.e into pUSD for `to`: the USDC.e approval of the
/// onramp, then `wrap`.
pub fn wrap(to: Address, amount: Decimal) -> Result<Vec<Call>> {
    let n = units("amount", amount)?;
    Ok(vec![
        call(
            "USDC.e: approve the CollateralOnramp",
            USDC_E,
            approveCall {
                spender: addr(COLLATERAL_ONRAMP),
                amount: n,
            }
            .abi_encode(),
        ),
        call(
            format!("CollateralOnramp: wrap {amount} USDC.e into pUSD"),
            COLLATERAL_ONRAMP,
            wrapCall {
                asset: addr(USDC_E),
                to,
                amount: n,
            }
            .abi_encode(),
        ),
    ])
}

/// Unwrap `amount` pUSD into USDC.e for `to`: the pUSD approval of the
/// offramp, then `unwrap`.
pub fn unwrap(to: Address, amount: Decimal) -> Result<Vec<Call>> {
    let n = units("amount", amount)?;
    Ok(vec![
        call(
            "pUSD: approve the CollateralOfframp",
            PUSD,
            approveCall {
                spender: addr(COLLATERAL_OFFRAMP),
                amount: n,
            }
            .abi_encode(),
        ),
        call(
            format!("CollateralOfframp: unwrap {amount} pUSD into USDC.e"),
            COLLATERAL_OFFRAMP,
            unwrapCall {
                asset: addr(USDC_E),
                to,
                amount: n,
            }
            .abi_encode(),
        ),
    ])
}

/// Parses a condition id (`0x` + 64 hex).
pub fn condition_id(text: &str) -> Result<B256> {
    text.trim()
        .parse()
        .map_err(|_| PolymarketError::invalid("market", "condition id must be 0x + 64 hex digits"))
}

fn adapter(neg_risk: bool) -> &'static str {
    if neg_risk {
        NEG_RISK_COLLATERAL_ADAPTER
    } else {
        CTF_COLLATERAL_ADAPTER
    }
}

/// The binary market's outcome partition: index sets 1 (YES) and 2 (NO).
fn binary_partition() -> Vec<U256> {
    vec![U256::from(1), U256::from(2)]
}

/// Redeem a resolved market's winning tokens for pUSD through the V2
/// collateral adapter of its kind.
pub fn redeem(condition: &str, neg_risk: bool) -> Result<Call> {
    let data = redeemPositionsCall {
        collateralToken: addr(PUSD),
        parentCollectionId: B256::ZERO,
        conditionId: condition_id(condition)?,
        indexSets: binary_partition(),
    }
    .abi_encode();
    Ok(call(
        format!("redeem the winning tokens of {condition} for pUSD"),
        adapter(neg_risk),
        data,
    ))
}

/// Split `amount` pUSD into `amount` YES + `amount` NO.
pub fn split(condition: &str, neg_risk: bool, amount: Decimal) -> Result<Call> {
    let data = splitPositionCall {
        collateralToken: addr(PUSD),
        parentCollectionId: B256::ZERO,
        conditionId: condition_id(condition)?,
        partition: binary_partition(),
        amount: units("amount", amount)?,
    }
    .abi_encode();
    Ok(call(
        format!("split {amount} pUSD into YES + NO of {condition}"),
        adapter(neg_risk),
        data,
    ))
}

/// Merge `amount` YES + `amount` NO back into `amount` pUSD.
pub fn merge(condition: &str, neg_risk: bool, amount: Decimal) -> Result<Call> {
    let data = mergePositionsCall {
        collateralToken: addr(PUSD),
        parentCollectionId: B256::ZERO,
        conditionId: condition_id(condition)?,
        partition: binary_partition(),
        amount: units("amount", amount)?,
    }
    .abi_encode();
    Ok(call(
        format!("merge {amount} YES + NO of {condition} into pUSD"),
        adapter(neg_risk),
        data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn selectors_are_the_standard_ones() {
        // keccak256 of each signature's first 4 bytes, as any ABI tool gives them.
        let id = format!("0x{}", "ab".repeat(32));
        assert!(
            redeem(&id, false)
                .expect("r")
                .data
                .starts_with("0x01b7037c")
        );
        assert!(
            split(&id, true, dec!(1))
                .expect("s")
                .data
                .starts_with("0x72ce4275")
        );
        assert!(
            merge(&id, false, dec!(1))
                .expect("m")
                .data
                .starts_with("0x9e7212ad")
        );
        let a = approvals();
        assert!(a[0].data.starts_with("0x095ea7b3"), "{}", a[0].data);
        assert!(a[1].data.starts_with("0xa22cb465"), "{}", a[1].data);
        assert_eq!(a.len(), 12);
    }

    #[test]
    fn redeem_goes_to_the_adapter_of_the_market_kind_with_pusd() {
        let id = format!("0x{}", "cd".repeat(32));
        let r = redeem(&id, true).expect("r");
        assert_eq!(r.to, addr(NEG_RISK_COLLATERAL_ADAPTER).to_checksum(None));
        assert!(
            r.data
                .contains(&PUSD.trim_start_matches("0x").to_lowercase())
        );
        assert!(redeem("0x12", false).is_err());
    }

    #[test]
    fn wrap_amounts_are_six_decimal_units() {
        let calls = wrap(Address::ZERO, dec!(12.5)).expect("wrap");
        // 12.5 pUSD = 12_500_000 units = 0xbebc20, the last word of the call.
        assert!(calls[1].data.ends_with("bebc20"), "{}", calls[1].data);
        assert!(wrap(Address::ZERO, dec!(0.0000001)).is_err());
        assert!(unwrap(Address::ZERO, dec!(-1)).is_err());
    }
}
