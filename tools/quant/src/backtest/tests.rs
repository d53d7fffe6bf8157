//! Backtester tests: fills, costs, stops, metrics against independently
//! computed figures, determinism and the look-ahead audit.

use super::engine::*;
use super::metrics::*;
use super::walk::*;
use crate::bars::{Bar, BarSeries};

fn bar(day: i64, open: f64, high: f64, low: f64, close: f64) -> Bar {
    Bar {
        day,
        open,
        high,
        low,
        close,
        volume: 1000.0,
    }
}

fn series(bars: Vec<Bar>) -> BarSeries {
    BarSeries::new("T", "test", bars).unwrap()
}

/// Buys on the first bar with `kind`, then holds.
struct Once(OrderKind, Option<f64>);
impl Strategy for Once {
    fn on_bar(&mut self, h: &[Bar], _p: &PositionView) -> Option<Decision> {
        (h.len() == 1).then_some(Decision {
            target: 1.0,
            kind: self.0,
            stop_loss: self.1,
        })
    }
}

fn cfg() -> BacktestConfig {
    BacktestConfig {
        initial_capital: 10_000.0,
        commission: Commission {
            per_share: 0.01,
            bps: 0.0,
            minimum: 1.0,
        },
        slippage_bps: 10.0,
        sizing: Sizing::Units { units: 100.0 },
        ..Default::default()
    }
}

#[test]
fn a_market_order_fills_at_the_next_open_with_slippage_and_commission() {
    let s = series(vec![
        bar(1, 10.0, 10.0, 10.0, 10.0),
        bar(2, 11.0, 12.0, 10.5, 12.0),
        bar(3, 12.0, 12.0, 12.0, 12.0),
    ]);
    let r = run(&s, &mut Once(OrderKind::Market, None), &cfg()).unwrap();
    let f = r.fills[0];
    assert_eq!(f.bar, 1);
    // 11 * (1 + 10bp) = 11.011; commission max(100 * 0.01, 1) = 1.
    assert!((f.price - 11.011).abs() < 1e-12);
    assert_eq!(f.commission, 1.0);
    // Equity at bar 1: 10000 - 1101.1 - 1 + 100 * 12 = 10097.9
    assert!((r.equity[1] - 10_097.9).abs() < 1e-9);
    assert_eq!(r.equity[0], 10_000.0);
}

#[test]
fn limits_and_stops_fill_only_when_reached_and_gaps_fill_at_the_open() {
    let s = series(vec![
        bar(1, 10.0, 10.0, 10.0, 10.0),
        bar(2, 10.0, 10.2, 9.8, 10.0),
        bar(3, 10.0, 10.1, 9.4, 9.6),
        bar(4, 9.0, 9.2, 8.8, 9.0),
    ]);
    let c = BacktestConfig {
        slippage_bps: 0.0,
        ..cfg()
    };
    let r = run(&s, &mut Once(OrderKind::Limit { price: 9.5 }, None), &c).unwrap();
    assert_eq!(
        (r.fills[0].bar, r.fills[0].price, r.fills[0].reason),
        (2, 9.5, "limit")
    );
    // A buy stop at 10.15 triggers on bar 1 (high 10.2) at the stop price.
    let r = run(
        &s,
        &mut Once(OrderKind::Stop { price: 10.15 }, Some(9.5)),
        &c,
    )
    .unwrap();
    assert_eq!((r.fills[0].bar, r.fills[0].price), (1, 10.15));
    // Its protective stop at 9.5 is hit on bar 2 (low 9.4).
    assert_eq!(
        (r.fills[1].bar, r.fills[1].price, r.fills[1].reason),
        (2, 9.5, "stop_loss")
    );
    assert_eq!(r.trades.len(), 1);
    // (9.5 - 10.15) * 100 - 1 - 1 = -67
    assert!((r.trades[0].pnl + 67.0).abs() < 1e-9, "{:?}", r.trades);
    // A sell-side stop gapped through fills at the open: protective stop 9.7 and bar 3 opens at 9.0.
    let r = run(&s, &mut Once(OrderKind::Market, Some(9.3)), &c).unwrap();
    assert_eq!((r.fills[1].bar, r.fills[1].price), (3, 9.0));
}

