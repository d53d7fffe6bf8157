//! The CPU path against `fixtures/talib_fixture.json`: TA-Lib 0.8 (C library
//! through its Python binding) for the indicators it has, numpy/pandas
//! formulas for the rest (`fixtures/make_fixtures.py` wrote it; the script,
//! library versions and the input series are inside the fixture). Warm-up
//! nulls must sit exactly where the reference has them.
//!
//! Tolerances: f64 within 1e-9 relative at every bar; f32 within 1e-4 of
//! the series' largest magnitude (f32 keeps ~7 digits of values whose
//! difference, like a MACD histogram, can sit far below the prices).

use nt_gpu_signals::batch::{Batch, Real};
use nt_gpu_signals::indicators::{SeriesRef, cpu};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("../fixtures/talib_fixture.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn col(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn batch<T: Real>(fx: &Value) -> Batch<T> {
    let input = &fx["input"];
    let c = |k: &str| {
        col(input, k)
            .into_iter()
            .map(T::from_f64)
            .collect::<Vec<T>>()
    };
    let n = c("close").len();
    Batch::from_ohlcv(
        1,
        n,
        c("open"),
        c("high"),
        c("low"),
        c("close"),
        c("volume"),
    )
    .and_then(|b| b.with_benchmark(c("benchmark")))
    .expect("fixture batch")
}

/// Compares every fixture output; returns the worst (name, relative error).
fn compare<T: Real>(rel_to_scale: bool, tol: f64) -> Vec<(String, f64)> {
    let fx = fixture();
    let b = batch::<T>(&fx);
    let outs = fx["outputs"].as_object().expect("outputs");
    assert_eq!(outs.len(), 24, "fixture outputs");
    let mut worst = Vec::new();
    for (name, expected) in outs {
        let r = SeriesRef::parse("fixture", name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let SeriesRef::Output { indicator, output } = r else {
            panic!("{name} is a field")
        };
        indicator.check_inputs("fixture", &b).expect("inputs");
        let v = cpu::compute(&b, &indicator);
        let got: Vec<f64> = v.series(output, 0).iter().map(|x| x.to_f64()).collect();
        let want: Vec<f64> = expected
            .as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect();
        assert_eq!(got.len(), want.len(), "{name}");
        let scale = want
            .iter()
            .filter(|x| x.is_finite())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        let first = want.iter().position(|x| !x.is_nan()).expect("some values");
        assert_eq!(
            indicator.lookback(),
            first,
            "{name}: first value at bar {first}, lookback says {}",
            indicator.lookback()
        );
        let mut w = 0.0f64;
        for (t, (g, e)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.is_nan(),
                e.is_nan(),
                "{name} bar {t}: got {g}, reference {e} (warm-up must match)"
            );
            if e.is_nan() {
                continue;
            }
            let denom = if rel_to_scale { scale } else { e.abs() }.max(1e-300);
            let rel = if g == e { 0.0 } else { (g - e).abs() / denom };
            assert!(
                rel <= tol,
                "{name} bar {t}: got {g}, reference {e}, relative error {rel:e} > {tol:e}"
            );
            w = w.max(rel);
        }
        worst.push((name.clone(), w));
    }
    worst
}

#[test]
fn f64_matches_talib_and_pandas_to_1e9_relative() {
    let worst = compare::<f64>(false, 1e-9);
    for (n, w) in &worst {
        println!("f64 {n}: worst relative error {w:.2e}");
    }
}

#[test]
fn f32_matches_to_1e4_of_scale() {
    let worst = compare::<f32>(true, 1e-4);
    for (n, w) in &worst {
        println!("f32 {n}: worst error / scale {w:.2e}");
    }
}

#[test]
fn the_fixture_records_its_library_version_and_script() {
    let fx = fixture();
    assert!(fx["library"].as_str().unwrap().contains("TA-Lib"));
    assert!(fx["talib_c_version"].as_str().unwrap().starts_with("0."));
    assert!(fx["script"].as_str().unwrap().contains("talib.MACD"));
    assert_eq!(fx["input"]["close"].as_array().unwrap().len(), 300);
}
