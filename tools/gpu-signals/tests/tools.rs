//! The tools through the bundle's route table (CPU-only bundle, so the
//! answers are the same on a machine with a GPU): indicator values against
//! hand-checked numbers, signals at known bars, ranking order, the backend
//! report, a bounded benchmark, and bad input refused by field.

use std::sync::Arc;

use nt_gpu_signals::GpuSignalsBundle;
use nt_mcp_core::{Store, ToolBundle, ToolCtx, ToolError, ToolRouter};
use serde_json::{Value, json};

async fn setup() -> (ToolRouter, ToolCtx) {
    let store = Store::open("sqlite::memory:").await.expect("store");
    (
        Arc::new(GpuSignalsBundle::cpu_only()).routes(),
        ToolCtx::new(store),
    )
}

async fn call(r: &ToolRouter, ctx: &ToolCtx, tool: &str, args: Value) -> Result<Value, ToolError> {
    r.call(tool, args, ctx.clone()).await.map(|o| o.structured)
}

async fn ok(r: &ToolRouter, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    match call(r, ctx, tool, args.clone()).await {
        Ok(v) => v,
        Err(e) => panic!("{tool} {args}: {}", e.to_text()),
    }
}

async fn err(r: &ToolRouter, ctx: &ToolCtx, tool: &str, args: Value) -> ToolError {
    match call(r, ctx, tool, args.clone()).await {
        Ok(v) => {
            let v = v.to_string();
            panic!(
                "{tool} {args} should fail, answered {}",
                &v[..v.len().min(300)]
            )
        }
        Err(e) => e,
    }
}

fn closes(v: &[f64], sym: &str) -> Value {
    json!({"symbol": sym, "close": v})
}

#[tokio::test]
async fn indicators_through_the_tool_layer() {
    let (r, ctx) = setup().await;
    let names: Vec<String> = r.specs().iter().map(|s| s.name.clone()).collect();
    assert_eq!(
        names,
        [
            "signals_indicators",
            "signals_generate",
            "signals_rank",
            "signals_backend",
            "signals_benchmark"
        ]
    );
    // SMA(3) of 1..6 = 2,3,4,5 from bar 2; EMA(3) seeded 2 then e += (x-e)/2.
    let out = ok(
        &r,
        &ctx,
        "signals_indicators",
        json!({"data": {"series": [closes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "A")]},
               "indicators": ["sma_3", "ema_3", "macd_2_3_2"], "full": true}),
    )
    .await;
    assert_eq!(out["backend"], "cpu");
    let ind = &out["symbols"][0]["indicators"];
    assert_eq!(ind["sma_3"], json!([null, null, 2.0, 3.0, 4.0, 5.0]));
    assert_eq!(ind["ema_3"], json!([null, null, 2.0, 3.0, 4.0, 5.0]));
    // MACD(2,3,2): slow EMA seeded 2 at bar 2, fast seeded 2.5; line 0.5 then
    // e_f += (x-e_f)*2/3, e_s += (x-e_s)/2 -> bar 3: 3.5-3 = 0.5.
    assert_eq!(ind["macd_2_3_2"]["macd"][3], json!(0.5));
    assert_eq!(
        ind["macd_2_3_2"]["macd"][2],
        Value::Null,
        "all three start at bar 3"
    );
    assert_eq!(out["first_value_bar"]["macd_2_3_2"], 3);

    // last_n bounds the answer; f32 rounds.
    let out = ok(
        &r,
        &ctx,
        "signals_indicators",
        json!({"data": {"synthetic": {"symbols": ["AAA", "BBB"], "bars": 300, "seed": 3}},
               "indicators": ["rsi_14", "bb_20_2", "vwap", "obv"], "last_n": 2, "precision": "f32"}),
    )
    .await;
    assert_eq!(out["precision"], "f32");
    assert!(out["source"].as_str().unwrap().contains("synthetic"));
    let bb = &out["symbols"][1]["indicators"]["bb_20_2"];
    assert_eq!(bb["upper"].as_array().unwrap().len(), 2);
    let (u, m, l) = (
        bb["upper"][1].as_f64().unwrap(),
        bb["mid"][1].as_f64().unwrap(),
        bb["lower"][1].as_f64().unwrap(),
    );
    assert!(
        u > m && m > l && ((u - m) - (m - l)).abs() < 1e-3 * m,
        "{bb}"
    );
    let rsi = out["symbols"][0]["indicators"]["rsi_14"][1]
        .as_f64()
        .unwrap();
    assert!((0.0..=100.0).contains(&rsi));
}

