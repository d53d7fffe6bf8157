//! The tools through the bundle's route table, on SQLite and PostgreSQL:
//! train saves versions 1, 2 of a name; a model reloaded from the database
//! predicts bit for bit what the in-memory model predicts and its weights
//! bytes are identical; predict gives an interval and its latency;
//! evaluate, list and delete; bounded inputs and `cuda` refused with clear
//! errors.

mod support;

use std::time::Instant;

use candle_core::Device;
use nt_mcp_core::{Store, ToolCtx, ToolErrorKind};
use nt_neural::device::Precision;
use nt_neural::models::{Architecture, Hyper};
use nt_neural::train::{self, Quiet};
use nt_neural::{Limits, NeuralBundle};
use serde_json::{Value, json};
use support::*;

fn tiny_hyper() -> Value {
    json!({"input_size": 24, "horizon": 12, "hidden": 16, "layers": 2, "blocks": 2,
           "epochs": 15, "learning_rate": 0.003, "holdout": 24, "season": 12, "seed": 3})
}

async fn tools_on(store: Store) {
    let r = router(NeuralBundle::default());
    let ctx = ToolCtx::new(store.clone());
    let y = seasonal(200, 11);

    let t1 = ok(
        &r,
        &ctx,
        "neural_train",
        json!({"name": "sea", "series": {"values": y}, "hyper": tiny_hyper(), "device": "cpu"}),
    )
    .await;
    assert_eq!(t1["model"]["version"], 1);
    assert_eq!(t1["model"]["architecture"], "nbeats");
    assert_eq!(t1["model"]["data"]["digest"], nt_neural::data::digest(&y));
    assert!(t1["model"]["metrics"]["model"]["mase"].is_number());
    let t2 = ok(&r, &ctx, "neural_train", json!({"name": "sea", "architecture": "nhits", "series": {"values": y}, "hyper": tiny_hyper(), "device": "cpu"})).await;
    assert_eq!(t2["model"]["version"], 2);
    let audits: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE outcome = 'neural_model_saved'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(audits, 2);

    // Same seed, same data: the same weights as training in memory.
    let h: Hyper = serde_json::from_value(tiny_hyper()).unwrap();
    let mem = train::train(
        Architecture::Nbeats,
        &h,
        &y,
        &Device::Cpu,
        Precision::F32,
        &Quiet,
    )
    .unwrap();
    let loaded = nt_neural::store::load(&store, "sea", Some(1), &Device::Cpu)
        .await
        .unwrap();
    assert_eq!(loaded.record.version, 1);
    assert_eq!(
        loaded.weights,
        mem.model.params.to_safetensors().unwrap(),
        "weights bytes differ"
    );
    assert_eq!(
        loaded.trained.model.params.to_safetensors().unwrap(),
        loaded.weights
    );
    let hist = &y[..190];
    let a = train::forecast_many(&mem, &[hist], Precision::F32).unwrap();
    let b = train::forecast_many(&loaded.trained, &[hist], Precision::F32).unwrap();
    let bits = |v: &Vec<Vec<f64>>| v[0].iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b), "reloaded predictions differ");
    assert_eq!(mem.residuals, loaded.trained.residuals);
    assert_eq!(mem.scaler, loaded.trained.scaler);

    // Predict: default latest (v2, nhits); v1 from the stored context equals
    // the in-memory forecast from the end of the series.
    let p2 = ok(&r, &ctx, "neural_predict", json!({"name": "sea"})).await;
    assert_eq!(p2["model"]["version"], 2);
    assert_eq!(p2["model"]["architecture"], "nhits");
    let p1 = ok(
        &r,
        &ctx,
        "neural_predict",
        json!({"name": "sea", "version": 1, "level": 0.8}),
    )
    .await;
    let fc: Vec<f64> = serde_json::from_value(p1["forecast"].clone()).unwrap();
    let want = train::forecast_many(&mem, &[&y], Precision::F32)
        .unwrap()
        .remove(0);
    assert_eq!(
        fc.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    let lo: Vec<f64> = serde_json::from_value(p1["lower"].clone()).unwrap();
    let hi: Vec<f64> = serde_json::from_value(p1["upper"].clone()).unwrap();
    assert_eq!(lo.len(), 12);
    for k in 0..12 {
        assert!(
            lo[k] <= fc[k] + 1e-9 && fc[k] <= hi[k] + 1e-9 || lo[k] <= hi[k],
            "step {k}: {} {} {}",
            lo[k],
            fc[k],
            hi[k]
        );
        assert!(lo[k] < hi[k]);
    }
    // bf16 inference is close to f32, not equal.
    let p16 = ok(
        &r,
        &ctx,
        "neural_predict",
        json!({"name": "sea", "version": 1, "precision": "bf16"}),
    )
    .await;
    let f16: Vec<f64> = serde_json::from_value(p16["forecast"].clone()).unwrap();
    let gap = fc
        .iter()
        .zip(&f16)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("bf16 vs f32 inference: max gap {gap:.4} (series scale ~10-20)");
    assert!(gap < 0.5, "bf16 forecast too far from f32: {gap}");

    // Evaluate on a longer continuation of the same process.
    let longer = seasonal(260, 11);
    let ev = ok(
        &r,
        &ctx,
        "neural_evaluate",
        json!({"name": "sea", "version": 1, "series": {"values": longer}, "holdout": 48}),
    )
    .await;
    assert_eq!(ev["same_data_as_training"], false);
    assert_eq!(ev["metrics"]["origins"], 4);
    println!("evaluate v1 on 260 points: {}", ev["metrics"]);
    let stored = ok(&r, &ctx, "neural_evaluate", json!({"name": "sea"})).await;
    assert_eq!(stored["on"], "training holdout");

    // List, delete.
    let list = ok(&r, &ctx, "neural_models", json!({"name": "sea"})).await;
    let versions: Vec<i64> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1]);
    assert!(list["models"][0]["weights_bytes"].as_u64().unwrap() > 1000);
    // Another server process on the same database deletes v2 and trains a
    // new model that gets the number 2 again: this one must not serve its
    // cached v2.
    let p = ok(
        &r,
        &ctx,
        "neural_predict",
        json!({"name": "sea", "version": 2}),
    )
    .await;
    assert_eq!(p["model"]["architecture"], "nhits");
    let other = router(NeuralBundle::default());
    ok(
        &other,
        &ctx,
        "neural_model_delete",
        json!({"name": "sea", "version": 2}),
    )
    .await;
    let gru = json!({"input_size": 12, "horizon": 12, "hidden": 4, "epochs": 1, "holdout": 12});
    let t3 = ok(
        &other,
        &ctx,
        "neural_train",
        json!({"name": "sea", "architecture": "gru", "series": {"values": y}, "hyper": gru}),
    )
    .await;
    assert_eq!(t3["model"]["version"], 2);
    let p = ok(
        &r,
        &ctx,
        "neural_predict",
        json!({"name": "sea", "version": 2}),
    )
    .await;
    assert_eq!(
        p["model"]["architecture"], "gru",
        "served a stale cached model"
    );
    ok(
        &r,
        &ctx,
        "neural_model_delete",
        json!({"name": "sea", "version": 2}),
    )
    .await;
    let p = ok(&r, &ctx, "neural_predict", json!({"name": "sea"})).await;
    assert_eq!(p["model"]["version"], 1);
    let e = call(
        &r,
        &ctx,
        "neural_predict",
        json!({"name": "sea", "version": 2}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ToolErrorKind::NotFound);
    // A tampered weights row is caught by its digest.
    sqlx::query("UPDATE neural_models SET weights_sha256 = 'x' WHERE name = 'sea'")
        .execute(store.pool())
        .await
        .unwrap();
    let e = nt_neural::store::load(&store, "sea", None, &Device::Cpu)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SHA-256"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_roundtrip_on_sqlite_and_postgres() {
    on_both("tools_roundtrip_on_sqlite_and_postgres", tools_on).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_clear_errors() {
    let store = store_at("sqlite::memory:").await;
    let r = router(NeuralBundle::with_limits(Limits {
        max_series_len: 500,
        max_epochs: 200,
        max_params: 30_000,
        ..Limits::default()
    }));
    let ctx = ToolCtx::new(store);
    let y = seasonal(100, 1);
    let cases = [
        (
            json!({"name": "a", "series": {"values": y}, "device": "cuda", "hyper": {"epochs": 1}}),
            "this build has no CUDA",
        ),
        (
            json!({"name": "a", "series": {"values": y}, "hyper": {"epochs": 201}}),
            "limit of 200",
        ),
        (
            json!({"name": "a", "series": {"values": y}, "hyper": {"hidden": 512}}),
            "30000",
        ),
        (
            json!({"name": "a", "series": {"values": vec![1.0; 501]}}),
            "at most 500",
        ),
        (
            json!({"name": "a", "series": {"values": [1.0, 2.0, 3.0]}}),
            "need at least",
        ),
        (
            json!({"name": "bad name", "series": {"values": y}}),
            "letters, digits",
        ),
        (json!({"name": "a", "series": {}}), "exactly one of"),
        (
            json!({"name": "a", "series": {"csv_path": "x.csv"}}),
            "data_dir",
        ),
        (
            json!({"name": "a", "series": {"values": y}, "hyper": {"learning_rate": 2.0}}),
            "learning_rate",
        ),
    ];
    for (args, want) in cases {
        let e = call(&r, &ctx, "neural_train", args.clone())
            .await
            .expect_err("must fail");
        let text = e.to_text();
        assert!(text.contains(want), "{args}: {text}");
    }
    if !nt_neural::device::CUDA_BUILT {
        // Predict refuses cuda before touching the store.
        let e = call(
            &r,
            &ctx,
            "neural_predict",
            json!({"name": "a", "device": "cuda"}),
        )
        .await
        .unwrap_err();
        assert!(e.to_text().contains("no CUDA"), "{}", e.to_text());
    }
    let e = call(&r, &ctx, "neural_predict", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ToolErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_synthetic_sources_and_inference_latency() {
    let store = store_at("sqlite::memory:").await;
    let dir = std::env::temp_dir().join(format!("nt_neural_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let y = seasonal(120, 5);
    let mut text = String::from("date,close\n");
    for (i, v) in y.iter().enumerate() {
        text.push_str(&format!("2024-{:02}-{:02},{v}\n", 1 + i / 28, 1 + i % 28));
    }
    std::fs::write(dir.join("s.csv"), &text).unwrap();
    let b = NeuralBundle::default().with_data_dir(&dir);
    let r = router(b);
    let ctx = ToolCtx::new(store);
    let hyper = json!({"hidden": 8, "layers": 1, "blocks": 1, "epochs": 3, "holdout": 12});
    let a = ok(
        &r,
        &ctx,
        "neural_train",
        json!({"name": "c1", "series": {"csv": text}, "hyper": hyper}),
    )
    .await;
    let b = ok(
        &r,
        &ctx,
        "neural_train",
        json!({"name": "c2", "series": {"csv_path": "s.csv"}, "hyper": hyper}),
    )
    .await;
    assert_eq!(a["model"]["data"]["digest"], nt_neural::data::digest(&y));
    assert_eq!(a["model"]["data"]["digest"], b["model"]["data"]["digest"]);
    let e = call(
        &r,
        &ctx,
        "neural_train",
        json!({"name": "c3", "series": {"csv_path": "../etc/passwd"}, "hyper": hyper}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ToolErrorKind::InvalidInput);
    let s = ok(&r, &ctx, "neural_train", json!({"name": "syn", "architecture": "momentum", "series": {"synthetic": {"seed": 3, "bars": 400}}, "hyper": {"hidden": 8, "epochs": 3}})).await;
    assert!(
        s["model"]["data"]["source"]
            .as_str()
            .unwrap()
            .starts_with("synthetic")
    );
    let p = ok(&r, &ctx, "neural_predict", json!({"name": "syn"})).await;
    let pu = p["probability_up"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pu));
    let ev = ok(
        &r,
        &ctx,
        "neural_evaluate",
        json!({"name": "syn", "series": {"synthetic": {"seed": 3, "bars": 400}}, "holdout": 50}),
    )
    .await;
    assert_eq!(ev["same_data_as_training"], true);
    assert_eq!(ev["metrics"]["holdout"], 50);
    let acc = ev["metrics"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));

    // Latency per series: a default-size N-BEATS (hidden 64, 3 blocks), warm cache.
    let big = ok(&r, &ctx, "neural_train", json!({"name": "lat", "series": {"values": seasonal(120, 2)}, "hyper": {"epochs": 1, "holdout": 12}})).await;
    assert_eq!(
        big["model"]["params"].as_i64().unwrap() as usize,
        nt_neural::models::param_count(Architecture::Nbeats, &Hyper::default())
    );
    ok(&r, &ctx, "neural_predict", json!({"name": "lat"})).await;
    let n = 50;
    let t0 = Instant::now();
    let mut inference = Vec::new();
    for _ in 0..n {
        let p = ok(&r, &ctx, "neural_predict", json!({"name": "lat"})).await;
        inference.push(p["latency_ms"]["inference"].as_f64().unwrap());
    }
    inference.sort_by(f64::total_cmp);
    println!(
        "neural_predict latency per series (default N-BEATS, {} build): tool call {:.3} ms mean, forward p50 {:.3} ms, p95 {:.3} ms",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        t0.elapsed().as_secs_f64() * 1000.0 / n as f64,
        inference[n / 2],
        inference[n * 95 / 100]
    );
    std::fs::remove_dir_all(&dir).ok();
}
