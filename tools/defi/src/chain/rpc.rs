//! An Ethereum JSON-RPC client for one chain (standard methods only:
//! `eth_chainId`, `eth_call`, `eth_estimateGas`, `eth_getBalance`,
//! `eth_getTransactionCount`, `eth_maxPriorityFeePerGas`,
//! `eth_getBlockByNumber`, `eth_sendRawTransaction`; Ethereum execution
//! APIs, <https://ethereum.github.io/execution-apis/api-documentation/>) over
//! the shared [`nt_venue_http::VenueClient`], with Multicall3 `aggregate3`
//! batching decoded by alloy.

use std::time::Duration;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use nt_venue_http::reqwest;
use nt_venue_http::{HttpError, Policy, VenueClient, venue_message};
use serde_json::{Value, json};

use super::abi::IMulticall3;
use crate::chains::MULTICALL3;
use crate::error::{DefiError, Result};

/// A JSON-RPC endpoint for one chain.
pub struct RpcClient {
    http: VenueClient,
    url: String,
    chain: String,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry an API key: never printed.
        f.debug_struct("RpcClient")
            .field("chain", &self.chain)
            .finish()
    }
}

struct Failed(DefiError);

impl From<HttpError> for Failed {
    fn from(e: HttpError) -> Self {
        Failed(DefiError::Upstream(format!("RPC {e}")))
    }
}

/// One call's outcome inside a Multicall3 batch.
pub type CallResult = std::result::Result<Bytes, String>;

/// Parses a hex quantity (`0x1a`).
pub fn quantity(v: &Value, what: &str) -> Result<U256> {
    let text = v
        .as_str()
        .ok_or_else(|| DefiError::Upstream(format!("RPC {what}: not a hex quantity: {v}")))?;
    U256::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|_| DefiError::Upstream(format!("RPC {what}: bad hex quantity {text}")))
}

fn hex_bytes(v: &Value, what: &str) -> Result<Bytes> {
    let text = v
        .as_str()
        .ok_or_else(|| DefiError::Upstream(format!("RPC {what}: not hex data: {v}")))?;
    hex::decode(text.trim_start_matches("0x"))
        .map(Bytes::from)
        .map_err(|_| DefiError::Upstream(format!("RPC {what}: bad hex data")))
}

