//! EIP-1559 (type 2) transactions with zero value and no access list, as
//! the bundles send them: `0x02 ‖ rlp([chain_id, nonce, tip, fee_cap, gas,
//! to, value, data, access_list, y_parity, r, s])` (EIP-1559, EIP-2718),
//! byte for byte what eth-account produces (the bundles' fixtures check it).

use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_rlp::{Encodable, Header};

use crate::error::EvmError;
use crate::key::{EvmKey, Signature};

/// An unsigned EIP-1559 transaction with zero value and no access list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx1559 {
    /// Chain id (137 for Polygon).
    pub chain_id: u64,
    /// Sender's nonce.
    pub nonce: u64,
    /// Priority fee per gas (wei).
    pub max_priority_fee_per_gas: u128,
    /// Fee cap per gas (wei).
    pub max_fee_per_gas: u128,
    /// Gas limit.
    pub gas: u64,
    /// Contract called.
    pub to: Address,
    /// Calldata.
    pub data: Vec<u8>,
}

/// A big-endian integer as RLP wants it: without leading zero bytes.
fn uint_be(bytes: &[u8]) -> &[u8] {
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
        // value: 0
        0u8.encode(out);
        Bytes::copy_from_slice(&self.data).encode(out);
        // An empty access list.
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

    /// The digest the sender signs: `keccak256(0x02 ‖ rlp([fields]))`.
    pub fn signing_hash(&self) -> B256 {
        let mut payload = Vec::new();
        self.fields(&mut payload);
        keccak256(Self::typed(&payload))
    }

    /// The raw transaction with `sig` (over [`Tx1559::signing_hash`]).
    pub fn encode_signed(&self, sig: &Signature) -> Vec<u8> {
        let mut payload = Vec::new();
        self.fields(&mut payload);
        sig.y_parity.encode(&mut payload);
        uint_be(&sig.rs[..32]).encode(&mut payload);
        uint_be(&sig.rs[32..]).encode(&mut payload);
        Self::typed(&payload)
    }

    /// Signs with `key` and encodes the raw transaction.
    pub fn sign(&self, key: &impl AsRef<EvmKey>) -> Result<Vec<u8>, EvmError> {
        let sig = key.as_ref().sign_hash(self.signing_hash())?;
        Ok(self.encode_signed(&sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_are_dropped_from_r_and_s() {
        assert_eq!(uint_be(&[0, 0, 1, 2]), &[1, 2]);
        assert_eq!(uint_be(&[0, 0]), &[] as &[u8]);
        let tx = Tx1559 {
            chain_id: 1,
            nonce: 0,
            max_priority_fee_per_gas: 1,
            max_fee_per_gas: 2,
            gas: 21_000,
            to: Address::ZERO,
            data: vec![],
        };
        let mut rs = [0u8; 64];
        rs[31] = 7;
        rs[63] = 9;
        let raw = tx.encode_signed(&Signature { rs, y_parity: 1 });
        assert_eq!(raw[0], 0x02);
        // ... y_parity 1, r = 7, s = 9: single-byte RLP strings at the end.
        assert_eq!(&raw[raw.len() - 3..], &[0x01, 0x07, 0x09]);
    }
}
