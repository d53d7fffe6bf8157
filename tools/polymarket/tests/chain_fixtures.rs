//! EIP-1559 transactions must equal eth-account's byte for byte
//! (`fixtures/tx_fixtures.json`, made by `fixtures/gen_tx_fixtures.py`),
//! and `ChainClient::send` must speak standard JSON-RPC to a node: here a
//! local fake on 127.0.0.1 that recovers the sender from the raw transaction.

mod common;

use std::sync::{Arc, Mutex};

use alloy_primitives::keccak256;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::TestBundle;
use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolErrorKind};
use nt_polymarket::PolymarketConfig;
use nt_polymarket::chain::{ChainClient, Tx1559};
use nt_polymarket::collateral;
use nt_polymarket::signing::Wallet;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sqlx::Row;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/tx_fixtures.json")).expect("json")
}

#[test]
fn signed_transactions_equal_eth_account() {
    let f = fixtures();
    let wallet = Wallet::from_hex(f["key"].as_str().expect("key")).expect("wallet");
    assert_eq!(wallet.address().to_checksum(None), f["address"]);
    for t in f["txs"].as_array().expect("txs") {
        let tx = Tx1559 {
            chain_id: t["chain_id"].as_u64().expect("chain"),
            nonce: t["nonce"].as_u64().expect("nonce"),
            max_priority_fee_per_gas: u128::from(t["tip"].as_u64().expect("tip")),
            max_fee_per_gas: u128::from(t["max_fee"].as_u64().expect("fee")),
            gas: t["gas"].as_u64().expect("gas"),
            to: t["to"].as_str().expect("to").parse().expect("addr"),
            data: hex::decode(t["data"].as_str().expect("data").trim_start_matches("0x"))
                .expect("hex"),
        };
        let raw = tx.sign(&wallet).expect("sign");
        assert_eq!(format!("0x{}", hex::encode(&raw)), t["raw"], "raw of {t}");
        assert_eq!(keccak256(&raw).to_string(), t["hash"]);
    }
}

#[derive(Default)]
struct Node {
    raws: Mutex<Vec<String>>,
}

async fn rpc(State(node): State<Arc<Node>>, Json(req): Json<Value>) -> Json<Value> {
    let result = match req["method"].as_str().unwrap_or("") {
        "eth_chainId" => json!("0x89"),
        "eth_getTransactionCount" => json!("0x7"),
        "eth_maxPriorityFeePerGas" => json!("0x6fc23ac00"),
        "eth_getBlockByNumber" => json!({"number": "0x10", "baseFeePerGas": "0x174876e800"}),
        "eth_estimateGas" => json!("0xc350"),
        "eth_sendRawTransaction" => {
            let raw = req["params"][0].as_str().unwrap_or("").to_string();
            let bytes = hex::decode(raw.trim_start_matches("0x")).unwrap_or_default();
            node.raws.lock().expect("lock").push(raw);
            json!(keccak256(&bytes).to_string())
        }
        other => {
            return Json(
                json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": format!("method {other} not found")}}),
            );
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": result}))
}

const PK: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

async fn serve_node() -> (String, Arc<Node>) {
    let node = Arc::new(Node::default());
    let app = Router::new().route("/", post(rpc)).with_state(node.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, node)
}

#[tokio::test]
async fn send_uses_consecutive_nonces_and_the_node_fee_market() {
    let (url, node) = serve_node().await;
    let wallet = Wallet::from_hex(PK).expect("key");
    let calls = collateral::wrap(wallet.address(), dec!(25)).expect("wrap");
    let sent = ChainClient::new(&url, 137)
        .expect("client")
        .send(&wallet, &calls)
        .await
        .expect("send");
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].nonce, sent[1].nonce), (7, 8));
    // estimate 50_000 + 20% = 60_000; fee cap 2 x base 100 gwei + tip 30 gwei.
    assert_eq!(sent[0].gas, 60_000);
    assert_eq!(sent[0].max_fee_per_gas, "230000000000");
    let raws = node.raws.lock().expect("lock").clone();
    assert_eq!(raws.len(), 2);
    assert!(raws[0].starts_with("0x02"), "type 2: {}", raws[0]);
    // The second call's calldata (wrap) travels in the second transaction.
    let wrap_data = calls[1].data.trim_start_matches("0x");
    assert!(raws[1].contains(wrap_data));
    assert_ne!(sent[0].hash, sent[1].hash);

    // A node on another chain is refused before anything is signed.
    let err = ChainClient::new(&url, 80002)
        .expect("client")
        .send(&wallet, &calls)
        .await
        .expect_err("wrong chain");
    assert!(err.to_string().contains("chain 137"), "{err}");
    assert_eq!(node.raws.lock().expect("lock").len(), 2);
}

async fn ctx_with(bundle: &TestBundle, live_trading: bool) -> ToolCtx {
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(bundle.migrations());
    store.migrate(&migrations).await.expect("migrate");
    common::ctx_at(store, 1_750_000_000_000, live_trading)
}

#[tokio::test]
async fn the_collateral_tool_sends_only_when_asked_with_live_trading_from_an_eoa() {
    let (url, node) = serve_node().await;
    let config = PolymarketConfig {
        private_key: Some(PK.into()),
        rpc_url: Some(url),
        ..PolymarketConfig::default()
    };
    let bundle = TestBundle::from_config(config.clone()).expect("bundle");
    let wrap = json!({"action": "wrap", "amount": "25", "send": true});

    // Live trading off: refused, nothing signed or sent.
    let off = ctx_with(&bundle, false).await;
    let err = bundle
        .call("polymarket_collateral", wrap.clone(), off)
        .await
        .expect_err("live trading off");
    assert_eq!(err.kind, ToolErrorKind::Refused);
    assert!(node.raws.lock().expect("lock").is_empty());

    // A proxy wallet sends through its contract, not from the key.
    let proxy = TestBundle::from_config(PolymarketConfig {
        signature_type: 1,
        funder: Some("0x7c3Db723F0B1b5cA1Ab9a8D0C54A5f2A0C2E9C11".into()),
        ..config
    })
    .expect("proxy");
    let ctx = ctx_with(&proxy, true).await;
    let err = proxy
        .call("polymarket_collateral", wrap.clone(), ctx)
        .await
        .expect_err("proxy");
    assert!(err.message.contains("EOA"), "{}", err.message);

    // Asked, live trading on, EOA: approve + wrap go out, audited.
    let ctx = ctx_with(&bundle, true).await;
    let out = bundle
        .call("polymarket_collateral", wrap, ctx.clone())
        .await
        .expect("send");
    assert_eq!(out.structured["sent"], true);
    assert_eq!(
        out.structured["transactions"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(node.raws.lock().expect("lock").len(), 2);
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE outcome = 'onchain_tx_sent'")
            .fetch_one(ctx.store.pool())
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
    assert_eq!(n, 1);
    // Without send, calldata only.
    let review = bundle
        .call("polymarket_collateral", json!({"action": "approvals"}), ctx)
        .await
        .expect("review");
    assert_eq!(review.structured["sent"], false);
    assert_eq!(node.raws.lock().expect("lock").len(), 2);
}
