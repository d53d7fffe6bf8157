//! Sending the calls this bundle builds (pUSD approvals, wrap / unwrap,
//! split / merge / redeem) as EIP-1559 (type 2) transactions through a
//! Polygon JSON-RPC endpoint, signed by the configured key.
//!
//! Only an EOA wallet (signature type 0) sends its own transactions; a
//! Polymarket proxy, safe or deposit wallet acts through its contract and
//! Polymarket's relayer, so its calls are returned for review instead.
//! The encoding matches eth-account byte for byte (`fixtures/tx_fixtures.json`,
//! `tests/chain_fixtures.rs`). Standard Ethereum JSON-RPC methods only:
//! `eth_chainId`, `eth_getTransactionCount`, `eth_estimateGas`,
//! `eth_maxPriorityFeePerGas`, `eth_getBlockByNumber`, `eth_sendRawTransaction`.

use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_rlp::{Encodable, Header};
use nt_venue_http::reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{PolymarketError, Result};
use crate::http::Service;
use crate::signing::Wallet;

/// A big-endian integer as RLP wants it: without leading zero bytes.
fn uint_be(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// An unsigned EIP-1559 transaction.
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

    /// Signs and encodes the raw transaction (`0x02 ‖ rlp([fields, y, r, s])`).
    pub fn sign(&self, wallet: &Wallet) -> Result<Vec<u8>> {
        let sig = wallet.sign_hash(self.signing_hash())?;
        let mut payload = Vec::new();
        self.fields(&mut payload);
        u64::from(sig[64] - 27).encode(&mut payload);
        uint_be(&sig[..32]).encode(&mut payload);
        uint_be(&sig[32..64]).encode(&mut payload);
        Ok(Self::typed(&payload))
    }
}

/// A transaction sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SentTx {
    /// What it does.
    pub purpose: String,
    /// Transaction hash.
    pub hash: String,
    /// Nonce used.
    pub nonce: u64,
    /// Gas limit.
    pub gas: u64,
    /// Fee cap per gas, wei.
    pub max_fee_per_gas: String,
}

/// A Polygon JSON-RPC client.
#[derive(Debug)]
pub struct ChainClient {
    svc: Service,
    chain_id: u64,
}

fn quantity(v: &Value, what: &str) -> Result<u128> {
    let text = v
        .as_str()
        .ok_or_else(|| PolymarketError::Upstream(format!("RPC {what}: not a hex quantity")))?;
    u128::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|_| PolymarketError::Upstream(format!("RPC {what}: bad hex quantity {text}")))
}

impl ChainClient {
    /// A client for the RPC at `url`, for `chain_id`.
    pub fn new(url: &str, chain_id: u64) -> Result<Self> {
        Ok(Self {
            svc: Service::new("Polygon RPC", url)?,
            chain_id,
        })
    }

    async fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let answer = self
            .svc
            .request(Method::POST, "", &[], Some(body.to_string()), &|| {
                Ok(Vec::new())
            })
            .await?;
        if let Some(err) = answer.get("error") {
            return Err(PolymarketError::Upstream(format!(
                "RPC {method}: {}",
                err["message"].as_str().unwrap_or("error")
            )));
        }
        Ok(answer["result"].clone())
    }

    /// Signs and sends `calls` from `wallet` in order (consecutive nonces),
    /// after checking the endpoint serves the configured chain.
    pub async fn send(
        &self,
        wallet: &Wallet,
        calls: &[crate::collateral::Call],
    ) -> Result<Vec<SentTx>> {
        let chain = quantity(&self.rpc("eth_chainId", json!([])).await?, "eth_chainId")?;
        if chain != u128::from(self.chain_id) {
            return Err(PolymarketError::Config(format!(
                "the RPC serves chain {chain}, not {}",
                self.chain_id
            )));
        }
        let from = wallet.address().to_checksum(None);
        let mut nonce = u64::try_from(quantity(
            &self
                .rpc("eth_getTransactionCount", json!([from, "pending"]))
                .await?,
            "nonce",
        )?)
        .map_err(|_| PolymarketError::Upstream("nonce out of range".into()))?;
        let tip = quantity(
            &self.rpc("eth_maxPriorityFeePerGas", json!([])).await?,
            "priority fee",
        )?;
        let block = self
            .rpc("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let base = quantity(&block["baseFeePerGas"], "base fee")?;
        let max_fee = base.saturating_mul(2).saturating_add(tip);
        let mut sent = Vec::new();
        for call in calls {
            let to: Address = call
                .to
                .parse()
                .map_err(|_| PolymarketError::Config(format!("bad address {}", call.to)))?;
            let data = hex::decode(call.data.trim_start_matches("0x"))
                .map_err(|_| PolymarketError::Config("calldata is not hex".into()))?;
            let estimate = quantity(
                &self
                    .rpc(
                        "eth_estimateGas",
                        json!([{ "from": from, "to": call.to, "data": call.data }]),
                    )
                    .await?,
                "gas estimate",
            )?;
            // 20% headroom over the estimate.
            let gas = u64::try_from(estimate.saturating_mul(6) / 5).unwrap_or(u64::MAX);
            let tx = Tx1559 {
                chain_id: self.chain_id,
                nonce,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: max_fee,
                gas,
                to,
                data,
            };
            let raw = tx.sign(wallet)?;
            let hash = keccak256(&raw);
            let answer = self
                .rpc(
                    "eth_sendRawTransaction",
                    json!([format!("0x{}", hex::encode(&raw))]),
                )
                .await?;
            if answer
                .as_str()
                .is_some_and(|h| !h.eq_ignore_ascii_case(&hash.to_string()))
            {
                return Err(PolymarketError::Upstream(format!(
                    "the RPC answered hash {answer} for transaction {hash}"
                )));
            }
            sent.push(SentTx {
                purpose: call.purpose.clone(),
                hash: hash.to_string(),
                nonce,
                gas,
                max_fee_per_gas: max_fee.to_string(),
            });
            nonce += 1;
        }
        Ok(sent)
    }
}
