//! Vault transactions: `approve` / `deposit` / `depositAll` / `withdraw` /
//! `withdrawAll` calldata (ABI-encoded by alloy from [`super::abi`]), and
//! EIP-1559 (type 2) signing with the configured key for the rare case the
//! caller asks to send: `0x02 ‖ rlp([chain_id, nonce, tip, fee_cap, gas, to,
//! value, data, access_list, y_parity, r, s])` (EIP-1559, EIP-2718).

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use serde::Serialize;

use super::abi::{IBeefyVault, IERC20};
use crate::error::{DefiError, Result};

/// One call to review (or send): target, calldata and what it does.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TxCall {
    /// What it does, in words.
    pub purpose: String,
    /// Beefy chain key.
    pub chain: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Contract called (checksummed).
    pub to: String,
    /// Calldata, 0x-hex.
    pub data: String,
    /// Native value sent (always 0 here).
    pub value: String,
    /// The function's 4-byte selector, 0x-hex.
    pub selector: String,
}

impl TxCall {
    fn new(purpose: String, chain: &str, chain_id: u64, to: Address, data: Vec<u8>) -> Self {
        Self {
            purpose,
            chain: chain.to_string(),
            chain_id,
            to: to.to_checksum(None),
            selector: format!("0x{}", hex::encode(&data[..4])),
            data: format!("0x{}", hex::encode(&data)),
            value: "0".into(),
        }
    }

    /// Target address.
    pub fn to_address(&self) -> Result<Address> {
        self.to
            .parse()
            .map_err(|_| DefiError::Config(format!("bad address {}", self.to)))
    }

    /// Calldata bytes.
    pub fn data_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(self.data.trim_start_matches("0x"))
            .map_err(|_| DefiError::Config("calldata is not hex".into()))
    }
}

/// `want.approve(vault, amount)`.
pub fn approve(chain: &str, chain_id: u64, want: Address, vault: Address, amount: U256) -> TxCall {
    let data = IERC20::approveCall {
        spender: vault,
        amount,
    }
    .abi_encode();
    TxCall::new(
        format!("approve the vault {vault} to take {amount} raw units of the want token"),
        chain,
        chain_id,
        want,
        data,
    )
}

/// `vault.deposit(amount)`, or `depositAll()` when `amount` is `None`.
pub fn deposit(chain: &str, chain_id: u64, vault: Address, amount: Option<U256>) -> TxCall {
    match amount {
        Some(amount) => TxCall::new(
            format!("deposit {amount} raw units of the want token"),
            chain,
            chain_id,
            vault,
            IBeefyVault::depositCall { _amount: amount }.abi_encode(),
        ),
        None => TxCall::new(
            "deposit the whole want balance".into(),
            chain,
            chain_id,
            vault,
            IBeefyVault::depositAllCall {}.abi_encode(),
        ),
    }
}

/// `vault.withdraw(shares)`, or `withdrawAll()` when `shares` is `None`.
pub fn withdraw(chain: &str, chain_id: u64, vault: Address, shares: Option<U256>) -> TxCall {
    match shares {
        Some(shares) => TxCall::new(
            format!("withdraw {shares} raw vault shares"),
            chain,
            chain_id,
            vault,
            IBeefyVault::withdrawCall { _shares: shares }.abi_encode(),
        ),
        None => TxCall::new(
            "withdraw every share".into(),
            chain,
            chain_id,
            vault,
            IBeefyVault::withdrawAllCall {}.abi_encode(),
        ),
    }
}

/// The key that signs transactions (never printed): the shared
/// [`nt_evm::EvmKey`].
pub use nt_evm::EvmKey as Signer;
/// The EIP-1559 transaction shape and encoding, shared with the Polymarket
/// bundle (`nt-evm`).
pub use nt_evm::Tx1559;
