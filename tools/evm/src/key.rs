//! A secp256k1 private key, its Ethereum address, and digest signing the
//! way eth-account does it (RFC 6979 deterministic nonces, low-s).

use alloy_primitives::{Address, B256, keccak256};
use k256::ecdsa::SigningKey;

use crate::error::EvmError;

/// A private key and its address; `Debug` never prints the key.
#[derive(Clone)]
pub struct EvmKey {
    key: SigningKey,
    address: Address,
}

impl std::fmt::Debug for EvmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmKey")
            .field("address", &self.address)
            .finish()
    }
}

/// A recoverable signature: `r ‖ s` and the y parity (0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// `r ‖ s`, 64 bytes big-endian.
    pub rs: [u8; 64],
    /// The recovery id's y parity, 0 or 1.
    pub y_parity: u8,
}

impl Signature {
    /// `r ‖ s ‖ v` with `v` = 27 or 28, as eth_account's `signHash` gives.
    pub fn to_rsv(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&self.rs);
        out[64] = 27 + self.y_parity;
        out
    }
}

impl EvmKey {
    /// From a hex private key (with or without `0x`, surrounding blanks
    /// ignored).
    pub fn from_hex(text: &str) -> Result<Self, EvmError> {
        let bytes =
            hex::decode(text.trim().trim_start_matches("0x")).map_err(|_| EvmError::KeyNotHex)?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| EvmError::KeyInvalid)?;
        let point = key.verifying_key().to_encoded_point(false);
        let address = Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]);
        Ok(Self { key, address })
    }

    /// The key's address: the last 20 bytes of the keccak-256 of the
    /// uncompressed public key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest.
    pub fn sign_hash(&self, hash: B256) -> Result<Signature, EvmError> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(hash.as_slice())
            .map_err(|e| EvmError::Signing(e.to_string()))?;
        let mut rs = [0u8; 64];
        rs.copy_from_slice(&sig.to_bytes());
        Ok(Signature {
            rs,
            y_parity: recid.to_byte(),
        })
    }
}

impl AsRef<EvmKey> for EvmKey {
    fn as_ref(&self) -> &EvmKey {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Anvil's (Hardhat's) first development account: a published key and
    /// address pair.
    const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ANVIL_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    #[test]
    fn the_address_of_a_known_key() {
        let key = EvmKey::from_hex(ANVIL_KEY).expect("key");
        assert_eq!(key.address().to_checksum(None), ANVIL_ADDRESS);
        assert!(
            !format!("{key:?}").contains("ac0974"),
            "Debug never prints the key"
        );
    }

    #[test]
    fn bad_keys_say_why() {
        assert_eq!(EvmKey::from_hex("0xzz").unwrap_err(), EvmError::KeyNotHex);
        assert_eq!(EvmKey::from_hex("0x00").unwrap_err(), EvmError::KeyInvalid);
    }
}
