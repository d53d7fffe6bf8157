//! Paper orders through the bundle's route table: many orders on a SQLite
//! file stay correct (cash, positions, audit chain), and per-caller
//! accounts keep callers apart.

use std::sync::Arc;
use std::time::Instant;

use nt_brokers::BrokersBundle;
use nt_brokers::paper::PaperConfig;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolCtx};
use rust_decimal::Decimal;
use serde_json::{Value, json};

async fn file_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url).await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn dec(v: &Value) -> Decimal {
    v.as_str().expect("decimal text").parse().expect("decimal")
}

fn cash(account: &Value, currency: &str) -> Decimal {
    let b = account["account"]["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|b| b["currency"] == currency)
        .expect("currency");
    dec(&b["cash"])
}

#[tokio::test]
async fn two_thousand_paper_orders_through_the_tools_stay_consistent() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = file_store(&dir).await;
    let router = Arc::new(BrokersBundle::paper_only(PaperConfig::default())).routes();
    let ctx = ToolCtx::new(store.clone());
    let n = 2000;
    let start = Instant::now();
    let mut commissions = Decimal::ZERO;
    let mut flow = Decimal::ZERO;
    for i in 0..n {
        let side = if i % 2 == 0 { "buy" } else { "sell" };
        let out = router
            .call(
                "broker_place_order",
                json!({"client_order_id": format!("o-{i}"), "symbol": "SHOP.TO", "side": side, "qty": "10"}),
                ctx.clone(),
            )
            .await
            .expect("place");
        let o = &out.structured["order"];
        assert_eq!(o["status"], "filled", "{o}");
        let value = dec(&o["avg_fill_price"]) * Decimal::from(10);
        commissions += dec(&o["commission"]);
        flow += if side == "buy" { -value } else { value };
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} paper market orders through broker_place_order (SQLite file, debug build): {secs:.2} s = {:.0} orders/s",
        f64::from(n) / secs
    );
    let positions = router
        .call("broker_positions", json!({}), ctx.clone())
        .await
        .expect("positions");
    assert_eq!(
        positions.structured["positions"],
        json!([]),
        "flat after buy/sell pairs"
    );
    let account = router
        .call("broker_account", json!({}), ctx.clone())
        .await
        .expect("account");
    assert_eq!(
        cash(&account.structured, "CAD"),
        Decimal::from(100_000) + flow - commissions
    );
    let verify = router
        .call("audit_verify", json!({}), ctx.clone())
        .await
        .expect("verify");
    let report = &verify.structured["report"];
    assert_eq!(report["intact"], true);
    // account_opened, then per order: checks_passed, order_accepted, fill.
    assert_eq!(report["rows"], 1 + 3 * n);
    let again = router
        .call(
            "broker_place_order",
            json!({"client_order_id": "o-0", "symbol": "SHOP.TO", "side": "buy", "qty": "10"}),
            ctx,
        )
        .await
        .expect("repeat");
    assert_eq!(again.structured["new"], false);
}

#[tokio::test]
async fn per_caller_accounts_are_kept_apart() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = file_store(&dir).await;
    let bundle = Arc::new(BrokersBundle::paper_only(PaperConfig::default()));
    let alice_id = bundle.caller_account_id("alice");
    let router = bundle.routes();
    let shared = ToolCtx::new(store.clone());
    let alice = ToolCtx::new(store.clone()).with_account("alice");
    let bob = ToolCtx::new(store.clone()).with_account("bob");
    let place = |ctx: &ToolCtx, id: &str, side: &str, qty: &str, order_type: &str| {
        let mut args = json!({"client_order_id": id, "symbol": "SHOP.TO", "side": side, "qty": qty,
            "order_type": order_type, "time_in_force": "gtc"});
        if order_type == "limit" {
            args["limit_price"] = json!("95");
        }
        router.call("broker_place_order", args, ctx.clone())
    };
    router
        .call(
            "broker_paper_set_price",
            json!({"symbol": "SHOP.TO", "price": "100"}),
            shared.clone(),
        )
        .await
        .expect("pin");
    let a = place(&alice, "same-id", "buy", "5", "market")
        .await
        .expect("alice buys");
    assert_eq!(a.structured["order"]["account_id"], alice_id.as_str());
    // The same client id is a new order in another account.
    let b = place(&bob, "same-id", "buy", "7", "market")
        .await
        .expect("bob buys");
    assert_eq!(b.structured["new"], true);
    assert_ne!(b.structured["order"]["id"], a.structured["order"]["id"]);
    // A resting limit order of Alice's is invisible to Bob and not his to cancel.
    let rest = place(&alice, "resting", "buy", "1", "limit")
        .await
        .expect("limit");
    let rest_id = rest.structured["order"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(rest.structured["order"]["status"], "open");
    let err = router
        .call(
            "broker_cancel_order",
            json!({"order_id": rest_id}),
            bob.clone(),
        )
        .await
        .expect_err("not bob's");
    assert!(err.message.contains("no paper order"), "{}", err.message);
    let bob_orders = router
        .call("broker_orders", json!({}), bob.clone())
        .await
        .expect("orders");
    assert_eq!(
        bob_orders.structured["orders"].as_array().map(Vec::len),
        Some(1)
    );
    // Positions, cash and tax lots are each caller's own.
    let pos = |ctx: ToolCtx| {
        let router = router.clone();
        async move {
            let out = router
                .call("broker_positions", json!({}), ctx)
                .await
                .expect("positions");
            out.structured["positions"].clone()
        }
    };
    assert_eq!(pos(alice.clone()).await[0]["qty"], "5");
    assert_eq!(pos(bob.clone()).await[0]["qty"], "7");
    assert_eq!(pos(shared.clone()).await, json!([]));
    let acct = |ctx: ToolCtx| {
        let router = router.clone();
        async move {
            router
                .call("broker_account", json!({}), ctx)
                .await
                .expect("account")
                .structured
        }
    };
    assert_eq!(
        cash(&acct(shared.clone()).await, "CAD"),
        Decimal::from(100_000)
    );
    assert!(cash(&acct(alice.clone()).await, "CAD") < Decimal::from(100_000));
    assert_ne!(
        cash(&acct(alice.clone()).await, "CAD"),
        cash(&acct(bob.clone()).await, "CAD")
    );
    let acb = router
        .call("tax_acb", json!({}), bob.clone())
        .await
        .expect("acb");
    let holdings = acb.structured["report"]["holdings"].to_string();
    assert!(
        holdings.contains('7') && !holdings.contains("\"5\""),
        "{holdings}"
    );
    // Alice cancels her own order.
    let cancelled = router
        .call("broker_cancel_order", json!({"order_id": "resting"}), alice)
        .await
        .expect("cancel own");
    assert_eq!(cancelled.structured["order"]["status"], "cancelled");
    let verify = router
        .call("audit_verify", json!({}), shared)
        .await
        .expect("verify");
    assert_eq!(verify.structured["report"]["intact"], true);
}
