//! On-chain reads and transactions against a local fake JSON-RPC node on
//! 127.0.0.1: Multicall3 `aggregate3` batches are decoded by the fake and
//! answered with alloy ABI encodings that the client decodes; calldata is
//! compared with hand-written ABI encodings and selectors taken from
//! 4byte.directory / EIP-20 (not from alloy); a sent transaction is decoded
//! from its RLP and its signer recovered with k256; transaction encoding
//! equals eth-account's byte for byte (the polymarket crate's eth-account
//! fixtures, same EIP-1559 shape).

mod common;

use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, Bytes, U256, keccak256};
use alloy_rlp::{Decodable, Header};
use alloy_sol_types::SolCall;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::{SNAP_MS, TestBundle, ctx, store};
use nt_defi::DefiConfig;
use nt_defi::beefy::snapshot;
use nt_defi::chain::abi::{IBeefyBoost, IBeefyVault, IERC20, IMulticall3};
use nt_defi::chain::rpc::RpcClient;
use nt_defi::chain::tx::{self, Signer, Tx1559};
use nt_defi::chains::MULTICALL3;
use nt_mcp_core::ToolErrorKind;
use nt_mcp_core::clock::ManualClock;
use serde_json::{Value, json};

const E18: u128 = 1_000_000_000_000_000_000;
/// Anvil / Hardhat's first test key and its well-known address.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KEY_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const WALLET: &str = "0x00000000000000000000000000000000000000aa";

struct Node {
    boost: Address,
    vault: Address,
    want: Address,
    strategy: Address,
    allowance: Mutex<U256>,
    multicalls: Mutex<usize>,
    sent: Mutex<Vec<Vec<u8>>>,
}

fn word(hex_str: &str) -> String {
    format!("{:0>64}", hex_str.trim_start_matches("0x").to_lowercase())
}

fn revert() -> (bool, Bytes) {
    (false, Bytes::new())
}

impl Node {
    /// Answers one call to `to` with `data` as the contracts would.
    fn answer(&self, to: Address, data: &[u8]) -> (bool, Bytes) {
        let sel: [u8; 4] = data[..4].try_into().expect("selector");
        let ok = |b: Vec<u8>| (true, Bytes::from(b));
        if to == self.boost {
            return match sel {
                IBeefyBoost::rewardRateCall::SELECTOR => ok(
                    IBeefyBoost::rewardRateCall::abi_encode_returns(&U256::from(E18 / 10)),
                ),
                IBeefyBoost::totalSupplyCall::SELECTOR => ok(
                    IBeefyBoost::totalSupplyCall::abi_encode_returns(&U256::from(E18 / 20)),
                ),
                IBeefyBoost::periodFinishCall::SELECTOR => {
                    ok(IBeefyBoost::periodFinishCall::abi_encode_returns(
                        &U256::from(4_000_000_000u64),
                    ))
                }
                _ => revert(),
            };
        }
        if to == self.vault {
            match sel {
                IBeefyVault::getPricePerFullShareCall::SELECTOR => {
                    ok(IBeefyVault::getPricePerFullShareCall::abi_encode_returns(
                        &U256::from(107 * E18 / 100),
                    ))
                }
                IBeefyVault::balanceCall::SELECTOR => ok(
                    IBeefyVault::balanceCall::abi_encode_returns(&U256::from(20 * E18)),
                ),
                IERC20::totalSupplyCall::SELECTOR => ok(
                    IERC20::totalSupplyCall::abi_encode_returns(&U256::from(1869 * E18 / 100)),
                ),
                IBeefyVault::wantCall::SELECTOR => {
                    ok(IBeefyVault::wantCall::abi_encode_returns(&self.want))
                }
                IBeefyVault::strategyCall::SELECTOR => ok(
                    IBeefyVault::strategyCall::abi_encode_returns(&self.strategy),
                ),
                IERC20::nameCall::SELECTOR => ok(IERC20::nameCall::abi_encode_returns(
                    &"Moo Aero WETH-USDC".to_string(),
                )),
                IERC20::symbolCall::SELECTOR => ok(IERC20::symbolCall::abi_encode_returns(
                    &"mooAeroWETH-USDC".to_string(),
                )),
                IERC20::decimalsCall::SELECTOR => {
                    ok(IERC20::decimalsCall::abi_encode_returns(&18u8))
                }
                IERC20::balanceOfCall::SELECTOR => ok(IERC20::balanceOfCall::abi_encode_returns(
                    &U256::from(25 * E18 / 10),
                )),
                IBeefyVault::depositCall::SELECTOR => {
                    let c = IBeefyVault::depositCall::abi_decode(data).expect("deposit");
                    if c._amount > *self.allowance.lock().expect("lock") {
                        revert()
                    } else {
                        ok(Vec::new())
                    }
                }
                IBeefyVault::withdrawCall::SELECTOR | IBeefyVault::withdrawAllCall::SELECTOR => {
                    ok(Vec::new())
                }
                _ => revert(),
            }
        } else if to == self.want {
            match sel {
                // This token has no name(): the batch still answers.
                IERC20::nameCall::SELECTOR => revert(),
                IERC20::symbolCall::SELECTOR => ok(IERC20::symbolCall::abi_encode_returns(
                    &"vAMM-WETH/USDC".to_string(),
                )),
                IERC20::decimalsCall::SELECTOR => {
                    ok(IERC20::decimalsCall::abi_encode_returns(&18u8))
                }
                IERC20::balanceOfCall::SELECTOR => ok(IERC20::balanceOfCall::abi_encode_returns(
                    &U256::from(10 * E18),
                )),
                IERC20::allowanceCall::SELECTOR => ok(IERC20::allowanceCall::abi_encode_returns(
                    &*self.allowance.lock().expect("lock"),
                )),
                IERC20::approveCall::SELECTOR => ok(IERC20::approveCall::abi_encode_returns(&true)),
                _ => revert(),
            }
        } else if to == MULTICALL3 && sel == IMulticall3::getEthBalanceCall::SELECTOR {
            ok(IMulticall3::getEthBalanceCall::abi_encode_returns(
                &U256::from(E18 / 2),
            ))
        } else {
            revert()
        }
    }
}

