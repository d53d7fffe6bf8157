//! Unit tests of the compliance checks.

use super::checks::*;
use super::*;
use crate::types::{Order, OrderRequest, OrderType, Quote, Side};
use crate::types::{OrderStatus, TimeInForce};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn quote(symbol: &str, currency: &str, bid: Decimal, ask: Decimal) -> Quote {
    Quote {
        symbol: symbol.into(),
        currency: currency.into(),
        bid,
        ask,
        last: (bid + ask) / dec!(2),
        at_ms: 1_750_086_000_000,
    }
}

fn req(symbol: &str, side: Side, qty: Decimal) -> OrderRequest {
    OrderRequest::market("c-1", symbol, side, qty)
}

fn resting(
    symbol: &str,
    side: Side,
    order_type: OrderType,
    qty: Decimal,
    limit: Option<Decimal>,
    stop: Option<Decimal>,
) -> Order {
    Order {
        id: format!("R-{}", order_type.as_str()),
        client_order_id: "r".into(),
        account_id: "a".into(),
        symbol: symbol.into(),
        currency: "USD".into(),
        side,
        order_type,
        time_in_force: TimeInForce::Gtc,
        qty,
        limit_price: limit,
        stop_price: stop,
        trail_amount: None,
        trail_percent: None,
        status: OrderStatus::Open,
        filled_qty: Decimal::ZERO,
        avg_fill_price: None,
        commission: Decimal::ZERO,
        reason: None,
        created_ms: 0,
        updated_ms: 0,
    }
}

fn ctx<'a>(q: &'a Quote, resting: &'a [Order], held: Decimal) -> Context<'a> {
    Context {
        quote: q,
        resting,
        held,
        account_currency: None,
        rate: None,
    }
}

fn result<'a>(checks: &'a [CheckResult], rule: &str) -> &'a CheckResult {
    checks.iter().find(|c| c.rule == rule).expect(rule)
}

/// Issue 9, item 1: 10 AAPL held, a resting sell of 4; a plain sell of
/// 7 sells 1 short. The old code checked only sell_short and let it
/// through; with allow_short = false it is refused by `short_sale`.
#[test]
fn a_plain_sell_of_more_than_held_is_a_short_sale() {
    let q = quote("AAPL", "USD", dec!(199.9), dec!(200.1));
    let rest = [resting(
        "AAPL",
        Side::Sell,
        OrderType::Limit,
        dec!(4),
        Some(dec!(250)),
        None,
    )];
    let rules = ComplianceRules::default();
    let checks = check_order(
        &rules,
        &req("aapl", Side::Sell, dec!(7)),
        &ctx(&q, &rest, dec!(10)),
    );
    let short = result(&checks, "short_sale");
    assert!(!short.passed, "{short:?}");
    assert!(
        short.detail.contains("would sell 1 short")
            && short
                .detail
                .contains("10 held long, 4 in working sell orders, 6 available"),
        "{}",
        short.detail
    );
    assert!(
        refusal(&checks)
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("short_sale")
    );
    // 6 is a long sale.
    let checks = check_order(
        &rules,
        &req("AAPL", Side::Sell, dec!(6)),
        &ctx(&q, &rest, dec!(10)),
    );
    assert!(result(&checks, "short_sale").passed);
    assert!(
        result(&checks, "order_marking")
            .detail
            .contains("designation: long sale")
    );
    // Nothing held, or held short (-2): any sell is short.
    for held in [Decimal::ZERO, dec!(-2)] {
        let checks = check_order(
            &rules,
            &req("AAPL", Side::Sell, dec!(1)),
            &ctx(&q, &[], held),
        );
        assert!(!result(&checks, "short_sale").passed, "held {held}");
    }
    // Allowed: it passes and is marked a short sale (UMIR 6.2).
    let allow = ComplianceRules {
        allow_short: true,
        ..ComplianceRules::default()
    };
    let checks = check_order(
        &allow,
        &req("AAPL", Side::Sell, dec!(7)),
        &ctx(&q, &rest, dec!(10)),
    );
    assert!(result(&checks, "short_sale").passed);
    assert!(
        result(&checks, "order_marking")
            .detail
            .contains("designation: short sale"),
        "{checks:?}"
    );
    assert!(refusal(&checks).is_none());
}

