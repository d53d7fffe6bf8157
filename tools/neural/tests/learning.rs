//! The models learn: loss falls, N-BEATS (and NHITS, GRU) beat the naive
//! forecast on a seeded seasonal series (trend + 12-step sine season +
//! noise), the momentum classifier trains, bf16 mixed precision trains,
//! and a seed gives the same weights twice. Figures are printed
//! (`cargo test -p nt-neural --test learning -- --nocapture`).

mod support;

use std::time::Instant;

use candle_core::Device;
use nt_neural::device::Precision;
use nt_neural::models::{Architecture, Hyper};
use nt_neural::rng::Rng;
use nt_neural::train::{self, Quiet, Trained};
use support::seasonal;

fn small(epochs: usize) -> Hyper {
    Hyper {
        input_size: 24,
        horizon: 12,
        hidden: 32,
        layers: 2,
        blocks: 2,
        epochs,
        batch_size: 32,
        learning_rate: 3e-3,
        holdout: Some(48),
        season: Some(12),
        ..Hyper::default()
    }
}

fn fit(arch: Architecture, h: &Hyper, y: &[f64], p: Precision) -> Trained {
    let t0 = Instant::now();
    let tr = train::train(arch, h, y, &Device::Cpu, p, &Quiet).expect("train");
    let first = tr.history.first().unwrap();
    let last = tr.history.last().unwrap();
    println!(
        "{:?} {:?}: {} epochs in {:.2?}; train loss {:.4} -> {:.4}, val {:?} -> {:?}; metrics {}",
        arch,
        p,
        h.epochs,
        t0.elapsed(),
        first.train,
        last.train,
        first.val,
        last.val,
        tr.metrics
    );
    assert!(
        last.train < first.train * 0.5,
        "{arch:?}: loss did not fall enough ({} -> {})",
        first.train,
        last.train
    );
    tr
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn nbeats_beats_naive_on_a_seasonal_series() {
    let y = seasonal(240, 7);
    let tr = fit(Architecture::Nbeats, &small(60), &y, Precision::F32);
    let m = &tr.metrics;
    let model = f(&m["model"]["mase"]);
    let naive = f(&m["naive"]["mase"]);
    println!(
        "N-BEATS MASE {model:.3} vs naive {naive:.3}, sMAPE {:.2}% vs {:.2}%",
        f(&m["model"]["smape"]),
        f(&m["naive"]["smape"])
    );
    assert!(model < 1.0, "MASE {model}");
    assert!(model < naive, "MASE {model} vs naive {naive}");
    assert!(f(&m["mae_ratio_to_naive"]) < 1.0);
}

#[test]
fn nhits_beats_naive_on_a_seasonal_series() {
    let y = seasonal(240, 7);
    let h = Hyper {
        pool_kernels: vec![2, 1],
        ..small(60)
    };
    let tr = fit(Architecture::Nhits, &h, &y, Precision::F32);
    let m = &tr.metrics;
    let model = f(&m["model"]["mase"]);
    let naive = f(&m["naive"]["mase"]);
    println!("NHITS MASE {model:.3} vs naive {naive:.3}");
    assert!(
        model < 1.0 && model < naive,
        "MASE {model} vs naive {naive}"
    );
}

#[test]
fn gru_beats_naive_on_a_seasonal_series() {
    let y = seasonal(240, 7);
    // A one-season window keeps the debug-build time small (the GRU
    // unrolls one step per input value).
    let h = Hyper {
        input_size: 12,
        hidden: 16,
        learning_rate: 5e-3,
        ..small(25)
    };
    let tr = fit(Architecture::Gru, &h, &y, Precision::F32);
    let m = &tr.metrics;
    let model = f(&m["model"]["mase"]);
    let naive = f(&m["naive"]["mase"]);
    println!("GRU MASE {model:.3} vs naive {naive:.3}");
    assert!(
        model < 1.0 && model < naive,
        "MASE {model} vs naive {naive}"
    );
}

#[test]
fn bf16_mixed_precision_trains() {
    let y = seasonal(240, 7);
    let tr = fit(Architecture::Nbeats, &small(30), &y, Precision::Bf16);
    let m = &tr.metrics;
    let model = f(&m["model"]["mase"]);
    let naive = f(&m["naive"]["mase"]);
    println!("N-BEATS bf16 MASE {model:.3} vs naive {naive:.3}");
    assert!(model < naive, "MASE {model} vs naive {naive}");
    // The master weights stay f32.
    let bytes = tr.model.params.to_safetensors().unwrap();
    let back = nt_neural::params::Params::from_safetensors(&bytes, &Device::Cpu).unwrap();
    assert_eq!(back.count(), tr.model.params.count());
}

#[test]
fn momentum_classifier_learns_a_persistent_sign() {
    // Prices whose returns keep their sign for runs of 10 periods (plus
    // noise): the lagged returns carry the next sign, so the classifier
    // should beat the majority-class baseline.
    let mut rng = Rng::new(5);
    let mut p = vec![100.0];
    let mut sign = 1.0;
    for t in 0..800 {
        if t % 10 == 0 && rng.unit() < 0.5 {
            sign = -sign;
        }
        let r = sign * 0.004 + 0.002 * rng.normal();
        let last = *p.last().unwrap();
        p.push(last * (1.0 + r));
    }
    let h = Hyper {
        hidden: 16,
        epochs: 40,
        learning_rate: 3e-3,
        ..Hyper::default()
    };
    let tr = fit(Architecture::Momentum, &h, &p, Precision::F32);
    let m = &tr.metrics;
    let acc = f(&m["accuracy"]);
    let base = f(&m["baseline_accuracy"]);
    println!(
        "momentum accuracy {acc:.3} vs majority baseline {base:.3}, log loss {:.3}",
        f(&m["log_loss"])
    );
    assert!(acc > base + 0.1, "accuracy {acc} vs baseline {base}");
    let up = train::momentum_predict(&tr, &[&p], Precision::F32).unwrap()[0];
    assert!((0.0..=1.0).contains(&up));
}

#[test]
fn same_seed_same_weights_bit_for_bit() {
    let y = seasonal(120, 3);
    let h = Hyper {
        hidden: 8,
        epochs: 3,
        holdout: Some(12),
        ..Hyper::default()
    };
    let run = |seed: u64| {
        let h = Hyper { seed, ..h.clone() };
        let tr = train::train(
            Architecture::Nbeats,
            &h,
            &y,
            &Device::Cpu,
            Precision::F32,
            &Quiet,
        )
        .unwrap();
        tr.model.params.to_safetensors().unwrap()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
}