#[tokio::test]
async fn signals_fire_at_known_bars_and_ranking_orders_symbols() {
    let (r, ctx) = setup().await;
    // A falls then rises: close crosses above its SMA(3) at bar 5.
    let a = [10.0, 9.0, 8.0, 7.0, 7.0, 9.0, 10.0];
    let out = ok(
        &r,
        &ctx,
        "signals_generate",
        json!({"data": {"series": [closes(&a, "A")]}, "last_n": 7, "signals": [
            {"type": "crossover", "fast": "close", "slow": "sma_3"},
            {"type": "rule", "name": "up", "rule": {"all": [
                {"left": "close", "op": "crosses_above", "right": "sma_3"},
                {"left": "close", "op": ">", "right": 8.5}]}},
            {"type": "breakout", "period": 3},
        ]}),
    )
    .await;
    let sigs = &out["symbols"][0]["signals"];
    assert_eq!(sigs[0]["fired"], json!([{"bar": 5, "value": 1}]), "{sigs}");
    assert_eq!(sigs[1]["fired"], json!([{"bar": 5, "value": 1}]));
    // Breakout(3) on closes only: bar 3 (7 < min 8,9,10... low = close) is -1; bar 5 (9 > max 8,7,7) +1; bar 6 (10 > 9) +1.
    assert_eq!(
        sigs[2]["fired"],
        json!([{"bar": 3, "value": -1}, {"bar": 5, "value": 1}, {"bar": 6, "value": 1}])
    );

    // Mean reversion: 20 flat bars, a drop to 90 (z = -4.36), back to 100.
    let mut m = vec![100.0; 20];
    m.extend([90.0, 100.0]);
    let out = ok(
        &r,
        &ctx,
        "signals_generate",
        json!({"data": {"series": [closes(&m, "M")]}, "last_n": 22,
               "signals": [{"type": "mean_reversion", "period": 20, "entry": 2.0, "exit": 0.5}]}),
    )
    .await;
    let d = &out["symbols"][0]["signals"][0]["detail"];
    assert_eq!(
        d["events"],
        json!([{"bar": 20, "action": "enter_long"}, {"bar": 21, "action": "exit_long"}]),
        "{d}"
    );
    let z = d["zscore_last"].as_f64().unwrap();
    assert!((z - 0.5 / 4.75f64.sqrt()).abs() < 1e-12, "{z}");

    // Rank by the last close: C > A > B.
    let out = ok(
        &r,
        &ctx,
        "signals_rank",
        json!({"data": {"series": [closes(&[1.0, 2.0], "A"), closes(&[1.0, 1.0], "B"), closes(&[1.0, 5.0], "C")]},
               "components": [{"series": "close", "weight": 1.0}], "top_n": 1}),
    )
    .await;
    assert_eq!(out["long"][0]["symbol"], "C");
    assert_eq!(out["short"][0]["symbol"], "B");
    let out = ok(
        &r,
        &ctx,
        "signals_rank",
        json!({"data": {"series": [closes(&[1.0, 2.0], "A"), closes(&[1.0, 1.0], "B"), closes(&[1.0, 5.0], "C")]},
               "components": [{"series": "close", "weight": -1.0}], "top_n": 1, "normalize": "none"}),
    )
    .await;
    assert_eq!(out["long"][0]["symbol"], "B");
    assert_eq!(out["long"][0]["score"], -1.0);
}

