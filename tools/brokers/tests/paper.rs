//! The paper broker against a real SQLite store: fills, idempotency,
//! crossing orders, time in force, restart and the audit chain.

use std::sync::Arc;

use nt_brokers::audit;
use nt_brokers::broker::Broker;
use nt_brokers::paper::{PaperBroker, PaperConfig};
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use nt_mcp_core::Store;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

mod support;
use support::pg;

/// Runs `$body` on two fresh SQLite files (`$sqlite`) and on two private
/// PostgreSQL schemas (`$pg`; skipped when the server is unreachable,
/// except under `CI=true`).
macro_rules! on_both {
    ($body:ident: $sqlite:ident, $pg:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let dir = tempfile::tempdir().expect("tmp");
            let url = |n: &str| format!("sqlite://{}", dir.path().join(n).display());
            $body([url("a.db"), url("b.db")]).await;
        }

        #[tokio::test]
        async fn $pg() {
            let Some(a) = pg::schema(stringify!($pg)).await else {
                return;
            };
            let Some(b) = pg::schema(stringify!($pg)).await else {
                return;
            };
            $body([a.url.clone(), b.url.clone()]).await;
            a.drop_schema().await;
            b.drop_schema().await;
        }
    };
}

const T0: i64 = 1_750_000_000_000;

async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn req(id: &str, symbol: &str, side: Side, qty: Decimal) -> OrderRequest {
    OrderRequest::market(id, symbol, side, qty)
}

fn limit(id: &str, symbol: &str, side: Side, qty: Decimal, price: Decimal) -> OrderRequest {
    OrderRequest {
        order_type: OrderType::Limit,
        limit_price: Some(price),
        time_in_force: TimeInForce::Gtc,
        ..req(id, symbol, side, qty)
    }
}

fn cash(account: &nt_brokers::types::Account, currency: &str) -> Decimal {
    account
        .balances
        .iter()
        .find(|b| b.currency == currency)
        .map(|b| b.cash)
        .expect("currency")
}

async fn market_orders_fill_with_slippage_and_commission_and_are_idempotent(urls: [String; 2]) {
    let store = store_at(&urls[0]).await;
    let clock = Arc::new(ManualClock::new(T0));
    let paper = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
    paper
        .set_mark("SHOP.TO", Some(dec!(100)))
        .await
        .expect("mark");
    let q = paper.quote("SHOP.TO").await.expect("quote");
    assert_eq!(
        (q.bid, q.ask, q.currency.as_str()),
        (dec!(99.98), dec!(100.02), "CAD")
    );

    let order = paper
        .place_order(&req("c-1", "shop.to", Side::Buy, dec!(200)), &[])
        .await
        .expect("place");
    assert_eq!(order.status, OrderStatus::Filled);
    // ask 100.02 plus 5 bps slippage = 100.07001 -> 100.07; commission max(200 * 0.01, 1) = 2.
    assert_eq!(order.avg_fill_price, Some(dec!(100.07)));
    assert_eq!(order.commission, dec!(2));
    let account = paper.account().await.expect("account");
    assert_eq!(cash(&account, "CAD"), dec!(100000) - dec!(20014) - dec!(2));
    assert_eq!(cash(&account, "USD"), dec!(100000));

    // A retried call with the same client id answers the same order, places nothing.
    let again = paper
        .place_order(&req("c-1", "SHOP.TO", Side::Buy, dec!(200)), &[])
        .await
        .expect("retry");
    assert_eq!(again.id, order.id);
    assert_eq!(paper.executions().await.expect("fills").len(), 1);
    let clash = paper
        .place_order(&req("c-1", "SHOP.TO", Side::Buy, dec!(5)), &[])
        .await
        .expect_err("reused id");
    assert!(clash.to_string().contains("client_order_id"), "{clash}");

    // Selling more than held is refused by the position rule; selling half realizes.
    let err = paper
        .place_order(&req("c-2", "SHOP.TO", Side::Sell, dec!(500)), &[])
        .await
        .expect_err("oversell");
    assert!(err.to_string().contains("`position`"), "{err}");
    paper
        .place_order(&req("c-3", "SHOP.TO", Side::Sell, dec!(100)), &[])
        .await
        .expect("sell");
    let pos = paper.positions().await.expect("positions");
    assert_eq!(pos.len(), 1);
    assert_eq!((pos[0].qty, pos[0].avg_price), (dec!(100), dec!(100.07)));

    let report = audit::verify(store.pool()).await.expect("verify");
    assert!(report.intact, "{report:?}");
    // account_opened, (accepted + fill) x 2
    assert_eq!(report.rows, 5);
}