/// Sell 20 with 15 held and reduce_to_position: placed as 15; with
/// nothing available it stays 20 and is refused; buys are untouched.
#[test]
fn reduce_to_position_sells_only_what_is_held() {
    let q = quote("AAPL", "USD", dec!(199.9), dec!(200.1));
    let rules = ComplianceRules::default();
    let mut r = req("AAPL", Side::Sell, dec!(20));
    r.reduce_to_position = true;
    let rv = review(&rules, &r, &ctx(&q, &[], dec!(15)));
    assert_eq!((rv.order.qty, rv.reduced_from), (dec!(15), Some(dec!(20))));
    assert!(refusal(&rv.checks).is_none(), "{:?}", rv.checks);
    assert!(
        result(&rv.checks, "short_sale")
            .detail
            .starts_with("reduced from 20 to 15"),
        "{:?}",
        rv.checks
    );
    let rv = review(&rules, &r, &ctx(&q, &[], Decimal::ZERO));
    assert_eq!((rv.order.qty, rv.reduced_from), (dec!(20), None));
    assert!(!result(&rv.checks, "short_sale").passed);
    // Without the flag: refused, not reduced.
    r.reduce_to_position = false;
    let rv = review(&rules, &r, &ctx(&q, &[], dec!(15)));
    assert_eq!(rv.order.qty, dec!(20));
    assert!(!result(&rv.checks, "short_sale").passed);
}

/// Issue 9, item 6: the old wash-trade check looked only at resting
/// limit orders. A resting stop-limit sell (stop 102, limit 101) and a
/// new buy limit at 101.50 can meet once the stop triggers; so can a
/// resting stop sell (market once triggered) and any buy; and a new
/// sell stop can hit the account's own resting buy limit.
#[test]
fn wash_trades_cover_every_resting_order_type() {
    let q = quote("AAPL", "USD", dec!(100), dec!(100.1));
    let rules = ComplianceRules::default();
    let buy_limit = |p: Decimal| OrderRequest {
        order_type: OrderType::Limit,
        limit_price: Some(p),
        ..req("AAPL", Side::Buy, dec!(1))
    };
    let stop_limit = [resting(
        "AAPL",
        Side::Sell,
        OrderType::StopLimit,
        dec!(1),
        Some(dec!(101)),
        Some(dec!(102)),
    )];
    let checks = check_order(
        &rules,
        &buy_limit(dec!(101.5)),
        &ctx(&q, &stop_limit, dec!(1)),
    );
    let w = result(&checks, "wash_trade");
    assert!(!w.passed && w.detail.contains("stop_limit"), "{w:?}");
    // Below its limit it cannot meet it.
    let checks = check_order(
        &rules,
        &buy_limit(dec!(100.5)),
        &ctx(&q, &stop_limit, dec!(1)),
    );
    assert!(result(&checks, "wash_trade").passed);
    for order_type in [OrderType::Stop, OrderType::TrailingStop] {
        let stop = [resting(
            "AAPL",
            Side::Sell,
            order_type,
            dec!(1),
            None,
            Some(dec!(90)),
        )];
        let checks = check_order(&rules, &buy_limit(dec!(80)), &ctx(&q, &stop, dec!(1)));
        let w = result(&checks, "wash_trade");
        assert!(
            !w.passed && w.detail.contains("at market once triggered"),
            "{w:?}"
        );
    }
    let bid = [resting(
        "AAPL",
        Side::Buy,
        OrderType::Limit,
        dec!(1),
        Some(dec!(95)),
        None,
    )];
    let sell_stop = OrderRequest {
        order_type: OrderType::Stop,
        stop_price: Some(dec!(96)),
        ..req("AAPL", Side::Sell, dec!(1))
    };
    let checks = check_order(&rules, &sell_stop, &ctx(&q, &bid, dec!(5)));
    assert!(!result(&checks, "wash_trade").passed);
    // Another symbol, or a filled order, never crosses.
    let mut done = stop_limit.clone();
    done[0].status = OrderStatus::Filled;
    let checks = check_order(&rules, &buy_limit(dec!(101.5)), &ctx(&q, &done, dec!(1)));
    assert!(result(&checks, "wash_trade").passed);
}