fn hex_of(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex").trim_start_matches("0x")).expect("hex")
}

async fn rpc(State(node): State<Arc<Node>>, Json(req): Json<Value>) -> Json<Value> {
    let id = req["id"].clone();
    let params = &req["params"];
    let result = match req["method"].as_str().unwrap_or("") {
        "eth_chainId" => json!("0x2105"),
        "eth_call" => {
            let to: Address = params[0]["to"]
                .as_str()
                .expect("to")
                .parse()
                .expect("address");
            let data = hex_of(&params[0]["data"]);
            if to == MULTICALL3 && data[..4] == IMulticall3::aggregate3Call::SELECTOR {
                *node.multicalls.lock().expect("lock") += 1;
                let call = IMulticall3::aggregate3Call::abi_decode(&data).expect("aggregate3");
                let results: Vec<IMulticall3::Result> = call
                    .calls
                    .iter()
                    .map(|c| {
                        assert!(c.allowFailure, "reads allow failure");
                        let (success, return_data) = node.answer(c.target, &c.callData);
                        IMulticall3::Result {
                            success,
                            returnData: return_data,
                        }
                    })
                    .collect();
                json!(format!(
                    "0x{}",
                    hex::encode(IMulticall3::aggregate3Call::abi_encode_returns(&results))
                ))
            } else {
                match node.answer(to, &data) {
                    (true, out) => json!(format!("0x{}", hex::encode(out))),
                    (false, _) => {
                        return Json(
                            json!({"jsonrpc": "2.0", "id": id, "error": {"code": 3, "message": "execution reverted", "data": "0x"}}),
                        );
                    }
                }
            }
        }
        "eth_estimateGas" => {
            let to: Address = params[0]["to"]
                .as_str()
                .expect("to")
                .parse()
                .expect("address");
            match node.answer(to, &hex_of(&params[0]["data"])) {
                (true, _) => json!("0x1d4c0"),
                (false, _) => {
                    return Json(
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": 3, "message": "execution reverted"}}),
                    );
                }
            }
        }
        "eth_getBalance" => json!("0x6f05b59d3b20000"),
        "eth_getTransactionCount" => json!("0x3"),
        "eth_maxPriorityFeePerGas" => json!("0xf4240"),
        "eth_getBlockByNumber" => json!({"number": "0x1", "baseFeePerGas": "0x989680"}),
        "eth_sendRawTransaction" => {
            let raw = hex_of(&params[0]);
            node.sent.lock().expect("lock").push(raw.clone());
            json!(keccak256(&raw).to_string())
        }
        other => {
            return Json(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("no method {other}")}}),
            );
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