async fn resting_orders_fill_when_the_simulated_price_crosses(urls: [String; 2]) {
    let store = store_at(&urls[0]).await;
    let clock = Arc::new(ManualClock::new(T0));
    let cfg = PaperConfig::default();
    let market = cfg.market.clone();
    let paper = PaperBroker::new(store.clone(), clock.clone(), cfg);
    // Pick a limit below the current ask that the process reaches within an hour.
    let step0 = market.step_of(T0);
    let q0 = market.quote_at("AAPL", step0, None);
    let lowest = (step0 + 1..step0 + 3600)
        .map(|s| market.quote_at("AAPL", s, None).ask)
        .min()
        .expect("min");
    assert!(lowest < q0.ask);
    let lim = ((q0.ask + lowest) / dec!(2)).round_dp(2);
    let first_cross = (step0 + 1..step0 + 3600)
        .find(|s| market.quote_at("AAPL", *s, None).ask <= lim)
        .expect("crosses");
    let order = paper
        .place_order(&limit("l-1", "AAPL", Side::Buy, dec!(10), lim), &[])
        .await
        .expect("place");
    assert_eq!(order.status, OrderStatus::Open);
    clock.set(T0 + 3_600_000);
    let orders = paper.orders(false).await.expect("orders");
    let filled = &orders[0];
    assert_eq!(filled.status, OrderStatus::Filled, "{filled:?}");
    let expected = market.quote_at("AAPL", first_cross, None).ask;
    assert_eq!(filled.avg_fill_price, Some(expected));
    assert!(expected <= lim);
    let fills = paper.executions().await.expect("fills");
    assert_eq!(fills[0].at_ms, first_cross * market.step_ms);
}

