//! The EVM chains Beefy runs vaults on that this bundle knows: Beefy's chain
//! key (as in `/vaults` `chain` and the keys of `/tvl`), EIP-155 chain id,
//! native coin, and the Multicall3 contract (deployed at the same address on
//! every chain: <https://www.multicall3.com/deployments>).

use alloy_primitives::{Address, address};
use serde::Serialize;

/// Multicall3 (`aggregate3`, `getEthBalance`), the same address everywhere.
pub const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");

/// One chain.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Chain {
    /// Beefy's key (`ethereum`, `bsc`, `base`, ...).
    pub key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Native coin symbol (gas).
    pub native: &'static str,
}

/// Every chain this bundle knows, Beefy's keys.
pub const CHAINS: &[Chain] = &[
    Chain {
        key: "ethereum",
        name: "Ethereum",
        chain_id: 1,
        native: "ETH",
    },
    Chain {
        key: "optimism",
        name: "OP Mainnet",
        chain_id: 10,
        native: "ETH",
    },
    Chain {
        key: "bsc",
        name: "BNB Smart Chain",
        chain_id: 56,
        native: "BNB",
    },
    Chain {
        key: "polygon",
        name: "Polygon PoS",
        chain_id: 137,
        native: "POL",
    },
    Chain {
        key: "fantom",
        name: "Fantom",
        chain_id: 250,
        native: "FTM",
    },
    Chain {
        key: "zksync",
        name: "zkSync Era",
        chain_id: 324,
        native: "ETH",
    },
    Chain {
        key: "sonic",
        name: "Sonic",
        chain_id: 146,
        native: "S",
    },
    Chain {
        key: "mantle",
        name: "Mantle",
        chain_id: 5000,
        native: "MNT",
    },
    Chain {
        key: "base",
        name: "Base",
        chain_id: 8453,
        native: "ETH",
    },
    Chain {
        key: "arbitrum",
        name: "Arbitrum One",
        chain_id: 42161,
        native: "ETH",
    },
    Chain {
        key: "avax",
        name: "Avalanche C-Chain",
        chain_id: 43114,
        native: "AVAX",
    },
    Chain {
        key: "linea",
        name: "Linea",
        chain_id: 59144,
        native: "ETH",
    },
    Chain {
        key: "gnosis",
        name: "Gnosis",
        chain_id: 100,
        native: "xDAI",
    },
];

/// The chain with Beefy key `key` (case-insensitive).
pub fn by_key(key: &str) -> Option<&'static Chain> {
    CHAINS
        .iter()
        .find(|c| c.key.eq_ignore_ascii_case(key.trim()))
}

/// The chain with EIP-155 id `id`.
pub fn by_id(id: u64) -> Option<&'static Chain> {
    CHAINS.iter().find(|c| c.chain_id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids_are_unique_and_found() {
        for c in CHAINS {
            assert_eq!(by_key(c.key), Some(c));
            assert_eq!(by_id(c.chain_id), Some(c));
        }
        assert_eq!(by_key("BASE").map(|c| c.chain_id), Some(8453));
        assert!(by_key("solana").is_none());
        assert_eq!(
            MULTICALL3.to_checksum(None),
            "0xcA11bde05977b3631167028862bE2a173976CA11"
        );
    }
}
