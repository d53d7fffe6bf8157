//! Orders placed at the same moment through one paper account on SQLite
//! are committed together (group commit, `paper/group.rs`). Whatever the
//! grouping, each caller gets its own answer: new orders are placed once,
//! a repeated client id answers the same order, a refusal names its rule
//! and keeps its audit row, and cash, position and the audit chain count
//! every order exactly once.

use std::sync::Arc;

use nt_brokers::audit;
use nt_brokers::broker::Broker;
use nt_brokers::compliance::RulesCache;
use nt_brokers::desk;
use nt_brokers::error::BrokersError;
use nt_brokers::paper::{PaperBroker, PaperConfig};
use nt_brokers::types::{OrderRequest, OrderStatus, Side};
use nt_mcp_core::Store;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// 2025-06-16 (a Monday) 15:00 UTC, during the New York session.
const T0: i64 = 1_750_086_000_000;

fn buy(id: &str, qty: Decimal) -> OrderRequest {
    OrderRequest::market(id, "SHOP.TO", Side::Buy, qty)
}

/// 40 new market buys of 1 SHOP.TO at a pinned 100 CAD, 8 of them sent a
/// second time at once, and 4 buys of 20,000 (2,000,000 CAD, over the
/// default `max_order_value`): 52 calls in flight on one account. Worked
/// result: 40 orders filled once each, the 8 repeats answering their
/// order's id with `new: false`, 4 refusals naming `max_order_value` with
/// 4 `check_failed` rows, a position of 40, CAD cash of 100,000 less the
/// 40 fills' value and commission, and an intact chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_in_flight_together_each_get_their_own_answer() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    let paper = Arc::new(PaperBroker::new(
        store.clone(),
        Arc::new(ManualClock::new(T0)),
        PaperConfig::default(),
    ));
    paper
        .set_mark("SHOP.TO", Some(dec!(100)))
        .await
        .expect("pin");
    let broker: Arc<dyn Broker> = paper.clone();
    let rules = Arc::new(RulesCache::default());
    let mut calls = Vec::new();
    for i in 0..40 {
        calls.push((format!("g-{i}"), dec!(1)));
        if i % 5 == 0 {
            calls.push((format!("g-{i}"), dec!(1)));
        }
        if i % 10 == 3 {
            calls.push((format!("big-{i}"), dec!(20000)));
        }
    }
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(cid, qty)| {
            let (store, broker, rules) = (store.clone(), broker.clone(), rules.clone());
            tokio::spawn(async move {
                let answer = desk::place_with(&store, &broker, &buy(&cid, qty), T0, &rules).await;
                (cid, answer)
            })
        })
        .collect();
    let mut ids = std::collections::BTreeMap::<String, Vec<(String, bool)>>::new();
    let mut refused = 0;
    for t in tasks {
        let (cid, answer) = t.await.expect("join");
        match answer {
            Ok(p) => {
                assert_eq!(p.order.client_order_id, cid);
                assert_eq!(p.order.status, OrderStatus::Filled, "{cid}");
                ids.entry(cid).or_default().push((p.order.id, p.new));
            }
            Err(BrokersError::Refused { rule, .. }) => {
                assert!(cid.starts_with("big-"), "{cid} refused by {rule}");
                assert_eq!(rule, "max_order_value");
                refused += 1;
            }
            Err(e) => panic!("{cid}: {e}"),
        }
    }
    assert_eq!(refused, 4);
    assert_eq!(ids.len(), 40);
    for (cid, answers) in &ids {
        // One order per client id, placed new exactly once.
        let first = &answers[0].0;
        assert!(
            answers.iter().all(|(id, _)| id == first),
            "{cid}: {answers:?}"
        );
        assert_eq!(answers.iter().filter(|(_, new)| *new).count(), 1, "{cid}");
        assert_eq!(
            answers.len(),
            if cid.ends_with('0') || cid.ends_with('5') {
                2
            } else {
                1
            }
        );
    }
    let fills = paper.executions().await.expect("fills");
    assert_eq!(fills.len(), 40);
    let spent: Decimal = fills.iter().map(|f| f.qty * f.price + f.commission).sum();
    let cad = paper
        .account()
        .await
        .expect("account")
        .balances
        .into_iter()
        .find(|b| b.currency == "CAD")
        .expect("cad")
        .cash;
    assert_eq!(cad, dec!(100000) - spent);
    assert_eq!(paper.positions().await.expect("positions")[0].qty, dec!(40));
    let report = audit::verify(store.pool()).await.expect("verify");
    assert!(report.intact, "{report:?}");
    let rows = audit::export(store.pool(), 1, 5000, None)
        .await
        .expect("export");
    let count = |kind: &str| rows.iter().filter(|r| r.kind == kind).count();
    assert_eq!(count("order_accepted"), 40);
    assert_eq!(count("fill"), 40);
    assert_eq!(count("check_failed"), 4);
}