async fn stops_trailing_stops_ioc_and_day_orders(urls: [String; 2]) {
    let store = store_at(&urls[0]).await;
    let clock = Arc::new(ManualClock::new(T0));
    let paper = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
    paper
        .set_mark("RY.TO", Some(dec!(150)))
        .await
        .expect("mark");
    paper
        .place_order(&req("b", "RY.TO", Side::Buy, dec!(100)), &[])
        .await
        .expect("buy");

    let stop = OrderRequest {
        order_type: OrderType::Stop,
        stop_price: Some(dec!(140)),
        time_in_force: TimeInForce::Gtc,
        ..req("s", "RY.TO", Side::Sell, dec!(40))
    };
    paper.place_order(&stop, &[]).await.expect("stop");
    let trail = OrderRequest {
        order_type: OrderType::TrailingStop,
        trail_amount: Some(dec!(5)),
        time_in_force: TimeInForce::Gtc,
        ..req("t", "RY.TO", Side::Sell, dec!(60))
    };
    let t = paper.place_order(&trail, &[]).await.expect("trail");
    assert_eq!(t.stop_price, Some(dec!(145)));
    // Price rises: the trail follows to 155; the fixed stop stays.
    clock.advance(1000);
    paper.set_mark("RY.TO", Some(dec!(160))).await.expect("up");
    let open = paper.orders(true).await.expect("open");
    let t = open.iter().find(|o| o.client_order_id == "t").expect("t");
    assert_eq!(t.stop_price, Some(dec!(155)));
    // Falls to 154: the trail fires, the 140 stop does not.
    clock.advance(1000);
    paper
        .set_mark("RY.TO", Some(dec!(154)))
        .await
        .expect("down");
    let all = paper.orders(false).await.expect("all");
    let t = all.iter().find(|o| o.client_order_id == "t").expect("t");
    assert_eq!(t.status, OrderStatus::Filled);
    // bid 153.97 less 5 bps slippage
    assert_eq!(t.avg_fill_price, Some(dec!(153.89)));
    assert!(
        all.iter()
            .any(|o| o.client_order_id == "s" && o.status == OrderStatus::Open)
    );

    // IOC that cannot fill now is cancelled at once.
    let ioc = OrderRequest {
        time_in_force: TimeInForce::Ioc,
        ..limit("i", "RY.TO", Side::Buy, dec!(1), dec!(100))
    };
    let o = paper.place_order(&ioc, &[]).await.expect("ioc");
    assert_eq!(o.status, OrderStatus::Cancelled);

    // A day order ends at its market's close: placed on Sunday 2025-06-15
    // (T0, 11:06 EDT), a RY.TO (TSX) order works through Monday's session
    // and expires at its 16:00 EDT close, 2025-06-16T20:00Z.
    let day = OrderRequest {
        time_in_force: TimeInForce::Day,
        ..limit("d", "RY.TO", Side::Buy, dec!(1), dec!(100))
    };
    paper.place_order(&day, &[]).await.expect("day");
    let monday_close = 1_750_104_000_000; // 2025-06-16T20:00:00Z
    clock.set(monday_close - 1);
    let status = |all: &[nt_brokers::types::Order]| {
        all.iter()
            .find(|o| o.client_order_id == "d")
            .map(|o| o.status)
    };
    let all = paper.orders(false).await.expect("all");
    assert_eq!(status(&all), Some(OrderStatus::Open));
    clock.set(monday_close);
    let all = paper.orders(false).await.expect("all");
    assert_eq!(status(&all), Some(OrderStatus::Expired));

    // Short sale, then cover.
    paper
        .place_order(&req("ss", "AC.TO", Side::SellShort, dec!(10)), &[])
        .await
        .expect("short");
    let pos = paper.positions().await.expect("pos");
    assert!(
        pos.iter()
            .any(|p| p.symbol == "AC.TO" && p.qty == dec!(-10))
    );
    let err = paper
        .place_order(&req("bb", "AC.TO", Side::Buy, dec!(1)), &[])
        .await
        .expect_err("buy while short");
    assert!(err.to_string().contains("buy_to_cover"));
    paper
        .place_order(&req("bc", "AC.TO", Side::BuyToCover, dec!(10)), &[])
        .await
        .expect("cover");
    assert!(audit::verify(store.pool()).await.expect("verify").intact);
}

async fn a_restart_keeps_cash_positions_orders_and_the_chain(urls: [String; 2]) {
    let url = urls[0].clone();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let store = store_at(&url).await;
        let paper = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
        paper.set_mark("TD.TO", Some(dec!(80))).await.expect("mark");
        paper
            .place_order(&req("r-1", "TD.TO", Side::Buy, dec!(50)), &[])
            .await
            .expect("buy");
        paper
            .place_order(&limit("r-2", "TD.TO", Side::Sell, dec!(50), dec!(90)), &[])
            .await
            .expect("rest");
        store.pool().close().await;
    }
    let store = store_at(&url).await;
    let paper = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
    let account = paper.account().await.expect("account");
    assert!(cash(&account, "CAD") < dec!(100000));
    assert_eq!(paper.positions().await.expect("pos")[0].qty, dec!(50));
    let open = paper.orders(true).await.expect("open");
    assert_eq!(open.len(), 1);
    // The same client id after restart is still the same order.
    let again = paper
        .place_order(&req("r-1", "TD.TO", Side::Buy, dec!(50)), &[])
        .await
        .expect("retry");
    assert_eq!(paper.executions().await.expect("fills").len(), 1);
    assert_eq!(again.status, OrderStatus::Filled);
    // The resting sell fills after the restart once the price crosses.
    clock.advance(1000);
    paper.set_mark("TD.TO", Some(dec!(91))).await.expect("mark");
    assert!(paper.orders(true).await.expect("open").is_empty());
    assert!(paper.positions().await.expect("pos").is_empty());
    assert!(audit::verify(store.pool()).await.expect("verify").intact);
}