#[tokio::test]
async fn backend_and_benchmark_report_the_cpu() {
    let (r, ctx) = setup().await;
    let b = ok(&r, &ctx, "signals_backend", json!({})).await;
    assert_eq!(b["auto"], "cpu");
    assert_eq!(b["cuda"]["available"], false);
    assert!(b["cuda"]["reason"].as_str().unwrap().contains("disabled"));
    let e = err(&r, &ctx, "signals_indicators", json!({"data": {"series": [closes(&[1.0, 2.0], "A")]}, "indicators": ["sma_2"], "backend": "cuda"})).await;
    assert_eq!(e.field.as_deref(), Some("backend"), "{}", e.message);
    let out = ok(
        &r,
        &ctx,
        "signals_benchmark",
        json!({"symbols": 50, "bars": 200, "reps": 1}),
    )
    .await;
    let cpu = &out["results"][0];
    assert_eq!(cpu["backend"], "cpu");
    assert!(cpu["gb_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(out["cuda"]["ran"], false);
}

#[tokio::test]
async fn bad_input_is_refused_by_field() {
    let (r, ctx) = setup().await;
    let t = "signals_indicators";
    // Mismatched lengths.
    let e = err(&r, &ctx, t, json!({"data": {"series": [closes(&[1.0, 2.0, 3.0], "A"), closes(&[1.0, 2.0], "B")]}, "indicators": ["sma_2"]})).await;
    assert_eq!(
        e.field.as_deref(),
        Some("data.series[1].close"),
        "{}",
        e.message
    );
    // NaN (JSON has no NaN: a string or null is a type error naming the field).
    let e = err(&r, &ctx, t, json!({"data": {"series": [{"symbol": "A", "close": [1.0, null]}]}, "indicators": ["sma_2"]})).await;
    assert!(
        e.field
            .as_deref()
            .unwrap_or_default()
            .starts_with("data.series"),
        "{e:?}"
    );
    // Window 0.
    let e = err(
        &r,
        &ctx,
        t,
        json!({"data": {"series": [closes(&[1.0, 2.0], "A")]}, "indicators": ["sma_0"]}),
    )
    .await;
    assert_eq!(e.field.as_deref(), Some("indicators[0]"));
    assert!(e.message.contains("period is 0"), "{}", e.message);
    // Too many symbol-bars for one call.
    let many: Vec<String> = (0..201).map(|i| format!("S{i}")).collect();
    let e = err(
        &r,
        &ctx,
        t,
        json!({"data": {"synthetic": {"symbols": many, "bars": 100000}}, "indicators": ["sma_2"]}),
    )
    .await;
    assert_eq!(e.field.as_deref(), Some("data.synthetic"));
    assert!(
        e.message.contains("20100000 symbol-bars; at most 20000000"),
        "{}",
        e.message
    );
    let e = err(
        &r,
        &ctx,
        "signals_benchmark",
        json!({"symbols": 20000, "bars": 2000}),
    )
    .await;
    assert_eq!(e.field.as_deref(), Some("bars"));
    // Indicators that need fields the call did not give.
    let e = err(
        &r,
        &ctx,
        t,
        json!({"data": {"series": [closes(&[1.0, 2.0], "A")]}, "indicators": ["obv"]}),
    )
    .await;
    assert!(e.message.contains("needs volume"), "{}", e.message);
    let e = err(
        &r,
        &ctx,
        t,
        json!({"data": {"series": [closes(&[1.0, 2.0, 3.0], "A")]}, "indicators": ["corr_2"]}),
    )
    .await;
    assert!(e.message.contains("benchmark"), "{}", e.message);
    // A full answer over the cap, unknown names, both data sources.
    let e = err(&r, &ctx, t, json!({"data": {"synthetic": {"symbols": ["A", "B", "C"], "bars": 100000}}, "indicators": ["sma_2"], "full": true})).await;
    assert_eq!(e.field.as_deref(), Some("full"));
    let e = err(
        &r,
        &ctx,
        t,
        json!({"data": {"series": [closes(&[1.0], "A")]}, "indicators": ["nope_3"]}),
    )
    .await;
    assert_eq!(e.field.as_deref(), Some("indicators[0]"));
    let e = err(&r, &ctx, t, json!({"data": {}, "indicators": ["sma_2"]})).await;
    assert_eq!(e.field.as_deref(), Some("data"));
    let e = err(&r, &ctx, "signals_generate", json!({"data": {"series": [closes(&[1.0, 2.0], "A")]}, "signals": [{"type": "rule", "rule": {"left": "macd", "op": ">", "right": 0}}]})).await;
    assert!(e.message.contains("macd_12_26_9.hist"), "{}", e.message);
}

#[tokio::test]
async fn resources_and_prompts_are_served() {
    let b = GpuSignalsBundle::cpu_only();
    let store = Store::open("sqlite::memory:").await.expect("store");
    let res = b.resources();
    let text = b
        .read_resource(&res[0].uri, ToolCtx::new(store))
        .await
        .expect("read")
        .text;
    assert!(text.contains("| `macd_f_s_g` |"));
    assert_eq!(b.prompts()[0].name, "signals_screen");
}
