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

use alloy_primitives::{Address, keccak256};
use nt_venue_http::reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{PolymarketError, Result};
use crate::http::Service;
use crate::signing::Wallet;

/// The EIP-1559 transaction shape and encoding, shared with the DeFi
/// bundle (`nt-evm`).
pub use nt_evm::Tx1559;

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
            let raw = tx
                .sign(wallet)
                .map_err(|e| PolymarketError::Config(e.to_string()))?;
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