async fn fake_node() -> (String, Arc<Node>) {
    let data = snapshot::data().expect("snapshot");
    let v = data.vault("aerodrome-weth-usdc").expect("vault");
    let boost = data.boosts_of("aerodrome-weth-usdc").next().expect("boost");
    let node = Arc::new(Node {
        boost: boost.earn_contract_address.parse().expect("boost"),
        vault: v.earn_contract_address.parse().expect("vault"),
        want: v
            .token_address
            .as_deref()
            .expect("want")
            .parse()
            .expect("want"),
        strategy: v
            .strategy
            .as_deref()
            .expect("strategy")
            .parse()
            .expect("strategy"),
        allowance: Mutex::new(U256::ZERO),
        multicalls: Mutex::new(0),
        sent: Mutex::new(Vec::new()),
    });
    let app = Router::new().route("/", post(rpc)).with_state(node.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), node)
}

fn bundle(url: &str, key: Option<&str>) -> TestBundle {
    let mut config = DefiConfig::default();
    config.rpc_urls.insert("base".into(), url.into());
    config.private_key = key.map(str::to_string);
    TestBundle::new(config)
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().expect("number"),
        other => other.as_f64().expect("number"),
    }
}

#[test]
fn selectors_and_calldata_equal_the_abi_encoding() {
    // Selectors as published (4byte.directory; EIP-20 for the ERC-20 ones).
    let expected: [([u8; 4], &str); 17] = [
        (IBeefyVault::depositCall::SELECTOR, "b6b55f25"),
        (IBeefyVault::depositAllCall::SELECTOR, "de5f6268"),
        (IBeefyVault::withdrawCall::SELECTOR, "2e1a7d4d"),
        (IBeefyVault::withdrawAllCall::SELECTOR, "853828b6"),
        (IBeefyVault::getPricePerFullShareCall::SELECTOR, "77c7b8fc"),
        (IBeefyVault::balanceCall::SELECTOR, "b69ef8a8"),
        (IBeefyVault::wantCall::SELECTOR, "1f1fcd51"),
        (IBeefyVault::strategyCall::SELECTOR, "a8c62e76"),
        (IERC20::approveCall::SELECTOR, "095ea7b3"),
        (IERC20::balanceOfCall::SELECTOR, "70a08231"),
        (IERC20::totalSupplyCall::SELECTOR, "18160ddd"),
        (IERC20::allowanceCall::SELECTOR, "dd62ed3e"),
        (IERC20::decimalsCall::SELECTOR, "313ce567"),
        (IERC20::symbolCall::SELECTOR, "95d89b41"),
        (IERC20::nameCall::SELECTOR, "06fdde03"),
        (IMulticall3::aggregate3Call::SELECTOR, "82ad56cb"),
        (IMulticall3::getEthBalanceCall::SELECTOR, "4d2301cc"),
    ];
    for (got, want) in expected {
        assert_eq!(hex::encode(got), want);
    }
    let vault: Address = "0x1111111111111111111111111111111111111111"
        .parse()
        .expect("a");
    let want: Address = "0x2222222222222222222222222222222222222222"
        .parse()
        .expect("a");
    // deposit(1.5e18): selector ‖ uint256 0x14d1120d7b160000.
    let d = tx::deposit("base", 8453, vault, Some(U256::from(15 * E18 / 10)));
    assert_eq!(d.data, format!("0xb6b55f25{}", word("14d1120d7b160000")));
    assert_eq!(d.to, "0x1111111111111111111111111111111111111111");
    assert_eq!(tx::deposit("base", 8453, vault, None).data, "0xde5f6268");
    assert_eq!(tx::withdraw("base", 8453, vault, None).data, "0x853828b6");
    let w = tx::withdraw("base", 8453, vault, Some(U256::from(1000u64)));
    assert_eq!(w.data, format!("0x2e1a7d4d{}", word("3e8")));
    // approve(vault, 25e6): selector ‖ address word ‖ amount word.
    let a = tx::approve("base", 8453, want, vault, U256::from(25_000_000u64));
    assert_eq!(
        a.data,
        format!(
            "0x095ea7b3{}{}",
            word("1111111111111111111111111111111111111111"),
            word("17d7840")
        )
    );
    assert_eq!(a.to, "0x2222222222222222222222222222222222222222");
    assert_eq!(a.chain_id, 8453);
}