#[test]
fn metrics_match_an_independent_calculation() {
    // Fixture: equity 100 -> [101, 99, 102, 98, 97, 103, 104, 100, 106, 108],
    // periods_per_year 252, rf 0. Figures computed once with plain Python
    // (statistics.stdev, n-1) by this script:
    //   e=[100,101,99,102,98,97,103,104,100,106,108]
    //   r=[e[i]/e[i-1]-1 for i in range(1,len(e))]; import statistics as st, math
    //   m=st.mean(r); s=st.stdev(r); print(m/s*math.sqrt(252), s*math.sqrt(252))
    //   dd=math.sqrt(sum(min(x,0)**2 for x in r)/len(r)); print(m/dd*math.sqrt(252))
    //   print((e[-1]/e[0])**(252/10)-1)
    //   peak=0;mdd=0
    //   for x in e: peak=max(peak,x); mdd=max(mdd,1-x/peak)
    //   print(mdd)
    // -> sharpe 3.653758581261807, vol 0.572810784974775, sortino 7.033748915833842,
    //    cagr 5.954703801586132, mdd 0.0490196078431373 (102 -> 97), longest stretch under a peak 2 bars (98, 97).
    let eq = [
        101.0, 99.0, 102.0, 98.0, 97.0, 103.0, 104.0, 100.0, 106.0, 108.0,
    ];
    let c = BacktestConfig {
        initial_capital: 100.0,
        ..Default::default()
    };
    let m = compute_metrics(&c, &eq, &[1.0; 10], 0.0, &[]);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-8 * b.abs().max(1.0);
    assert!(close(m.total_return, 0.08));
    assert!(close(m.sharpe, 3.653_758_581_261_807), "{}", m.sharpe);
    assert!(
        close(m.volatility, 0.572_810_784_974_775),
        "{}",
        m.volatility
    );
    assert!(close(m.sortino, 7.033_748_915_833_842), "{}", m.sortino);
    assert!(
        close(m.annualised_return, 5.954_703_801_586_132),
        "{}",
        m.annualised_return
    );
    assert!(
        close(m.max_drawdown, 0.049_019_607_843_137_3),
        "{}",
        m.max_drawdown
    );
    assert_eq!(m.max_drawdown_bars, 2);
    assert!(close(
        m.calmar,
        5.954_703_801_586_132 / 0.049_019_607_843_137_3
    ));
    assert_eq!(m.time_in_market, 1.0);
}

#[test]
fn drawdown_duration_runs_to_the_end_without_recovery() {
    assert_eq!(drawdown(&[1.0, 2.0, 1.5, 1.8, 1.9]), (0.25, 3));
}

/// Peeks: holds the whole series from its constructor and goes long when the
/// next bar closes higher.
struct Peeker(Vec<f64>);
impl Strategy for Peeker {
    fn on_bar(&mut self, h: &[Bar], _p: &PositionView) -> Option<Decision> {
        let i = h.len() - 1;
        let next = self.0.get(i + 1)?;
        Some(Decision::market(if *next > self.0[i] { 1.0 } else { 0.0 }))
    }
}

#[test]
fn a_strategy_that_peeks_fails_the_lookahead_audit_and_an_honest_one_passes() {
    let s = crate::data::synthetic::generate("SYN", &Default::default()).unwrap();
    let c = BacktestConfig::default();
    let peek = audit_lookahead(
        &s,
        &c,
        &|s: &BarSeries| Ok(Box::new(Peeker(s.closes())) as Box<dyn Strategy>),
        5,
    )
    .unwrap();
    assert!(!peek.passed(), "the peeking strategy was not caught");
    // The peeker looks brilliant, which is why the audit exists.
    let r = run(&s, &mut Peeker(s.closes()), &c).unwrap();
    assert!(r.metrics.sharpe > 3.0, "{}", r.metrics.sharpe);
    for spec in crate::strategy::StrategySpec::examples() {
        let rep = audit_lookahead(&s, &c, &|_s: &BarSeries| spec.build(), 5).unwrap();
        assert!(
            rep.passed(),
            "{spec:?} reacted to future bars at {:?}",
            rep.first_violation
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_backtest() {
    let p = crate::data::synthetic::SyntheticParams::default();
    let a = crate::data::synthetic::generate("S", &p).unwrap();
    let b = crate::data::synthetic::generate("S", &p).unwrap();
    let spec = crate::strategy::StrategySpec::examples()[0].clone();
    let ra = run(
        &a,
        spec.build().unwrap().as_mut(),
        &BacktestConfig::default(),
    )
    .unwrap();
    let rb = run(
        &b,
        spec.build().unwrap().as_mut(),
        &BacktestConfig::default(),
    )
    .unwrap();
    assert_eq!(ra.equity, rb.equity);
    assert_eq!(ra.metrics, rb.metrics);
}

#[test]
fn walk_forward_splits_roll_or_anchor() {
    let s = walk_forward_splits(10, 4, 2, false).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!((s[1].train.clone(), s[1].test.clone()), (2..6, 6..8));
    let a = walk_forward_splits(10, 4, 2, true).unwrap();
    assert_eq!(a[2].train, 0..8);
    assert!(walk_forward_splits(5, 4, 2, false).is_err());
}
