//! Many callers placing paper orders at the same moment on PostgreSQL
//! (issue 9, item 11). A swarm of 16 agents on one server saw more than
//! half of its calls fail with `duplicate key value violates unique
//! constraint "broker_audit_pkey"`: every order transaction read the audit
//! chain's head and inserted the next link, and two transactions read the
//! same head. Each order must be placed exactly once, cash and position
//! must count every fill, and the chain must verify.
//!
//! SQLite runs the same test (its single connection serialises it anyway);
//! PostgreSQL is skipped where the server is unreachable, except under
//! `CI=true`.

use std::sync::Arc;

use nt_brokers::audit;
use nt_brokers::broker::Broker;
use nt_brokers::desk;
use nt_brokers::paper::{PaperBroker, PaperConfig};
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use nt_mcp_core::Store;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

mod support;
use support::pg;

/// 2025-06-16 (a Monday) 15:00 UTC, during the New York session.
const T0: i64 = 1_750_086_000_000;

/// Callers at once.
const CALLERS: usize = 32;

/// Resting limit orders that concurrent sweeps fill.
const RESTING: usize = 8;

async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn buy(id: &str) -> OrderRequest {
    OrderRequest::market(id, "SHOP.TO", Side::Buy, dec!(1))
}

/// 32 callers, each with its own paper broker over the same database (as
/// 32 server processes would be), each placing one market buy of 1 SHOP.TO
/// at a pinned 100 CAD; every client id is sent twice at once, so 64 calls
/// race. Meanwhile 8 resting buy limits at 99 wait, and other callers move
/// the pin to 98 and read positions, so sweeps fill those 8 while the 64
/// calls run. Worked result: 40 orders, each filled once (40 fills), a
/// position of 40, CAD cash of 100000 less the 40 fills' value and
/// commission (no update lost), and an intact chain with one
/// `order_accepted` per order.
async fn thirty_two_callers_place_once_each_and_the_chain_verifies(url: &str) {
    let store = store_at(url).await;
    let clock = Arc::new(ManualClock::new(T0));
    let first = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
    first
        .set_mark("SHOP.TO", Some(dec!(100)))
        .await
        .expect("pin");
    for i in 0..RESTING {
        let o = first
            .place_order(
                &OrderRequest {
                    order_type: OrderType::Limit,
                    limit_price: Some(dec!(99)),
                    time_in_force: TimeInForce::Gtc,
                    ..buy(&format!("rest-{i}"))
                },
                &[],
            )
            .await
            .expect("resting");
        assert_eq!(o.status, OrderStatus::Open);
    }
    let mut sweepers = Vec::new();
    for _ in 0..4 {
        let reader = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
        sweepers.push(tokio::spawn(async move {
            reader.set_mark("SHOP.TO", Some(dec!(98))).await?;
            reader.positions().await?;
            reader.set_mark("SHOP.TO", Some(dec!(100))).await?;
            reader.orders(true).await.map(|_| ())
        }));
    }
    let mut tasks = Vec::new();
    for i in 0..CALLERS {
        for _twice in 0..2 {
            let broker: Arc<dyn Broker> = Arc::new(PaperBroker::new(
                store.clone(),
                clock.clone(),
                PaperConfig::default(),
            ));
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                desk::place(&store, &broker, &buy(&format!("swarm-{i}")), T0).await
            }));
        }
    }
    let mut failures = Vec::new();
    let mut placed = Vec::new();
    for t in tasks {
        match t.await.expect("join") {
            Ok(p) => placed.push(p),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls failed, first: {:?}",
        failures.len(),
        CALLERS * 2,
        failures.first()
    );
    // Each client id names one order, whichever call placed it.
    for i in 0..CALLERS {
        let cid = format!("swarm-{i}");
        let ids: std::collections::BTreeSet<&str> = placed
            .iter()
            .filter(|p| p.order.client_order_id == cid)
            .map(|p| p.order.id.as_str())
            .collect();
        assert_eq!(ids.len(), 1, "{cid}: {ids:?}");
    }
    for s in sweepers {
        s.await.expect("join").expect("sweep");
    }
    // Any resting order the moving pin missed fills now, once.
    first
        .set_mark("SHOP.TO", Some(dec!(98)))
        .await
        .expect("pin");
    let orders = first.orders(false).await.expect("orders");
    assert_eq!(orders.len(), CALLERS + RESTING);
    assert!(
        orders.iter().all(|o| o.status == OrderStatus::Filled),
        "{:?}",
        orders.iter().map(|o| o.status).collect::<Vec<_>>()
    );
    let fills = first.executions().await.expect("fills");
    assert_eq!(fills.len(), CALLERS + RESTING);
    let mut filled: Vec<&str> = fills.iter().map(|f| f.order_id.as_str()).collect();
    filled.sort_unstable();
    filled.dedup();
    assert_eq!(filled.len(), CALLERS + RESTING, "an order filled twice");
    // Cash and position count every fill: no update was lost.
    let spent: Decimal = fills.iter().map(|f| f.qty * f.price + f.commission).sum();
    let account = first.account().await.expect("account");
    let cad = account
        .balances
        .iter()
        .find(|b| b.currency == "CAD")
        .expect("cad")
        .cash;
    assert_eq!(cad, dec!(100000) - spent);
    let pos = first.positions().await.expect("positions");
    assert_eq!(pos[0].qty, Decimal::from((CALLERS + RESTING) as i64));
    let report = audit::verify(store.pool()).await.expect("verify");
    assert!(report.intact, "{report:?}");
    let rows = audit::export(store.pool(), 1, 5000, None)
        .await
        .expect("export");
    let accepted = rows.iter().filter(|r| r.kind == "order_accepted").count();
    assert_eq!(accepted, CALLERS + RESTING);
    assert_eq!(
        rows.iter().filter(|r| r.kind == "fill").count(),
        CALLERS + RESTING
    );
    assert_eq!(
        rows.iter().filter(|r| r.kind == "account_opened").count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn thirty_two_callers_place_once_each_and_the_chain_verifies_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    thirty_two_callers_place_once_each_and_the_chain_verifies(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn thirty_two_callers_place_once_each_and_the_chain_verifies_postgres() {
    let Some(schema) =
        pg::schema("thirty_two_callers_place_once_each_and_the_chain_verifies_postgres").await
    else {
        return;
    };
    thirty_two_callers_place_once_each_and_the_chain_verifies(&schema.url).await;
    schema.drop_schema().await;
}
