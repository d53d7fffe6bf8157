//! Ethereum plumbing shared by the bundles that touch a chain: Polymarket
//! (pUSD approvals, split / merge / redeem) and DeFi (vault deposits and
//! withdrawals). A domain crate: no MCP in it, no bundle depends on another
//! through it.
//!
//! - [`key`]: a secp256k1 private key, its address, digest signing.
//! - [`tx`]: EIP-1559 (type 2) transactions, encoded as eth-account does.

pub mod error;
pub mod key;
pub mod tx;

pub use error::EvmError;
pub use key::{EvmKey, Signature};
pub use tx::Tx1559;
