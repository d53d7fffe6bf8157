//! The local CLOB against a real store: persistence, audit rows in the same
//! transaction, reload after restart, idempotent placement.

use nt_mcp_core::Store;
use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_polymarket::engine::NewOrder;
use nt_polymarket::types::{OrderType, Outcome, Side};
use nt_polymarket::venue::{self, CancelWhich, LocalClob, PAPER};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::Row;

async fn store() -> Store {
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(nt_polymarket::migrations());
    store.migrate(&migrations).await.expect("migrate");
    store
}

fn audit(store: &Store, tool: &str) -> ToolCtx {
    let mut ctx = ToolCtx::new(store.clone())
        .with_clock(std::sync::Arc::new(ManualClock::new(1_700_000_000_000)));
    ctx.variant = "test".into();
    ctx.tool = tool.into();
    ctx
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("count")
}

#[tokio::test]
async fn orders_fills_and_settlement_persist_and_reload() {
    let store = store().await;
    let clob = LocalClob::new(dec!(1000));
    let fed = venue::seed_spec(&venue::seed_markets()[0], 0);
    // Buy 10 YES at the house's best ask (0.63), then rest a bid.
    let order = |price: Decimal, cid: &str| NewOrder {
        account: PAPER.into(),
        token_id: fed.yes_token.clone(),
        side: Side::Buy,
        price,
        size: dec!(10),
        order_type: OrderType::Gtc,
        client_order_id: Some(cid.into()),
    };
    let (taken, dup) = clob
        .place(
            &audit(&store, "polymarket_place_order"),
            order(dec!(0.63), "c1"),
        )
        .await
        .expect("place");
    assert!(!dup);
    assert_eq!(taken.order.filled, dec!(10));
    let (again, dup) = clob
        .place(
            &audit(&store, "polymarket_place_order"),
            order(dec!(0.63), "c1"),
        )
        .await
        .expect("place again");
    assert!(dup, "same client id places once");
    assert_eq!(again.order.order_id, taken.order.order_id);
    let (rest, _) = clob
        .place(
            &audit(&store, "polymarket_place_order"),
            order(dec!(0.50), "c2"),
        )
        .await
        .expect("rest");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM pm_fills").await, 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE outcome = 'order_placed'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE outcome = 'fill'"
        )
        .await,
        1
    );

    // A fresh process reloads the same state.
    let reloaded = venue::load(store.pool())
        .await
        .expect("load")
        .expect("some");
    let paper = reloaded.account(PAPER).expect("paper");
    // The taker paid 6.3 and the local CLOB's default fee (rate 0.04, exponent 1):
    // 10 x 0.04 x (0.63 x 0.37) = 10 x 0.04 x 0.2331 = 0.09324.
    assert_eq!(paper.cash, dec!(1000) - dec!(6.3) - dec!(0.09324));
    assert_eq!(
        reloaded.fees_collected(),
        dec!(0.09324),
        "fees reload from pm_fills"
    );
    assert_eq!(paper.reserved, dec!(5));
    assert_eq!(reloaded.open_orders(PAPER, None).len(), 1);
    assert!(reloaded.order_by_client_id(PAPER, "c1").is_some());
    reloaded
        .check_invariants()
        .expect("invariants after reload");

    let cancelled = clob
        .cancel(
            &audit(&store, "polymarket_cancel_order"),
            PAPER,
            CancelWhich::Ids(std::slice::from_ref(&rest.order.order_id)),
        )
        .await
        .expect("cancel");
    assert_eq!(cancelled.len(), 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE outcome = 'order_cancelled'"
        )
        .await,
        1
    );

    let (_, payouts) = clob
        .resolve(
            &audit(&store, "polymarket_settle"),
            &fed.condition_id,
            Outcome::Yes,
        )
        .await
        .expect("resolve");
    assert!(payouts.iter().any(|(a, p)| a == PAPER && *p == dec!(10)));
    let reloaded = venue::load(store.pool())
        .await
        .expect("load")
        .expect("some");
    assert_eq!(
        reloaded.account(PAPER).map(|a| a.cash),
        Some(dec!(1000) - dec!(6.3) - dec!(0.09324) + dec!(10))
    );
    // The fee is in the winning position's cost: P&L 10 - 6.3 - 0.09324.
    assert_eq!(
        reloaded
            .account(PAPER)
            .and_then(|a| a.positions.get(&fed.yes_token))
            .map(|p| p.realized),
        Some(dec!(3.60676))
    );
    assert!(
        reloaded
            .market(&fed.condition_id)
            .and_then(|m| m.resolved)
            .is_some()
    );
    reloaded
        .check_invariants()
        .expect("invariants after settlement");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE outcome = 'settlement'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn refused_orders_change_nothing() {
    let store = store().await;
    let clob = LocalClob::new(dec!(5));
    let fed = venue::seed_spec(&venue::seed_markets()[0], 0);
    let err = clob
        .place(
            &audit(&store, "polymarket_place_order"),
            NewOrder {
                account: PAPER.into(),
                token_id: fed.yes_token.clone(),
                side: Side::Buy,
                price: dec!(0.63),
                size: dec!(100),
                order_type: OrderType::Gtc,
                client_order_id: None,
            },
        )
        .await
        .expect_err("no funds");
    assert!(err.to_string().contains("insufficient pUSD"), "{err}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM pm_fills").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM audit_log").await, 0);
}
