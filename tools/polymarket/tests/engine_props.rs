//! Properties of the local matching engine under random order flow: the book
//! never stays crossed, and shares and cash are conserved, fees counted
//! (the engine's default schedule, rate 0.04 exponent 1: every match
//! charges the taker the CLOB V2 fee and the maker nothing).

use nt_polymarket::engine::{DEFAULT_LOCAL_FEES, Engine, MarketSpec, NewOrder, OrderStatus};
use nt_polymarket::fees::Role;
use nt_polymarket::types::{OrderType, Side, TickSize};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn engine() -> Engine {
    let mut e = Engine::new();
    e.add_market(MarketSpec {
        condition_id: "0xm".into(),
        question: "q".into(),
        slug: "q".into(),
        event_slug: "q".into(),
        group_label: String::new(),
        yes_token: "1".into(),
        no_token: "2".into(),
        tick: TickSize::T0_01,
        min_size: Decimal::ONE,
        neg_risk: false,
        end_ms: 0,
        resolved: None,
    });
    for name in ["a", "b", "c"] {
        e.fund(name, Decimal::from(500), Some(("0xm", Decimal::from(200))));
    }
    e
}

#[derive(Debug, Clone)]
enum Op {
    Place {
        account: usize,
        no: bool,
        sell: bool,
        ticks: i64,
        size_cents: i64,
        kind: u8,
        client: Option<u8>,
    },
    Cancel {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..3, any::<bool>(), any::<bool>(), 1i64..100, 100i64..5000, 0u8..3, proptest::option::of(0u8..5))
            .prop_map(|(account, no, sell, ticks, size_cents, kind, client)| Op::Place {
                account, no, sell, ticks, size_cents, kind, client
            }),
        1 => (0usize..64).prop_map(|pick| Op::Cancel { pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn matching_keeps_book_uncrossed_and_conserves_value(ops in proptest::collection::vec(op(), 1..120)) {
        let mut e = engine();
        let names = ["a", "b", "c"];
        let total = e.total_value();
        let mut placed: Vec<(String, String)> = Vec::new();
        let mut fees_charged = Decimal::ZERO;
        for (t, op) in ops.into_iter().enumerate() {
            match op {
                Op::Place { account, no, sell, ticks, size_cents, kind, client } => {
                    let order = NewOrder {
                        account: names[account].to_string(),
                        token_id: if no { "2".into() } else { "1".into() },
                        side: if sell { Side::Sell } else { Side::Buy },
                        price: Decimal::new(ticks, 2),
                        size: Decimal::new(size_cents, 2),
                        order_type: [OrderType::Gtc, OrderType::Fak, OrderType::Fok][kind as usize],
                        client_order_id: client.map(|c| format!("cid-{c}")),
                    };
                    let cash = |e: &Engine| -> Vec<Decimal> {
                        names.iter().map(|n| e.account(n).map(|a| a.cash).unwrap_or_default()).collect()
                    };
                    let before = cash(&e);
                    if let Ok((out, duplicate)) = e.place(order, t as i64) {
                        // Each account's cash moves by its trades at its own price, and the
                        // taker's also by its fee: makers pay nothing.
                        let mut want = before.clone();
                        let idx = |n: &str| names.iter().position(|m| *m == n).unwrap_or(0);
                        let signed = |side: Side, v: Decimal| if side == Side::Buy { -v } else { v };
                        for f in &out.fills {
                            want[idx(&f.taker_account)] +=
                                signed(f.taker_side, f.taker_price * f.size) - f.taker_fee;
                            want[idx(&f.maker_account)] += signed(f.maker_side, f.maker_price * f.size);
                        }
                        prop_assert_eq!(cash(&e), want);
                        if !duplicate {
                            // Fills never exceed the order and happen at or better than its limit.
                            let filled: Decimal = out.fills.iter().map(|f| f.size).sum();
                            prop_assert_eq!(filled, out.order.filled);
                            for f in &out.fills {
                                // The taker pays the venue's fee on its own price; a maker pays none
                                // (the maker's cash moves by price x size alone: conservation below).
                                prop_assert_eq!(
                                    f.taker_fee,
                                    DEFAULT_LOCAL_FEES.platform_fee(Role::Taker, f.size, f.taker_price)
                                );
                                fees_charged += f.taker_fee;
                                match out.order.side {
                                    Side::Buy => prop_assert!(f.taker_price <= out.order.price),
                                    Side::Sell => prop_assert!(f.taker_price >= out.order.price),
                                }
                            }
                            if out.order.order_type != OrderType::Gtc {
                                prop_assert!(out.order.status != OrderStatus::Live);
                            }
                        }
                        placed.push((out.order.account.clone(), out.order.order_id.clone()));
                    }
                }
                Op::Cancel { pick } => {
                    if !placed.is_empty() {
                        let (account, id) = placed[pick % placed.len()].clone();
                        let _ = e.cancel(&account, &id);
                    }
                }
            }
            prop_assert_eq!(e.total_value(), total, "cash + collateral + fees changed");
            prop_assert_eq!(e.fees_collected(), fees_charged);
            if let Err(why) = e.check_invariants() {
                prop_assert!(false, "invariant broken: {}", why);
            }
        }
    }
}