async fn the_audit_chain_detects_an_edited_and_a_deleted_row(urls: [String; 2]) {
    let store = store_at(&urls[0]).await;
    let clock = Arc::new(ManualClock::new(T0));
    let paper = PaperBroker::new(store.clone(), clock, PaperConfig::default());
    for i in 0..3 {
        paper
            .place_order(&req(&format!("a-{i}"), "BNS.TO", Side::Buy, dec!(1)), &[])
            .await
            .expect("buy");
    }
    let before = audit::verify(store.pool()).await.expect("verify");
    assert!(before.intact);
    assert_eq!(before.rows, 7);
    sqlx::query("UPDATE broker_audit SET payload = REPLACE(payload, '\"qty\":\"1\"', '\"qty\":\"1000\"') WHERE seq = 3")
        .execute(store.pool())
        .await
        .expect("tamper");
    let after = audit::verify(store.pool()).await.expect("verify");
    assert!(!after.intact);
    assert_eq!(after.first_bad_seq, Some(3));
    assert!(
        after
            .problem
            .as_deref()
            .unwrap_or_default()
            .contains("edited")
    );

    let store2 = store_at(&urls[1]).await;
    let paper = PaperBroker::new(
        store2.clone(),
        Arc::new(ManualClock::new(T0)),
        PaperConfig::default(),
    );
    paper
        .place_order(&req("x", "BNS.TO", Side::Buy, dec!(1)), &[])
        .await
        .expect("buy");
    sqlx::query("DELETE FROM broker_audit WHERE seq = 2")
        .execute(store2.pool())
        .await
        .expect("delete");
    let gone = audit::verify(store2.pool()).await.expect("verify");
    assert_eq!(gone.first_bad_seq, Some(2));
    let rows = audit::export(store2.pool(), 1, 10, None)
        .await
        .expect("export");
    assert!(audit::to_csv(&rows).starts_with("seq,at_ms,venue"));
}

on_both!(market_orders_fill_with_slippage_and_commission_and_are_idempotent: market_orders_fill_with_slippage_and_commission_and_are_idempotent_sqlite, market_orders_fill_with_slippage_and_commission_and_are_idempotent_postgres);
on_both!(resting_orders_fill_when_the_simulated_price_crosses: resting_orders_fill_when_the_simulated_price_crosses_sqlite, resting_orders_fill_when_the_simulated_price_crosses_postgres);
on_both!(stops_trailing_stops_ioc_and_day_orders: stops_trailing_stops_ioc_and_day_orders_sqlite, stops_trailing_stops_ioc_and_day_orders_postgres);
on_both!(a_restart_keeps_cash_positions_orders_and_the_chain: a_restart_keeps_cash_positions_orders_and_the_chain_sqlite, a_restart_keeps_cash_positions_orders_and_the_chain_postgres);
on_both!(the_audit_chain_detects_an_edited_and_a_deleted_row: the_audit_chain_detects_an_edited_and_a_deleted_row_sqlite, the_audit_chain_detects_an_edited_and_a_deleted_row_postgres);

/// Two pins within one price step (1 s): resting orders see the second at
/// once, as `broker_paper_set_price` promises; before, they waited for the
/// next step.
#[tokio::test]
async fn a_pin_moved_within_one_step_reaches_resting_orders_at_once() {
    let store = store_at("sqlite::memory:").await;
    let clock = Arc::new(ManualClock::new(T0));
    let paper = PaperBroker::new(store, clock.clone(), PaperConfig::default());
    paper.set_mark("AAPL", Some(dec!(100))).await.expect("mark");
    paper
        .place_order(&req("b", "AAPL", Side::Buy, dec!(10)), &[])
        .await
        .expect("buy");
    let stop = OrderRequest {
        order_type: OrderType::Stop,
        stop_price: Some(dec!(95)),
        time_in_force: TimeInForce::Gtc,
        ..req("s", "AAPL", Side::Sell, dec!(10))
    };
    paper.place_order(&stop, &[]).await.expect("stop");
    // Same instant: the clock has not moved.
    paper.set_mark("AAPL", Some(dec!(94))).await.expect("down");
    let all = paper.orders(false).await.expect("orders");
    let s = all.iter().find(|o| o.client_order_id == "s").expect("s");
    assert_eq!(s.status, OrderStatus::Filled, "{s:?}");
    // bid 93.98 less 5 bps slippage
    assert_eq!(s.avg_fill_price, Some(dec!(93.93)));
    let positions = paper.positions().await.expect("positions");
    assert!(
        positions.iter().all(|p| p.symbol != "AAPL"),
        "{positions:?}"
    );
}

