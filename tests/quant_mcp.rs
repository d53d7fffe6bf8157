//! The `quant` variant (bundles `strategies` and `risk`) through the real
//! binary over stdio: tools listed with typed schemas, deterministic
//! backtests naming their data source, field-naming errors, the look-ahead
//! audit, an optimisation with progress, a long optimisation handed over to
//! a job and cancelled, VaR on a normal sample against the closed form, the
//! SVG chart, stress tests and the kill rule.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const QUANT_TOOLS: [&str; 18] = [
    "strategy_list",
    "market_bars",
    "backtest_run",
    "pairs_backtest",
    "strategy_compare",
    "strategy_optimize",
    "portfolio_weights",
    "portfolio_rebalance",
    "execution_schedule",
    "attribution",
    "performance_report",
    "risk_var",
    "risk_stress_test",
    "risk_adaptive",
    "risk_kill_check",
    "bond_analytics",
    "curve_fit",
    "curve_signal",
];

#[tokio::test]
async fn the_quant_variant_backtests_optimises_and_measures_risk() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "quant", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in QUANT_TOOLS {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let bt = tools
        .iter()
        .find(|t| t.name == "backtest_run")
        .expect("backtest_run");
    let schema = serde_json::to_string(&bt.input_schema).unwrap();
    assert!(
        schema.contains("mean_reversion") && schema.contains("lookback"),
        "strategy parameters are typed in the schema"
    );

    // Deterministic for a seed, and the answer names the data source.
    let args = json!({"strategy": {"kind": "mean_reversion", "window": 20, "entry_z": 1.5, "exit_z": 0.25}, "data": {"synthetic": {"seed": 11, "bars": 1000}}, "lookahead_audit": true});
    let started = Instant::now();
    let a = call(&client, "backtest_run", args.clone()).await;
    let one_run = started.elapsed();
    assert!(!is_error(&a), "{}", text(&a));
    let b = call(&client, "backtest_run", args).await;
    assert_eq!(structured(&a)["metrics"], structured(&b)["metrics"]);
    assert!(
        text(&a).starts_with("source: synthetic(seed=11"),
        "{}",
        text(&a)
    );
    assert_eq!(structured(&a)["lookahead_audit"]["passed"], json!(true));
    eprintln!("one 1000-bar backtest + 5-cut audit over MCP: {one_run:?} (debug build)");

    // A parameter out of range is an error naming the field; the session goes on.
    let bad = call(
        &client,
        "backtest_run",
        json!({"strategy": {"kind": "swing", "fast": 50, "slow": 20}}),
    )
    .await;
    assert!(is_error(&bad));
    assert_eq!(structured(&bad)["error"]["field"], json!("strategy.slow"));
    let unknown = call(
        &client,
        "backtest_run",
        json!({"strategy": {"kind": "astrology"}}),
    )
    .await;
    assert!(is_error(&unknown));

    // Optimisation with an out-of-sample verdict.
    let opt = call(
        &client,
        "strategy_optimize",
        json!({"strategy": {"kind": "momentum"}, "space": [{"name": "lookback", "min": 5, "max": 120, "integer": true}, {"name": "threshold", "min": 0, "max": 0.05}], "method": {"method": "nelder_mead", "max_evals": 60}, "data": {"synthetic": {"bars": 1200}}}),
    )
    .await;
    assert!(!is_error(&opt), "{}", text(&opt));
    let o = structured(&opt);
    assert!(o["evaluations"].as_u64().unwrap() <= 60);
    assert!(o["overfit"]["overfit"].is_boolean());
    let tps = o["evaluations"].as_f64().unwrap() / o["seconds"].as_f64().unwrap();
    eprintln!("optimiser: {tps:.0} trials/s on 840 in-sample bars (debug build)");

    // Compare, portfolio, execution, attribution.
    let cmp = call(
        &client,
        "strategy_compare",
        json!({"a": {"kind": "buy_and_hold"}, "b": {"kind": "momentum", "lookback": 50}}),
    )
    .await;
    assert!(
        structured(&cmp)["test"]["p_value"].as_f64().is_some(),
        "{}",
        text(&cmp)
    );
    let w = call(&client, "portfolio_weights", json!({"method": "risk_parity", "assets": [{"symbol": "AAA"}, {"symbol": "BBB", "synthetic": {"calm_vol": 0.3}}, {"symbol": "CCC"}]})).await;
    assert!(!is_error(&w), "{}", text(&w));
    let rcs: Vec<f64> = structured(&w)["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["risk_contribution"].as_f64().unwrap())
        .collect();
    assert!(rcs.iter().all(|r| (r - 1.0 / 3.0).abs() < 1e-6), "{rcs:?}");
    let sched = call(
        &client,
        "execution_schedule",
        json!({"algo": "vwap", "quantity": 10000, "lot_size": 100}),
    )
    .await;
    let total: f64 = structured(&sched)["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["qty"].as_f64().unwrap())
        .sum();
    assert_eq!(total, 10000.0);
    let attr = call(&client, "attribution", json!({"segments": [
        {"name": "equity", "portfolio_weight": 0.7, "benchmark_weight": 0.6, "portfolio_return": 0.05, "benchmark_return": 0.04},
        {"name": "bonds", "portfolio_weight": 0.3, "benchmark_weight": 0.4, "portfolio_return": 0.02, "benchmark_return": 0.025}]})).await;
    assert!((structured(&attr)["active_return"].as_f64().unwrap() - 0.007).abs() < 1e-12);

    // The chart comes back as SVG in the structured content ...
    let perf = call(
        &client,
        "performance_report",
        json!({"strategy": {"kind": "swing"}, "title": "swing"}),
    )
    .await;
    let p = structured(&perf);
    assert_eq!(p["chart"]["mime_type"], json!("image/svg+xml"));
    let svg = p["chart"]["svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("<polyline"));
    // ... and as MCP image content after the text: the same SVG, base64.
    let image = perf
        .content
        .iter()
        .find_map(|c| c.as_image())
        .expect("an image content block");
    assert_eq!(image.mime_type, "image/svg+xml");
    {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&image.data)
            .expect("base64");
        assert_eq!(String::from_utf8(bytes).expect("utf-8"), svg);
    }
    let res = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "quant://chart/latest",
        ))
        .await
        .expect("resources/read");
    let body = format!("{:?}", res.contents);
    assert!(
        body.contains("image/svg+xml") && body.contains("<polyline"),
        "{body}"
    );

    // 99% VaR of a long normal sample: within sampling error of the closed form.
    // Returns N(0, 0.01): closed-form VaR_99 = 2.326348 * 0.01; the empirical 1%
    // quantile's standard error over 20000 draws is about 0.00026.
    let mut state = 12345u64;
    let mut unif = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let sample: Vec<f64> = (0..10_000)
        .flat_map(|_| {
            let (u, v) = (unif(), unif());
            let r = (-2.0 * u.ln()).sqrt();
            let t = std::f64::consts::TAU * v;
            [0.01 * r * t.cos(), 0.01 * r * t.sin()]
        })
        .collect();
    let var = call(
        &client,
        "risk_var",
        json!({"returns": sample, "confidence": 0.99}),
    )
    .await;
    assert!(!is_error(&var), "{}", text(&var));
    for row in structured(&var)["results"].as_array().unwrap() {
        let v = row["estimate"]["var"].as_f64().unwrap();
        assert!((v - 0.023_263_48).abs() < 4.0 * 0.000_26, "{row}");
    }

    let stress = call(&client, "risk_stress_test", json!({"positions": [{"name": "SPY", "asset_class": "equity", "value": 100000}], "scenarios": ["covid_2020"]})).await;
    assert!((structured(&stress)["results"][0]["pnl"].as_f64().unwrap() + 33_900.0).abs() < 1e-6);
    let bond = call(
        &client,
        "bond_analytics",
        json!({"bond": {"coupon": 0.06, "years": 10}, "yield_rate": 0.08}),
    )
    .await;
    assert!(
        (structured(&bond)["price"].as_f64().unwrap() - 86.409_673_655).abs() < 1e-8,
        "{}",
        text(&bond)
    );
    let pts: Vec<_> = [0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 30.0]
        .iter()
        .map(|m: &f64| json!({"maturity": m, "yield_rate": 0.04 + 0.01 * (1.0 - (-m / 3.0).exp())}))
        .collect();
    let fit = call(&client, "curve_fit", json!({"points": pts})).await;
    assert!(
        structured(&fit)["rmse"].as_f64().unwrap() < 1e-4,
        "{}",
        text(&fit)
    );
    let kill = call(&client, "risk_kill_check", json!({"equity": [100, 90, 75]})).await;
    assert_eq!(structured(&kill)["decision"]["triggered"], json!(true));
    client.cancel().await.ok();
}