#[test]
fn signer_address_and_transactions_equal_eth_account() {
    assert_eq!(
        Signer::from_hex(KEY)
            .expect("key")
            .address()
            .to_checksum(None),
        KEY_ADDRESS
    );
    let f: Value = serde_json::from_str(include_str!("../../polymarket/fixtures/tx_fixtures.json"))
        .expect("json");
    let signer = Signer::from_hex(f["key"].as_str().expect("key")).expect("signer");
    assert_eq!(signer.address().to_checksum(None), f["address"]);
    for t in f["txs"].as_array().expect("txs") {
        let txn = Tx1559 {
            chain_id: t["chain_id"].as_u64().expect("chain"),
            nonce: t["nonce"].as_u64().expect("nonce"),
            max_priority_fee_per_gas: u128::from(t["tip"].as_u64().expect("tip")),
            max_fee_per_gas: u128::from(t["max_fee"].as_u64().expect("fee")),
            gas: t["gas"].as_u64().expect("gas"),
            to: t["to"].as_str().expect("to").parse().expect("addr"),
            data: hex_of(&t["data"]),
        };
        let raw = txn.sign(&signer).expect("sign");
        assert_eq!(format!("0x{}", hex::encode(&raw)), t["raw"]);
        assert_eq!(keccak256(&raw).to_string(), t["hash"]);
    }
}

#[tokio::test]
async fn multicall_batches_reads_and_tolerates_a_failing_call() {
    let (url, node) = fake_node().await;
    let rpc = RpcClient::new("base", &url).expect("rpc");
    assert_eq!(rpc.chain_id().await.expect("id"), 8453);
    let out = rpc
        .multicall(&[
            (
                node.vault,
                IBeefyVault::getPricePerFullShareCall {}.abi_encode().into(),
            ),
            (node.want, IERC20::nameCall {}.abi_encode().into()),
        ])
        .await
        .expect("batch");
    assert_eq!(
        IBeefyVault::getPricePerFullShareCall::abi_decode_returns(out[0].as_ref().expect("ok"))
            .expect("decode"),
        U256::from(107 * E18 / 100)
    );
    assert!(out[1].is_err());
    assert_eq!(
        rpc.native_balance(node.vault).await.expect("balance"),
        U256::from(E18 / 2)
    );
    let err = rpc
        .request("eth_nope", json!([]))
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("no method eth_nope"), "{err}");
}

