//! Per-caller accounts on the local CLOB: each caller's paper wallet
//! (balance, orders, positions) is its own, funded on first use; no account
//! (`None`) is the shared `paper` wallet as before.

mod common;

use common::TestBundle;
use nt_mcp_core::Store;
use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::store::core_migrations;
use nt_polymarket::PolymarketConfig;
use serde_json::{Value, json};

async fn setup() -> (TestBundle, ToolCtx) {
    let bundle = TestBundle::from_config(PolymarketConfig::default()).expect("bundle");
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(nt_polymarket::migrations());
    store.migrate(&migrations).await.expect("migrate");
    (bundle, common::ctx_at(store, 1_750_000_000_000, false))
}

async fn call(b: &TestBundle, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    b.call(tool, args, ctx.clone())
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"))
        .structured
}

fn order(price: &str, cid: &str) -> Value {
    json!({"market": "fed-cut-next-fomc", "outcome": "YES", "side": "BUY",
           "price": price, "size": "10", "client_order_id": cid})
}

#[tokio::test]
async fn two_callers_have_separate_wallets_orders_and_positions() {
    let (b, shared) = setup().await;
    let alice = shared.clone().with_account("alice");
    let bob = shared.clone().with_account("bob");

    // First use opens a funded wallet with the starting paper balance.
    let a0 = call(&b, &alice, "polymarket_positions", json!({})).await;
    assert_eq!(a0["account"], "alice");
    assert_eq!(a0["usdc"], "10000");

    // Alice takes 10 YES at the ask and rests a bid.
    let taken = call(&b, &alice, "polymarket_place_order", order("0.63", "t1")).await;
    assert_eq!(taken["order"]["status"], "filled", "{taken}");
    let rest = call(&b, &alice, "polymarket_place_order", order("0.40", "r1")).await;
    let rest_id = rest["order"]["order_id"].as_str().expect("id").to_string();

    let a = call(&b, &alice, "polymarket_positions", json!({})).await;
    assert_eq!(a["positions"].as_array().map(Vec::len), Some(1), "{a}");
    assert_ne!(a["usdc"], "10000");
    let a_orders = call(&b, &alice, "polymarket_open_orders", json!({})).await;
    assert_eq!(a_orders["orders"].as_array().map(Vec::len), Some(1));

    // Bob sees none of it: his own full balance, no positions, no orders.
    let bpos = call(&b, &bob, "polymarket_positions", json!({})).await;
    assert_eq!(bpos["account"], "bob");
    assert_eq!(bpos["usdc"], "10000");
    assert_eq!(bpos["positions"].as_array().map(Vec::len), Some(0));
    let b_orders = call(&b, &bob, "polymarket_open_orders", json!({})).await;
    assert_eq!(b_orders["orders"].as_array().map(Vec::len), Some(0));

    // Bob cannot cancel Alice's order; it stays open.
    let err = b
        .call(
            "polymarket_cancel_order",
            json!({"order_ids": [rest_id]}),
            bob.clone(),
        )
        .await;
    assert!(err.is_err(), "bob cancelled alice's order: {err:?}");
    let cancel_all = call(&b, &bob, "polymarket_cancel_order", json!({"all": true})).await;
    assert_eq!(cancel_all["cancelled"].as_array().map(Vec::len), Some(0));
    let a_orders = call(&b, &alice, "polymarket_open_orders", json!({})).await;
    assert_eq!(a_orders["orders"].as_array().map(Vec::len), Some(1));

    // The same client order id is Bob's own order, not a duplicate of Alice's.
    let bob_rest = call(&b, &bob, "polymarket_place_order", order("0.40", "r1")).await;
    assert_eq!(bob_rest["duplicate"], false);
    assert_ne!(bob_rest["order"]["order_id"], rest["order"]["order_id"]);

    // No account is the shared paper wallet, untouched by either.
    let paper = call(&b, &shared, "polymarket_positions", json!({})).await;
    assert_eq!(paper["account"], "paper");
    assert_eq!(paper["usdc"], "10000");
    assert_eq!(paper["positions"].as_array().map(Vec::len), Some(0));
    let p_orders = call(&b, &shared, "polymarket_open_orders", json!({})).await;
    assert_eq!(p_orders["orders"].as_array().map(Vec::len), Some(0));

    // Nor can Alice read Bob's wallet, copy it, or find him among holders
    // and on the leaderboard; the house stays visible.
    let err = b
        .call(
            "polymarket_wallet",
            json!({"address": "bob"}),
            alice.clone(),
        )
        .await
        .expect_err("another caller's wallet");
    assert_eq!(err.field.as_deref(), Some("address"));
    let err = b
        .call(
            "polymarket_copy_wallet",
            json!({"source": "bob", "scale": "1", "dry_run": true}),
            alice.clone(),
        )
        .await
        .expect_err("another caller's wallet");
    assert_eq!(err.field.as_deref(), Some("source"));
    call(&b, &alice, "polymarket_wallet", json!({"address": "house"})).await;
    call(&b, &bob, "polymarket_place_order", order("0.63", "t1")).await;
    let holders = call(
        &b,
        &alice,
        "polymarket_holders",
        json!({"market": "fed-cut-next-fomc"}),
    )
    .await;
    let text = holders.to_string();
    assert!(text.contains("alice") && !text.contains("bob"), "{text}");
    let board = call(&b, &alice, "polymarket_leaderboard", json!({}))
        .await
        .to_string();
    assert!(
        board.contains("alice") && board.contains("house") && !board.contains("bob"),
        "{board}"
    );
    let board = call(&b, &shared, "polymarket_leaderboard", json!({}))
        .await
        .to_string();
    assert!(board.contains("alice") && board.contains("bob"), "{board}");

    // Alice cancels her own.
    let mine = call(&b, &alice, "polymarket_cancel_order", json!({"all": true})).await;
    assert_eq!(mine["cancelled"].as_array().map(Vec::len), Some(1));
}
