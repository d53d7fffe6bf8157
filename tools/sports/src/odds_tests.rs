//! Odds maths against worked examples.

use super::*;
use rust_decimal_macros::dec;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn conversions_match_the_textbook_table() {
    // 5/2 = 3.50 decimal = +250 American = 28.57 %; 1/2 = 1.50 = -200 = 66.67 %.
    let d = to_decimal(OddsFormat::Fractional, "5/2", "odds").unwrap();
    assert!(close(d, 3.5, 1e-12));
    let c = convert(d);
    assert_eq!(c.american, "+250");
    assert_eq!(c.fractional, "5/2");
    assert!(close(c.implied, 0.28571429, 1e-8));
    let d = to_decimal(OddsFormat::American, "-200", "odds").unwrap();
    assert!(close(d, 1.5, 1e-12));
    assert_eq!(convert(d).fractional, "1/2");
    assert_eq!(convert(2.0).fractional, "evens");
    assert_eq!(convert(2.0).american, "+100");
    assert!(close(
        to_decimal(OddsFormat::American, "+150", "o").unwrap(),
        2.5,
        1e-12
    ));
    assert!(close(
        to_decimal(OddsFormat::Implied, "40%", "o").unwrap(),
        2.5,
        1e-12
    ));
    assert_eq!(convert(1.8).fractional, "4/5");
    assert_eq!(convert(1.8).american, "-125");
}

#[test]
fn bad_prices_name_the_field_and_rule() {
    for (fmt, t) in [
        (OddsFormat::Decimal, "1.0"),
        (OddsFormat::Decimal, "abc"),
        (OddsFormat::American, "+50"),
        (OddsFormat::Fractional, "5-2"),
        (OddsFormat::Implied, "1.2"),
    ] {
        match to_decimal(fmt, t, "odds[0]") {
            Err(SportsError::Invalid { field, .. }) => assert_eq!(field, "odds[0]"),
            other => panic!("{t}: {other:?}"),
        }
    }
}

/// The `implied` R package README (Opisthokonta), "The Basic Method":
/// odds (4.20, 3.70, 1.95) give 0.2331556, 0.2646631, 0.5021813.
#[test]
fn proportional_matches_the_implied_package_example() {
    let fair = remove_margin(&[4.20, 3.70, 1.95], MarginMethod::Proportional).unwrap();
    for (p, want) in fair
        .probabilities
        .iter()
        .zip([0.2331556, 0.2646631, 0.5021813])
    {
        assert!(close(*p, want, 5e-8), "{p} vs {want}");
    }
    assert!(close(
        fair.overround,
        1.0 / 4.2 + 1.0 / 3.7 + 1.0 / 1.95 - 1.0,
        1e-12
    ));
}

/// Shin and power on the same odds, against values computed independently
/// (Python, 2026-12-02): Shin by the Jullien–Salanié fixed point
/// `z ← (Σ√(z² + 4(1−z)πᵢ²/S) − 2)/(n − 2)` (the `implied` package's
/// default "js" algorithm), power by Newton's method on `Σ πᵢᵏ = 1`.
/// Ours solves both by bisection, so the algorithms differ.
#[test]
fn shin_and_power_match_independent_solutions() {
    let shin = remove_margin(&[4.20, 3.70, 1.95], MarginMethod::Shin).unwrap();
    assert!(close(shin.parameter.unwrap(), 0.010608058155, 1e-9));
    for (p, want) in shin
        .probabilities
        .iter()
        .zip([0.231571958909, 0.263574496283, 0.504853544808])
    {
        assert!(close(*p, want, 1e-9), "{p} vs {want}");
    }
    let power = remove_margin(&[4.20, 3.70, 1.95], MarginMethod::Power).unwrap();
    assert!(close(power.parameter.unwrap(), 1.020655875347, 1e-9));
    for (p, want) in
        power
            .probabilities
            .iter()
            .zip([0.231140979823, 0.263064092366, 0.505794927811])
    {
        assert!(close(*p, want, 1e-9), "{p} vs {want}");
    }
    // Both shift probability from the longshot to the favourite relative to
    // proportional (the favourite–longshot correction).
    assert!(shin.probabilities[2] > 0.5021813 && power.probabilities[2] > shin.probabilities[2]);
}

