//! Vault transactions: `approve` / `deposit` / `depositAll` / `withdraw` /
//! `withdrawAll` calldata (ABI-encoded by alloy from [`super::abi`]), and
//! EIP-1559 (type 2) signing with the configured key for the rare case the
//! caller asks to send: `0x02 ‖ rlp([chain_id, nonce, tip, fee_cap, gas, to,
//! value, data, access_list, y_parity, r, s])` (EIP-1559, EIP-2718).

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{Encodable, Header};
use alloy_sol_types::SolCall;
use k256::ecdsa::SigningKey;
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

/// A secp256k1 key that signs transactions (never printed).
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    address: Address,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("address", &self.address)
            .finish()
    }
}

impl Signer {
    /// From a hex private key (with or without `0x`).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim().trim_start_matches("0x"))
            .map_err(|_| DefiError::Config("DeFi private key is not hex".into()))?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| {
            DefiError::Config("DeFi private key is not a valid secp256k1 key".into())
        })?;
        let point = key.verifying_key().to_encoded_point(false);
        let address = Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]);
        Ok(Self { key, address })
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a digest: (r ‖ s, y parity).
    fn sign_hash(&self, hash: B256) -> Result<([u8; 64], u8)> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(hash.as_slice())
            .map_err(|e| DefiError::Config(format!("signing failed: {e}")))?;
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        Ok((out, recid.to_byte()))
    }
}

/// An unsigned EIP-1559 transaction with zero value and no access list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx1559 {
    /// Chain id.
    pub chain_id: u64,
    /// Sender's nonce.
    pub nonce: u64,
    /// Priority fee per gas, wei.
    pub max_priority_fee_per_gas: u128,
    /// Fee cap per gas, wei.
    pub max_fee_per_gas: u128,
    /// Gas limit.
    pub gas: u64,
    /// Contract called.
    pub to: Address,
    /// Calldata.
    pub data: Vec<u8>,
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

impl Tx1559 {
    fn fields(&self, out: &mut Vec<u8>) {
        self.chain_id.encode(out);
        self.nonce.encode(out);
        self.max_priority_fee_per_gas.encode(out);
        self.max_fee_per_gas.encode(out);
        self.gas.encode(out);
        self.to.encode(out);
        0u8.encode(out);
        Bytes::copy_from_slice(&self.data).encode(out);
        Header {
            list: true,
            payload_length: 0,
        }
        .encode(out);
    }

    fn typed(payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x02];
        Header {
            list: true,
            payload_length: payload.len(),
        }
        .encode(&mut out);
        out.extend_from_slice(payload);
        out
    }

    /// The digest signed: `keccak256(0x02 ‖ rlp([fields]))`.
    pub fn signing_hash(&self) -> B256 {
        let mut payload = Vec::new();
        self.fields(&mut payload);
        keccak256(Self::typed(&payload))
    }

    /// The signed raw transaction.
    pub fn sign(&self, signer: &Signer) -> Result<Vec<u8>> {
        let (sig, parity) = signer.sign_hash(self.signing_hash())?;
        let mut payload = Vec::new();
        self.fields(&mut payload);
        parity.encode(&mut payload);
        trim(&sig[..32]).encode(&mut payload);
        trim(&sig[32..]).encode(&mut payload);
        Ok(Self::typed(&payload))
    }
}
