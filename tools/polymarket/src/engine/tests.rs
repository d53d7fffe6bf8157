//! Unit tests of the matching engine.

use super::*;
use crate::types::TickSize;
use rust_decimal_macros::dec;

fn market() -> MarketSpec {
    MarketSpec {
        condition_id: "0xm".into(),
        question: "Will it rain?".into(),
        slug: "rain".into(),
        event_slug: "rain".into(),
        group_label: String::new(),
        yes_token: "1".into(),
        no_token: "2".into(),
        tick: TickSize::T0_01,
        min_size: dec!(1),
        neg_risk: false,
        end_ms: 0,
        resolved: None,
    }
}

/// A fee-free engine: the matching tests count cash without fees
/// (fees are checked in `taker_pays_the_fee_and_the_maker_does_not`).
fn engine() -> Engine {
    let mut e = Engine::new();
    e.set_default_fees(FeeSchedule::ZERO);
    e.add_market(market());
    e.fund("a", dec!(1000), Some(("0xm", dec!(100))));
    e.fund("b", dec!(1000), None);
    e
}

fn order(account: &str, token: &str, side: Side, price: Decimal, size: Decimal) -> NewOrder {
    NewOrder {
        account: account.into(),
        token_id: token.into(),
        side,
        price,
        size,
        order_type: OrderType::Gtc,
        client_order_id: None,
    }
}

#[test]
fn price_time_priority_and_partial_fills() {
    let mut e = engine();
    let (first, _) = e
        .place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 1)
        .expect("a1");
    let (second, _) = e
        .place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 2)
        .expect("a2");
    e.place(order("a", "1", Side::Sell, dec!(0.55), dec!(5)), 3)
        .expect("a3");
    let (taker, _) = e
        .place(order("b", "1", Side::Buy, dec!(0.60), dec!(12)), 4)
        .expect("b");
    assert_eq!(taker.fills.len(), 2);
    assert_eq!(taker.fills[0].yes_price, dec!(0.55), "better price first");
    assert_eq!(
        taker.fills[1].maker_order_id, first.order.order_id,
        "older first at a price"
    );
    assert_eq!(taker.fills[1].size, dec!(7));
    assert_eq!(taker.order.status, OrderStatus::Filled);
    assert_eq!(
        e.order(&first.order.order_id).map(|o| o.filled),
        Some(dec!(7))
    );
    assert_eq!(
        e.order(&second.order.order_id).map(|o| o.filled),
        Some(dec!(0))
    );
    // b paid 5*0.55 + 7*0.60
    assert_eq!(
        e.account("b").map(|a| a.cash),
        Some(dec!(1000) - dec!(2.75) - dec!(4.2))
    );
    e.check_invariants().expect("invariants");
}

#[test]
fn taker_pays_the_fee_and_the_maker_does_not() {
    let mut e = engine();
    e.set_default_fees(DEFAULT_LOCAL_FEES); // rate 0.04, exponent 1
    let before = e.total_value();
    e.place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 1)
        .expect("maker");
    let (taker, _) = e
        .place(order("b", "1", Side::Buy, dec!(0.60), dec!(10)), 2)
        .expect("taker");
    // Taker fee: 10 x 0.04 x (0.60 x 0.40) = 10 x 0.04 x 0.24 = 0.096.
    assert_eq!(taker.fills[0].taker_fee, dec!(0.096));
    assert_eq!(e.account("b").map(|a| a.cash), Some(dec!(993.904))); // 1000 - 6 - 0.096
    assert_eq!(e.account("a").map(|a| a.cash), Some(dec!(1006))); // maker: 1000 + 6, no fee
    assert_eq!(
        e.account("b")
            .and_then(|a| a.positions.get("1"))
            .map(|p| p.cost),
        Some(dec!(6.096))
    );
    // b now takes a's bid: sells 10 at 0.50, fee 10 x 0.04 x 0.25 = 0.1 out of the proceeds.
    e.place(order("a", "1", Side::Buy, dec!(0.50), dec!(10)), 3)
        .expect("maker bid");
    e.place(order("b", "1", Side::Sell, dec!(0.50), dec!(10)), 4)
        .expect("taker sell");
    assert_eq!(e.account("b").map(|a| a.cash), Some(dec!(998.804))); // 993.904 + 5 - 0.1
    assert_eq!(
        e.account("b")
            .and_then(|a| a.positions.get("1"))
            .map(|p| p.realized),
        Some(dec!(-1.196)) // 5 - 6.096 - 0.1
    );
    assert_eq!(e.fees_collected(), dec!(0.196));
    assert_eq!(
        e.total_value(),
        before,
        "cash + collateral + fees is conserved"
    );
    e.check_invariants().expect("invariants");
    // A buy must afford its worst-case fee: limited at 0.60 it may fill as
    // low as 0.50, where the curve peaks: 6 + 10 x 0.04 x 0.25 = 6.10.
    e.fund("c", dec!(6.05), None);
    e.place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 5)
        .expect("ask");
    let err = e
        .place(order("c", "1", Side::Buy, dec!(0.60), dec!(10)), 6)
        .expect_err("fee not covered");
    assert!(err.to_string().contains("6.10"), "{err}");
}