impl RpcClient {
    /// A client for `chain` at `url`.
    pub fn new(chain: &str, url: &str) -> Result<Self> {
        let url = url.trim().to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(DefiError::Config(format!(
                "RPC URL for {chain} must start with http:// or https://"
            )));
        }
        let policy = Policy {
            min_interval: Policy::gap_per_second(20),
            attempts: 3,
            base_backoff: Duration::from_millis(150),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(10),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(15),
        };
        let http = VenueClient::new(&format!("{chain} RPC"), policy)
            .map_err(|e| DefiError::Config(e.to_string()))?;
        Ok(Self {
            http,
            url,
            chain: chain.to_string(),
        })
    }

    /// One JSON-RPC request; a JSON-RPC `error` becomes [`DefiError::Upstream`]
    /// with its message (and revert data, when present).
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        let body =
            json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
        let answer = self
            .http
            .try_send(|http| {
                Ok::<_, Failed>(
                    http.post(&self.url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                )
            })
            .await
            .map_err(|Failed(e)| e)?;
        if !answer.is_success() {
            return Err(DefiError::Upstream(format!(
                "{} RPC {method} answered {}: {}",
                self.chain,
                answer.status,
                venue_message(&answer.body)
            )));
        }
        let v: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            DefiError::Upstream(format!("{} RPC {method}: not JSON: {e}", self.chain))
        })?;
        if let Some(err) = v.get("error") {
            let data = err.get("data").and_then(Value::as_str).unwrap_or("");
            return Err(DefiError::Upstream(format!(
                "{} RPC {method}: {}{}",
                self.chain,
                err["message"].as_str().unwrap_or("error"),
                if data.is_empty() {
                    String::new()
                } else {
                    format!(" (data {data})")
                }
            )));
        }
        Ok(v["result"].clone())
    }

    /// The chain id the endpoint serves.
    pub async fn chain_id(&self) -> Result<u64> {
        let id = quantity(
            &self.request("eth_chainId", json!([])).await?,
            "eth_chainId",
        )?;
        u64::try_from(id).map_err(|_| DefiError::Upstream("chain id out of range".into()))
    }

    /// `eth_call` of `data` on `to` (from `from` when given) at `latest`.
    pub async fn call(&self, from: Option<Address>, to: Address, data: &[u8]) -> Result<Bytes> {
        let mut tx =
            json!({ "to": to.to_checksum(None), "data": format!("0x{}", hex::encode(data)) });
        if let Some(from) = from {
            tx["from"] = json!(from.to_checksum(None));
        }
        hex_bytes(
            &self.request("eth_call", json!([tx, "latest"])).await?,
            "eth_call",
        )
    }

    /// `eth_estimateGas` for calling `to` with `data` from `from`.
    pub async fn estimate_gas(&self, from: Address, to: Address, data: &[u8]) -> Result<u64> {
        let tx = json!({
            "from": from.to_checksum(None),
            "to": to.to_checksum(None),
            "data": format!("0x{}", hex::encode(data)),
        });
        let gas = quantity(&self.request("eth_estimateGas", json!([tx])).await?, "gas")?;
        u64::try_from(gas).map_err(|_| DefiError::Upstream("gas estimate out of range".into()))
    }

    /// Native coin balance of `who`, wei.
    pub async fn native_balance(&self, who: Address) -> Result<U256> {
        quantity(
            &self
                .request("eth_getBalance", json!([who.to_checksum(None), "latest"]))
                .await?,
            "eth_getBalance",
        )
    }

    /// Runs `calls` (target, calldata) in one `eth_call` to Multicall3's
    /// `aggregate3` with `allowFailure` set, so one failing read does not
    /// sink the others; each result is the raw return data or why it failed.
    pub async fn multicall(&self, calls: &[(Address, Bytes)]) -> Result<Vec<CallResult>> {
        let call = IMulticall3::aggregate3Call {
            calls: calls
                .iter()
                .map(|(target, data)| IMulticall3::Call3 {
                    target: *target,
                    allowFailure: true,
                    callData: data.clone(),
                })
                .collect(),
        };
        let raw = self.call(None, MULTICALL3, &call.abi_encode()).await?;
        let results = IMulticall3::aggregate3Call::abi_decode_returns(&raw).map_err(|e| {
            DefiError::Upstream(format!(
                "{} Multicall3 answer does not decode: {e}",
                self.chain
            ))
        })?;
        if results.len() != calls.len() {
            return Err(DefiError::Upstream(format!(
                "{} Multicall3 answered {} results for {} calls",
                self.chain,
                results.len(),
                calls.len()
            )));
        }
        Ok(results
            .into_iter()
            .map(|r| {
                if r.success {
                    Ok(r.returnData)
                } else {
                    Err(format!("reverted (0x{})", hex::encode(&r.returnData)))
                }
            })
            .collect())
    }

    /// Pending nonce of `who`.
    pub async fn nonce(&self, who: Address) -> Result<u64> {
        let n = quantity(
            &self
                .request(
                    "eth_getTransactionCount",
                    json!([who.to_checksum(None), "pending"]),
                )
                .await?,
            "nonce",
        )?;
        u64::try_from(n).map_err(|_| DefiError::Upstream("nonce out of range".into()))
    }

    /// EIP-1559 fees: (priority fee, fee cap = 2·base fee + tip), wei.
    pub async fn fees(&self) -> Result<(u128, u128)> {
        let tip = quantity(
            &self.request("eth_maxPriorityFeePerGas", json!([])).await?,
            "tip",
        )?;
        let block = self
            .request("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let base = quantity(&block["baseFeePerGas"], "base fee")?;
        let tip =
            u128::try_from(tip).map_err(|_| DefiError::Upstream("tip out of range".into()))?;
        let base = u128::try_from(base)
            .map_err(|_| DefiError::Upstream("base fee out of range".into()))?;
        Ok((tip, base.saturating_mul(2).saturating_add(tip)))
    }

    /// Sends a signed raw transaction; returns the hash the node reports.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<String> {
        let answer = self
            .request(
                "eth_sendRawTransaction",
                json!([format!("0x{}", hex::encode(raw))]),
            )
            .await?;
        answer
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| DefiError::Upstream("eth_sendRawTransaction: no hash".into()))
    }
}
