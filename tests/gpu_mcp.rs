//! The `gpu` variant (bundles `gpu_signals` and `neural`) through the real
//! binary over stdio: tools listed, indicators with their warm-up, the
//! backend report, a model trained, listed and used for a forecast with an
//! interval, and bad input answered with errors naming the field.

mod common;

use common::*;
use serde_json::{Value, json};

/// A seeded seasonal series: trend + 12-step sine + a little deterministic
/// noise.
fn seasonal(n: usize) -> Vec<f64> {
    let mut state: u64 = 7;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.2;
            10.0 + 0.02 * i as f64 + (std::f64::consts::TAU * i as f64 / 12.0).sin() + noise
        })
        .collect()
}

#[tokio::test]
async fn the_gpu_variant_computes_signals_and_trains_and_serves_a_model() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "gpu", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in [
        "signals_indicators",
        "signals_generate",
        "signals_rank",
        "signals_backend",
        "signals_benchmark",
        "neural_train",
        "neural_predict",
        "neural_evaluate",
        "neural_models",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }

    // SMA(3) of 1..6 is 2,3,4,5 after a two-bar warm-up (TA-Lib's nulls).
    let ind = call(
        &client,
        "signals_indicators",
        json!({"data": {"series": [{"symbol": "A", "close": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}]},
               "indicators": ["sma_3"], "full": true, "backend": "cpu"}),
    )
    .await;
    assert!(!is_error(&ind), "{}", text(&ind));
    assert_eq!(
        structured(&ind)["symbols"][0]["indicators"]["sma_3"],
        json!([null, null, 2.0, 3.0, 4.0, 5.0])
    );
    let backend = call(&client, "signals_backend", json!({})).await;
    assert!(!is_error(&backend), "{}", text(&backend));
    assert!(
        text(&backend).to_lowercase().contains("cpu"),
        "{}",
        text(&backend)
    );

    // Mismatched lengths: an error naming the field, and the session goes on.
    let bad = call(
        &client,
        "signals_indicators",
        json!({"data": {"series": [{"symbol": "A", "close": [1.0, 2.0, 3.0]},
                                   {"symbol": "B", "close": [1.0, 2.0]}]},
               "indicators": ["sma_2"]}),
    )
    .await;
    assert!(is_error(&bad), "{}", text(&bad));
    assert!(
        structured(&bad)["error"]["field"].is_string(),
        "{}",
        text(&bad)
    );

    // Train a small N-BEATS, find it listed, forecast 12 steps with an interval.
    let y = seasonal(200);
    let hyper = json!({"input_size": 24, "horizon": 12, "hidden": 16, "layers": 2, "blocks": 2,
                       "epochs": 10, "learning_rate": 0.003, "holdout": 24, "season": 12, "seed": 3});
    let trained = call(
        &client,
        "neural_train",
        json!({"name": "sea", "series": {"values": y}, "hyper": hyper, "device": "cpu"}),
    )
    .await;
    assert!(!is_error(&trained), "{}", text(&trained));
    assert_eq!(structured(&trained)["model"]["version"], json!(1));
    let listed = call(&client, "neural_models", json!({})).await;
    assert!(text(&listed).contains("sea"), "{}", text(&listed));
    let pred = call(
        &client,
        "neural_predict",
        json!({"name": "sea", "series": {"values": y}, "level": 0.9}),
    )
    .await;
    assert!(!is_error(&pred), "{}", text(&pred));
    let body = structured(&pred);
    let forecast = find_array(&body, "forecast").expect("a forecast array");
    assert_eq!(forecast.len(), 12, "{body}");
    let bad = call(
        &client,
        "neural_predict",
        json!({"name": "no-such-model", "series": {"values": y}}),
    )
    .await;
    assert!(is_error(&bad), "{}", text(&bad));
    client.cancel().await.expect("close");
}

/// The first array under `key` anywhere in `v`.
fn find_array<'a>(v: &'a Value, key: &str) -> Option<&'a Vec<Value>> {
    match v {
        Value::Object(m) => m
            .get(key)
            .and_then(Value::as_array)
            .or_else(|| m.values().find_map(|x| find_array(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_array(x, key)),
        _ => None,
    }
}