#[test]
fn complement_buy_no_matches_buy_yes_and_mints() {
    let mut e = engine();
    let before = e.total_value();
    e.place(order("b", "1", Side::Buy, dec!(0.40), dec!(10)), 1)
        .expect("yes bid");
    let (no_buy, _) = e
        .place(order("b", "2", Side::Buy, dec!(0.60), dec!(10)), 2)
        .expect("no buy");
    assert_eq!(no_buy.fills.len(), 1);
    assert_eq!(no_buy.fills[0].kind, "mint");
    assert_eq!(no_buy.fills[0].taker_price, dec!(0.60));
    assert_eq!(e.collateral("0xm"), dec!(110));
    assert_eq!(e.total_value(), before);
    e.check_invariants().expect("invariants");
}

#[test]
fn complement_sells_merge() {
    let mut e = engine();
    e.place(order("a", "1", Side::Sell, dec!(0.50), dec!(10)), 1)
        .expect("yes ask");
    let (no_sell, _) = e
        .place(order("a", "2", Side::Sell, dec!(0.45), dec!(4)), 2)
        .expect("no sell");
    assert_eq!(no_sell.fills[0].kind, "merge");
    assert_eq!(no_sell.fills[0].taker_price, dec!(0.50));
    assert_eq!(e.collateral("0xm"), dec!(96));
    e.check_invariants().expect("invariants");
}

#[test]
fn tick_and_size_and_funds_are_checked() {
    let mut e = engine();
    let err = e
        .place(order("b", "1", Side::Buy, dec!(0.555), dec!(1)), 1)
        .expect_err("tick");
    assert!(matches!(err, PolymarketError::Invalid { ref field, .. } if field == "price"));
    let err = e
        .place(order("b", "1", Side::Sell, dec!(0.5), dec!(1)), 1)
        .expect_err("no shares");
    assert!(matches!(err, PolymarketError::Refused(_)));
    let err = e
        .place(order("b", "1", Side::Buy, dec!(0.5), dec!(5000)), 1)
        .expect_err("cash");
    assert!(err.to_string().contains("insufficient pUSD"));
}

#[test]
fn cancel_releases_and_fok_fak_behave() {
    let mut e = engine();
    let (bid, _) = e
        .place(order("b", "1", Side::Buy, dec!(0.40), dec!(10)), 1)
        .expect("bid");
    assert_eq!(e.account("b").map(|a| a.reserved), Some(dec!(4)));
    e.cancel("b", &bid.order.order_id).expect("cancel");
    assert_eq!(e.account("b").map(|a| a.reserved), Some(dec!(0)));
    assert!(e.cancel("b", &bid.order.order_id).is_err());
    e.place(order("a", "1", Side::Sell, dec!(0.50), dec!(3)), 2)
        .expect("ask");
    let mut fok = order("b", "1", Side::Buy, dec!(0.50), dec!(5));
    fok.order_type = OrderType::Fok;
    assert!(e.place(fok, 3).is_err());
    let mut fak = order("b", "1", Side::Buy, dec!(0.50), dec!(5));
    fak.order_type = OrderType::Fak;
    let (out, _) = e.place(fak, 4).expect("fak");
    assert_eq!(out.order.filled, dec!(3));
    assert_eq!(out.order.status, OrderStatus::Cancelled);
    e.check_invariants().expect("invariants");
}

#[test]
fn client_order_id_places_once() {
    let mut e = engine();
    let mut o = order("b", "1", Side::Buy, dec!(0.40), dec!(10));
    o.client_order_id = Some("c1".into());
    let (first, dup1) = e.place(o.clone(), 1).expect("first");
    let (second, dup2) = e.place(o, 2).expect("second");
    assert!(!dup1 && dup2);
    assert_eq!(first.order.order_id, second.order.order_id);
    assert_eq!(e.open_orders("b", None).len(), 1);
}

#[test]
fn resolution_pays_winners_and_conserves_value() {
    let mut e = engine();
    e.place(order("a", "1", Side::Sell, dec!(0.50), dec!(10)), 1)
        .expect("ask");
    e.place(order("b", "1", Side::Buy, dec!(0.50), dec!(10)), 2)
        .expect("buy");
    let before = e.total_value();
    let (_, payouts) = e.resolve("0xm", Outcome::Yes).expect("resolve");
    assert!(payouts.contains(&("b".to_string(), dec!(10))));
    assert_eq!(e.total_value(), before);
    assert_eq!(e.collateral("0xm"), dec!(0));
    let pos = e
        .account("b")
        .and_then(|a| a.positions.get("1"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(pos.realized, dec!(5));
    e.check_invariants().expect("invariants");
}

#[test]
fn book_of_no_mirrors_yes() {
    let mut e = engine();
    e.place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 1)
        .expect("ask");
    e.place(order("b", "1", Side::Buy, dec!(0.40), dec!(5)), 2)
        .expect("bid");
    let no = e.book("2", 10).expect("book");
    assert_eq!(
        no.bids,
        vec![Level {
            price: dec!(0.40),
            size: dec!(10)
        }]
    );
    assert_eq!(
        no.asks,
        vec![Level {
            price: dec!(0.60),
            size: dec!(5)
        }]
    );
}