/// Issue 9, item 4. A DAY order placed on Monday 2025-06-16 at 11:00 EDT
/// (15:00Z) used to work until UTC midnight (20:00 EDT, four hours after
/// the close); it ends at the close of its market: AAPL (NYSE) and SHOP.TO
/// (TSX) at 16:00 EDT = 20:00Z, the USD_JPY pair at the 17:00 New York FX
/// roll = 21:00Z. The day after US Thanksgiving (2025-11-28) AAPL closes
/// at 13:00 EST = 18:00Z.
#[tokio::test]
async fn day_orders_end_at_the_new_york_close_not_utc_midnight() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store_at(&format!("sqlite://{}", dir.path().join("d.db").display())).await;
    let monday_11_edt = 1_750_086_000_000; // 2025-06-16T15:00:00Z
    let clock = Arc::new(ManualClock::new(monday_11_edt));
    let paper = PaperBroker::new(store.clone(), clock.clone(), PaperConfig::default());
    for (symbol, price) in [
        ("AAPL", dec!(200)),
        ("SHOP.TO", dec!(100)),
        ("USD_JPY", dec!(145)),
    ] {
        paper.set_mark(symbol, Some(price)).await.expect("pin");
        // A buy limit 5% under the price rests.
        let order = OrderRequest {
            time_in_force: TimeInForce::Day,
            ..limit(
                &format!("day-{symbol}"),
                symbol,
                Side::Buy,
                dec!(1),
                price * dec!(0.95),
            )
        };
        let o = paper.place_order(&order, &[]).await.expect("place");
        assert_eq!(o.status, OrderStatus::Open, "{symbol}");
    }
    let status = |all: &[nt_brokers::types::Order], symbol: &str| {
        all.iter()
            .find(|o| o.symbol == symbol)
            .map(|o| (o.status, o.reason.clone()))
            .expect("order")
    };
    let close = 1_750_104_000_000; // 2025-06-16T20:00:00Z = 16:00 EDT
    clock.set(close - 1);
    let all = paper.orders(false).await.expect("orders");
    for s in ["AAPL", "SHOP.TO", "USD_JPY"] {
        assert_eq!(status(&all, s).0, OrderStatus::Open, "{s} before 16:00");
    }
    clock.set(close);
    let all = paper.orders(false).await.expect("orders");
    let (aapl, why) = status(&all, "AAPL");
    assert_eq!(aapl, OrderStatus::Expired);
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("NYSE close") && w.contains("2025-06-16T20:00:00+00:00")),
        "{why:?}"
    );
    assert_eq!(status(&all, "SHOP.TO").0, OrderStatus::Expired);
    assert_eq!(
        status(&all, "USD_JPY").0,
        OrderStatus::Open,
        "FX rolls at 17:00"
    );
    clock.set(close + 3_600_000);
    let all = paper.orders(false).await.expect("orders");
    assert_eq!(status(&all, "USD_JPY").0, OrderStatus::Expired);

    // 2025-11-28, the day after Thanksgiving: 10:00 EST = 15:00Z; the NYSE
    // closes at 13:00 EST = 18:00Z.
    let black_friday_10_est = 1_764_342_000_000; // 2025-11-28T15:00:00Z
    clock.set(black_friday_10_est);
    let order = OrderRequest {
        time_in_force: TimeInForce::Day,
        ..limit("day-early", "AAPL", Side::Buy, dec!(1), dec!(150))
    };
    paper.place_order(&order, &[]).await.expect("place");
    let early_close = 1_764_352_800_000; // 2025-11-28T18:00:00Z
    clock.set(early_close - 1);
    let all = paper.orders(false).await.expect("orders");
    let o = all
        .iter()
        .find(|o| o.client_order_id == "day-early")
        .expect("o");
    assert_eq!(o.status, OrderStatus::Open);
    clock.set(early_close);
    let all = paper.orders(false).await.expect("orders");
    let o = all
        .iter()
        .find(|o| o.client_order_id == "day-early")
        .expect("o");
    assert_eq!(o.status, OrderStatus::Expired);
    assert!(audit::verify(store.pool()).await.expect("verify").intact);
}