/// Issue 9, item 6: a USD_JPY order of 1,000,000 units at 150 is worth
/// 150,000,000 JPY = 1,000,000 USD. The old check compared 150,000,000
/// with a limit of 2,000,000 (of nothing in particular) and refused it;
/// in a USD account it is within a 2,000,000 USD limit and over a
/// 500,000 USD one, and the message names the currencies.
#[test]
fn max_order_value_is_in_the_account_currency() {
    let q = quote("USD_JPY", "JPY", dec!(149.99), dec!(150));
    let order = OrderRequest {
        order_type: OrderType::Limit,
        limit_price: Some(dec!(150)),
        ..req("USD_JPY", Side::Buy, dec!(1000000))
    };
    let usd = Context {
        account_currency: Some("USD"),
        ..ctx(&q, &[], Decimal::ZERO)
    };
    let mut rules = ComplianceRules {
        max_order_value: Some(dec!(2000000)),
        ..ComplianceRules::default()
    };
    let c = check_order(&rules, &order, &usd);
    let m = result(&c, "max_order_value");
    assert!(m.passed, "{m:?}");
    assert!(
        m.detail.contains("150000000.00 JPY = 1000000.00 USD")
            && m.detail.ends_with("against a limit of 2000000 USD"),
        "{}",
        m.detail
    );
    rules.max_order_value = Some(dec!(500000));
    assert!(!result(&check_order(&rules, &order, &usd), "max_order_value").passed);

    // The same order in a CAD account, at 0.0091 CAD per JPY (from the
    // venue's CAD_JPY quote): 1,365,000 CAD, over a 1,000,000 CAD limit.
    let rate = Rate {
        value: dec!(0.0091),
        source: "oanda quote of CAD_JPY".into(),
    };
    let cad = Context {
        account_currency: Some("CAD"),
        rate: Some(&rate),
        ..ctx(&q, &[], Decimal::ZERO)
    };
    rules.max_order_value = Some(dec!(1000000));
    let m = check_order(&rules, &order, &cad);
    let m = result(&m, "max_order_value");
    assert!(!m.passed);
    assert!(
        m.detail
            .contains("= 1365000.00 CAD at 0.0091 CAD per JPY (oanda quote of CAD_JPY)")
            && m.detail.contains("limit of 1000000 CAD"),
        "{}",
        m.detail
    );
    // No rate at all: refused, saying how to give one.
    let none = Context {
        account_currency: Some("CAD"),
        ..ctx(&q, &[], Decimal::ZERO)
    };
    let m = check_order(&rules, &order, &none);
    let m = result(&m, "max_order_value");
    assert!(
        !m.passed && m.detail.contains("tax_load_fx_rates"),
        "{}",
        m.detail
    );
    // A USD stock in a USD account needs no rate: 1000 x 200 = 200,000 USD.
    let aapl = quote("AAPL", "USD", dec!(199.9), dec!(200));
    let usd = Context {
        account_currency: Some("USD"),
        ..ctx(&aapl, &[], Decimal::ZERO)
    };
    let m = check_order(&rules, &req("AAPL", Side::Buy, dec!(1000)), &usd);
    assert!(
        result(&m, "max_order_value")
            .detail
            .contains("200000.00 USD against a limit of 1000000 USD")
    );
}

#[test]
fn ciro_coverage_lists_implemented_and_uncovered_rules() {
    let covered: Vec<&str> = CIRO_COVERAGE
        .iter()
        .filter(|r| r.coverage == Coverage::Implemented)
        .map(|r| r.rule)
        .collect();
    assert!(covered.contains(&"UMIR 6.2") && covered.contains(&"UMIR 2.2"));
    let not: Vec<&str> = CIRO_COVERAGE
        .iter()
        .filter(|r| r.coverage == Coverage::NotCovered)
        .map(|r| r.rule)
        .collect();
    assert!(
        not.contains(&"UMIR 5.3") && not.contains(&"UMIR 3.1"),
        "{not:?}"
    );
    assert!(same_symbol("AAPL NASDAQ", "aapl") && !same_symbol("AAPLX", "AAPL"));
}