#[test]
fn a_fair_book_is_left_alone() {
    for m in [
        MarginMethod::Proportional,
        MarginMethod::Power,
        MarginMethod::Shin,
    ] {
        let fair = remove_margin(&[2.0, 4.0, 4.0], m).unwrap();
        assert!(close(fair.probabilities[0], 0.5, 1e-9), "{m:?}");
        assert!(close(fair.overround, 0.0, 1e-12));
    }
}

#[test]
fn expected_value_per_unit() {
    // 60 % at evens: +0.20 a unit; 40 % at 2.2: -0.12.
    assert!(close(expected_value(0.6, 2.0), 0.2, 1e-12));
    assert!(close(expected_value(0.4, 2.2), -0.12, 1e-12));
}

fn q(book: &str, outcome: &str, odds: Decimal, point: Option<Decimal>) -> Quote {
    Quote {
        book: book.into(),
        outcome: outcome.into(),
        odds,
        point,
    }
}

/// Two books on a two-way market: 2.10 on A at one, 2.05 on B at the other.
/// Σ 1/d = 0.476190 + 0.487805 = 0.963995, profit 1/0.963995 − 1 = 3.7349 %;
/// on 1000 the stakes are 1000/(d·Σ) = 493.976 and 506.024, rounded down to
/// cents 493.97 and 506.02 (999.99 staked), returning 1037.34 either way:
/// a guaranteed 37.35.
#[test]
fn arbitrage_two_way_worked_example() {
    let quotes = vec![
        q("x", "A", dec!(2.10), None),
        q("x", "B", dec!(1.80), None),
        q("y", "A", dec!(1.85), None),
        q("y", "B", dec!(2.05), None),
    ];
    let arb = find_arbitrage(&quotes, &["A".into(), "B".into()], dec!(1000)).expect("arb");
    assert!(close(arb.implied_sum, 0.96399535, 1e-8));
    assert!(close(arb.profit_pct, 0.03734940, 1e-8));
    assert_eq!(arb.legs[0].book, "x");
    assert_eq!(arb.legs[1].book, "y");
    assert_eq!(arb.legs[0].stake, dec!(493.97));
    assert_eq!(arb.legs[1].stake, dec!(506.02));
    assert_eq!(arb.total_stake, dec!(999.99));
    assert_eq!(arb.guaranteed_profit, dec!(37.35));
    // No arbitrage when the best prices sum above 1.
    let none = vec![q("x", "A", dec!(1.90), None), q("y", "B", dec!(1.90), None)];
    assert!(find_arbitrage(&none, &["A".into(), "B".into()], dec!(100)).is_none());
    // A missing outcome is no arbitrage.
    assert!(find_arbitrage(&quotes, &["A".into(), "B".into(), "Draw".into()], dec!(100)).is_none());
}

/// Over 47.5 at 1.95 (x) and Under 50.5 at 1.95 (y): totals 48–50 win both.
/// Equal stakes 50/50 return 97.50 each: miss −2.50, hit +95.00.
#[test]
fn a_totals_middle() {
    let quotes = vec![
        q("x", "Over", dec!(1.95), Some(dec!(47.5))),
        q("y", "Under", dec!(1.95), Some(dec!(50.5))),
        q("y", "Over", dec!(1.90), Some(dec!(50.5))),
        q("x", "Under", dec!(1.90), Some(dec!(47.5))),
    ];
    let m = find_middles(LineMarket::Totals, &quotes, dec!(100));
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].window, (dec!(47.5), dec!(50.5)));
    assert_eq!(m[0].width, dec!(3.0));
    assert_eq!(m[0].miss_profit, dec!(-2.50));
    assert_eq!(m[0].hit_profit, dec!(95.00));
}

/// Spreads: Home −3.5 at one book and Away +6.5 at another: a home win by
/// 4, 5 or 6 wins both (window (3.5, 6.5)).
#[test]
fn a_spreads_middle() {
    let quotes = vec![
        q("x", "Away", dec!(1.91), Some(dec!(6.5))),
        q("y", "Home", dec!(1.91), Some(dec!(-3.5))),
        q("y", "Away", dec!(1.91), Some(dec!(3.5))),
        q("x", "Home", dec!(1.91), Some(dec!(-6.5))),
    ];
    let m = find_middles(LineMarket::Spreads, &quotes, dec!(200));
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].legs[0].outcome, "Away");
    assert_eq!(m[0].width, dec!(3.0));
    assert_eq!(m[0].legs[0].stake + m[0].legs[1].stake, dec!(200));
}