#[tokio::test]
async fn position_reads_the_vault_and_wallet_on_chain() {
    let (url, node) = fake_node().await;
    let b = bundle(&url, None);
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let out = b
        .call(
            "defi_position",
            json!({"vault_id": "aerodrome-weth-usdc", "wallet": WALLET}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("position");
    let s = &out.structured;
    assert_eq!(s["ledger"], "chain");
    assert_eq!(num(&s["vault"]["price_per_full_share"]), 1.07);
    assert_eq!(num(&s["vault"]["balance"]), 20.0);
    assert_eq!(num(&s["vault"]["total_supply"]), 18.69);
    assert_eq!(
        s["vault"]["strategy"].as_str().expect("s").to_lowercase(),
        format!("{:#x}", node.strategy)
    );
    assert_eq!(s["vault"]["want_token"]["symbol"], "vAMM-WETH/USDC");
    assert_eq!(s["vault"]["want_token"]["name"], Value::Null);
    assert_eq!(s["vault"]["share_token"]["symbol"], "mooAeroWETH-USDC");
    assert_eq!(num(&s["position"]["shares"]), 2.5);
    // 2.5 shares × 1.07 = 2.675 want.
    assert_eq!(num(&s["position"]["value_want"]), 2.675);
    assert_eq!(num(&s["position"]["want_balance"]), 10.0);
    assert_eq!(num(&s["position"]["native_balance"]), 0.5);
    assert_eq!(
        *node.multicalls.lock().expect("lock"),
        2,
        "two Multicall3 batches"
    );
    // No RPC for the chain: refused with the setting to set.
    let err = b
        .call(
            "defi_position",
            json!({"vault_id": "cakev2-cake-bnb", "wallet": WALLET}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("no rpc");
    assert_eq!(err.kind, ToolErrorKind::Refused);
    assert!(err.message.contains("DEFI_RPC_BSC"), "{}", err.message);
}

#[tokio::test]
async fn build_deposit_checks_allowance_and_dry_runs() {
    let (url, node) = fake_node().await;
    let b = bundle(&url, None);
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let args = json!({"vault_id": "aerodrome-weth-usdc", "amount": "2", "from": WALLET});
    let out = b
        .call(
            "defi_build_deposit",
            args.clone(),
            ctx(&store, &clock, false),
        )
        .await
        .expect("build");
    let calls = out.structured["calls"].as_array().expect("calls");
    assert_eq!(out.structured["checks"]["approve_needed"], true);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["call"]["selector"], "0x095ea7b3");
    assert_eq!(calls[0]["simulation"]["ok"], true);
    assert_eq!(calls[0]["simulation"]["gas_estimate"], 120000);
    assert_eq!(
        calls[1]["call"]["data"],
        format!("0xb6b55f25{}", word("1bc16d674ec80000"))
    );

    *node.allowance.lock().expect("lock") = U256::from(100 * E18);
    let out = b
        .call("defi_build_deposit", args, ctx(&store, &clock, false))
        .await
        .expect("build");
    let calls = out.structured["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["simulation"]["eth_call"]["ok"], true);
    assert_eq!(out.structured["sent"], false);
    // More than the wallet holds: said so.
    let big = b
        .call(
            "defi_build_deposit",
            json!({"vault_id": "aerodrome-weth-usdc", "amount": "50", "from": WALLET}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("build");
    assert!(big.text.contains("holds 10"), "{}", big.text);

    let w = b
        .call(
            "defi_build_withdraw",
            json!({"vault_id": "aerodrome-weth-usdc", "shares": "1", "from": WALLET}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("withdraw");
    assert_eq!(num(&w.structured["expected"]["gross_want"]), 1.07);
    assert_eq!(w.structured["calls"][0]["simulation"]["ok"], true);
    let too_many = b
        .call(
            "defi_build_withdraw",
            json!({"vault_id": "aerodrome-weth-usdc", "shares": "3", "from": WALLET}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("more than held");
    assert_eq!(too_many.kind, ToolErrorKind::Refused);
}

/// Decodes a signed type-2 transaction and recovers its sender.
fn decode_signed(raw: &[u8]) -> (u64, Address, Vec<u8>, Address) {
    assert_eq!(raw[0], 2);
    let mut buf = &raw[1..];
    let h = Header::decode(&mut buf).expect("list");
    assert!(h.list);
    let chain_id = u64::decode(&mut buf).expect("chain");
    let nonce = u64::decode(&mut buf).expect("nonce");
    let tip = u128::decode(&mut buf).expect("tip");
    let fee = u128::decode(&mut buf).expect("fee");
    let gas = u64::decode(&mut buf).expect("gas");
    let to = Address::from_slice(Header::decode_bytes(&mut buf, false).expect("to"));
    let value = U256::from_be_slice(Header::decode_bytes(&mut buf, false).expect("value"));
    assert_eq!(value, U256::ZERO);
    let data = Bytes::copy_from_slice(Header::decode_bytes(&mut buf, false).expect("data"));
    let al = Header::decode(&mut buf).expect("access list");
    assert_eq!(al.payload_length, 0);
    let parity = u8::decode(&mut buf).expect("v");
    let r = U256::from_be_slice(Header::decode_bytes(&mut buf, false).expect("r"));
    let s = U256::from_be_slice(Header::decode_bytes(&mut buf, false).expect("s"));
    let unsigned = Tx1559 {
        chain_id,
        nonce,
        max_priority_fee_per_gas: tip,
        max_fee_per_gas: fee,
        gas,
        to,
        data: data.to_vec(),
    };
    let sig = k256::ecdsa::Signature::from_scalars(r.to_be_bytes::<32>(), s.to_be_bytes::<32>())
        .expect("sig");
    let key = k256::ecdsa::VerifyingKey::recover_from_prehash(
        unsigned.signing_hash().as_slice(),
        &sig,
        k256::ecdsa::RecoveryId::from_byte(parity).expect("parity"),
    )
    .expect("recover");
    let point = key.to_encoded_point(false);
    let from = Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]);
    assert_eq!(nonce, 3);
    // Fee cap = 2 · base fee + tip; gas = estimate + 20 %.
    assert_eq!(fee, 2 * 10_000_000 + 1_000_000);
    assert_eq!(gas, 144_000);
    (chain_id, to, data.to_vec(), from)
}

#[tokio::test]
async fn sending_needs_confirm_live_trading_and_a_key() {
    let (url, node) = fake_node().await;
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let args = json!({"vault_id": "aerodrome-weth-usdc", "action": "approve", "amount": "2", "confirm": true});
    // On the snapshot (placeholder addresses) nothing is ever sent.
    let on_snapshot = bundle(&url, Some(KEY))
        .call(
            "defi_send_transaction",
            args.clone(),
            ctx(&store, &clock, true),
        )
        .await
        .expect_err("snapshot");
    assert_eq!(on_snapshot.kind, ToolErrorKind::Refused);
    assert!(
        on_snapshot.message.contains("BEEFY_API_URL"),
        "{}",
        on_snapshot.message
    );
    // With the (fake) Beefy API as the data source:
    let (beefy_url, _beefy) = common::fake_beefy().await;
    let mut config = DefiConfig {
        beefy_api_url: Some(beefy_url),
        cache_ttl: std::time::Duration::from_secs(300),
        private_key: Some(KEY.into()),
        ..DefiConfig::default()
    };
    config.rpc_urls.insert("base".into(), url.clone());
    let keyed = TestBundle::new(config);
    let off = keyed
        .call(
            "defi_send_transaction",
            args.clone(),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("live off");
    assert_eq!(off.kind, ToolErrorKind::Refused);
    let unconfirmed = keyed
        .call("defi_send_transaction", json!({"vault_id": "aerodrome-weth-usdc", "action": "approve", "amount": "2", "confirm": false}), ctx(&store, &clock, true))
        .await
        .expect_err("no confirm");
    assert_eq!(unconfirmed.field.as_deref(), Some("confirm"));
    assert!(node.sent.lock().expect("lock").is_empty());

    let out = keyed
        .call("defi_send_transaction", args, ctx(&store, &clock, true))
        .await
        .expect("sent");
    assert_eq!(out.structured["sent"], true);
    let raw = node.sent.lock().expect("lock")[0].clone();
    let (chain_id, to, data, from) = decode_signed(&raw);
    assert_eq!(chain_id, 8453);
    assert_eq!(to, node.want);
    assert_eq!(from.to_checksum(None), KEY_ADDRESS);
    assert_eq!(hex::encode(&data[..4]), "095ea7b3");
    assert_eq!(
        out.structured["transaction"]["hash"],
        keccak256(&raw).to_string()
    );
    let audits: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE outcome = 'defi_tx_sent'")
            .fetch_one(store.pool())
            .await
            .expect("audit");
    assert_eq!(audits, 1);

    // A deposit that would revert (allowance 0 in the fake) is not sent.
    let rev = keyed
        .call("defi_send_transaction", json!({"vault_id": "aerodrome-weth-usdc", "action": "deposit", "amount": "2", "confirm": true}), ctx(&store, &clock, true))
        .await
        .expect_err("reverts");
    assert_eq!(rev.kind, ToolErrorKind::Refused);
    assert!(rev.message.contains("dry run"), "{}", rev.message);
    assert_eq!(node.sent.lock().expect("lock").len(), 1);
    // The keyed bundle reports a live venue (the runtime's trading gate).
    assert!(
        nt_mcp_core::ToolBundle::venues(&*keyed.bundle)
            .iter()
            .any(|v| v.name == "evm-wallet")
    );
}

#[tokio::test]
async fn boost_apr_reads_the_boost_contract_when_the_api_lacks_it() {
    let (url, _node) = fake_node().await;
    let (beefy_url, beefy) = common::fake_beefy().await;
    beefy
        .api_boosts
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut config = DefiConfig {
        beefy_api_url: Some(beefy_url),
        cache_ttl: std::time::Duration::from_secs(300),
        ..DefiConfig::default()
    };
    config.rpc_urls.insert("base".into(), url);
    let b = TestBundle::new(config);
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let out = b
        .call(
            "defi_apy_breakdown",
            json!({"vault_id": "aerodrome-weth-usdc"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("breakdown");
    let row = &out.structured["boosts"][0];
    assert_eq!(row["read_on_chain"], true, "{}", out.text);
    // 0.1 AERO/s at $0.742 over 0.05 moo x ppfs 1.0612 x $94,512,331 (snapshot prices).
    let expect = 0.1 * 31_536_000.0 * 0.742 / (0.05 * 1.0612 * 94_512_331.0);
    assert!(
        (num(&row["apr"]) - expect).abs() < 1e-9,
        "{} vs {expect}",
        row["apr"]
    );
    assert!((num(&out.structured["boost_apr"]) - expect).abs() < 1e-9);
}