const JOB_MANIFEST: &str = r#"
name = "quant-jobs"
bundles = ["strategies"]
[limits]
default_deadline_secs = 30
on_deadline = "job"
[tools.deadlines]
strategy_optimize = 0.2
"#;

#[tokio::test]
async fn a_long_optimisation_becomes_a_job_that_finishes_or_is_cancelled() {
    let db = temp_db();
    let manifest = write_manifest(db.dir.path(), "qj", JOB_MANIFEST);
    let client = stdio_client(&["serve", "--manifest", &manifest, "--db", &db.url]).await;
    let args = |trials: u32| json!({"strategy": {"kind": "momentum"}, "space": [{"name": "lookback", "min": 2, "max": 200, "integer": true}, {"name": "threshold", "min": 0, "max": 0.05}], "method": {"method": "random", "trials": trials}, "data": {"synthetic": {"bars": 3000}}});

    let answer = call(&client, "strategy_optimize", args(100_000)).await;
    let job = structured(&answer)["job_id"]
        .as_str()
        .expect("a job id")
        .to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let running = call(&client, "job_status", json!({"job_id": job})).await;
    assert_eq!(structured(&running)["status"], json!("running"));
    assert!(
        structured(&running)["progress"]["progress"]
            .as_f64()
            .unwrap_or(0.0)
            >= 0.0
    );
    let cancelled = call(&client, "job_cancel", json!({"job_id": job})).await;
    assert_eq!(
        structured(&cancelled)["status"],
        json!("cancelled"),
        "{}",
        text(&cancelled)
    );

    // A smaller search outlives the deadline too but finishes as a job.
    let answer = call(&client, "strategy_optimize", args(60)).await;
    let s = structured(&answer);
    if let Some(job) = s["job_id"].as_str() {
        let done = call(
            &client,
            "job_status",
            json!({"job_id": job, "wait_ms": 60000}),
        )
        .await;
        let v = structured(&done);
        assert_eq!(v["status"], json!("succeeded"), "{v}");
        assert!(v["result"]["structured"]["evaluations"].as_u64().unwrap() <= 60);
    } else {
        assert!(s["evaluations"].as_u64().unwrap() <= 60, "{s}");
    }
    client.cancel().await.ok();
}
