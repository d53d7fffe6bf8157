//! The bundles through their route tables: typed inputs, answers naming the
//! data source, errors naming fields, progress and cancellation.

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::{
    BundleSettings, NewBundle, Store, ToolBundle, ToolCtx, ToolErrorKind, ToolRouter,
};
use serde_json::{Value, json};

use crate::{RiskBundle, StrategiesBundle};

async fn ctx() -> ToolCtx {
    ToolCtx::new(Store::open("sqlite::memory:").await.expect("store"))
}

fn strategies() -> ToolRouter {
    Arc::new(StrategiesBundle::from_settings(&BundleSettings::default()).unwrap()).routes()
}

fn risk(table: BTreeMap<String, toml::Value>) -> Result<ToolRouter, crate::BundleError> {
    let s = BundleSettings {
        table,
        live_trading: false,
    };
    Ok(Arc::new(RiskBundle::from_settings(&s)?).routes())
}

async fn call(r: &ToolRouter, name: &str, args: Value) -> Value {
    r.call(name, args, ctx().await)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"))
        .structured
}

#[tokio::test]
async fn backtests_are_deterministic_name_their_source_and_pass_the_audit() {
    let r = strategies();
    let args = json!({"strategy": {"kind": "momentum", "lookback": 30}, "data": {"synthetic": {"seed": 7, "bars": 500}}, "lookahead_audit": true});
    let a = call(&r, "backtest_run", args.clone()).await;
    let b = call(&r, "backtest_run", args).await;
    assert_eq!(a["metrics"], b["metrics"]);
    assert!(
        a["source"]
            .as_str()
            .unwrap()
            .starts_with("synthetic(seed=7")
    );
    assert_eq!(a["lookahead_audit"]["passed"], json!(true));
    assert_eq!(a["metrics"]["bars"], json!(500));
    let c = call(&r, "backtest_run", json!({"strategy": {"kind": "momentum", "lookback": 30}, "data": {"synthetic": {"seed": 8, "bars": 500}}})).await;
    assert_ne!(a["metrics"], c["metrics"]);
}

#[tokio::test]
async fn one_seed_gives_each_symbol_its_own_path_and_min_variance_works() {
    let r = strategies();
    let a = call(&r, "market_bars", json!({"data": {"symbol": "AAA"}})).await;
    let b = call(&r, "market_bars", json!({"data": {"symbol": "BBB"}})).await;
    assert_ne!(a["last_close"], b["last_close"]);
    assert_eq!(
        a["last_close"],
        call(&r, "market_bars", json!({"data": {"symbol": "AAA"}})).await["last_close"]
    );
    let w = call(&r, "portfolio_weights", json!({"method": "min_variance", "assets": [{"symbol": "AAA"}, {"symbol": "BBB"}, {"symbol": "CCC"}]})).await;
    let total: f64 = w["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["weight"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{w}");
}

#[tokio::test]
async fn bad_parameters_name_their_field() {
    let r = strategies();
    let e = r
        .call(
            "backtest_run",
            json!({"strategy": {"kind": "momentum", "lookback": 1}}),
            ctx().await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("strategy.lookback"), "{e:?}");
    let e = r
        .call(
            "backtest_run",
            json!({"strategy": {"kind": "momentum"}, "data": {"synthetic": {"bars": 1}}}),
            ctx().await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("data.synthetic.bars"), "{e:?}");
    let e = r
        .call(
            "backtest_run",
            json!({"strategy": {"kind": "momentum"}, "data": {"source": "csv"}}),
            ctx().await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("data.csv"), "{e:?}");
    let e = r
        .call(
            "strategy_optimize",
            json!({"strategy": {"kind": "swing"}, "space": [{"name": "nope", "min": 1, "max": 2}]}),
            ctx().await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("space[0].name"), "{e:?}");
}

#[tokio::test]
async fn inline_csv_bars_are_used_and_named() {
    let mut csv = String::from("Date,Close\n");
    for d in 0..60 {
        csv.push_str(&format!(
            "2024-{:02}-{:02},{}\n",
            1 + d / 28,
            1 + d % 28,
            100.0 + d as f64
        ));
    }
    let out = call(&strategies(), "backtest_run", json!({"strategy": {"kind": "buy_and_hold"}, "data": {"source": "csv", "symbol": "UP", "csv": csv}})).await;
    assert_eq!(out["source"], json!("csv:inline"));
    assert!(out["metrics"]["total_return"].as_f64().unwrap() > 0.5);
}

#[tokio::test]
async fn parquet_files_in_the_csv_dir_are_read_and_named() {
    // The pyarrow-written fixtures of nt-quant (tools/quant/fixtures).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../quant/fixtures");
    let s = BundleSettings {
        table: [("csv_dir".to_string(), toml::Value::String(dir.into()))].into(),
        live_trading: false,
    };
    let r = Arc::new(StrategiesBundle::from_settings(&s).unwrap()).routes();
    let out = call(
        &r,
        "market_bars",
        json!({"data": {"source": "csv", "symbol": "ABC"}}),
    )
    .await;
    let text = out.to_string();
    assert!(
        text.contains("parquet:") && text.contains("ABC.parquet"),
        "{text}"
    );
    assert!(
        text.contains("100.25"),
        "the last close the fixture holds: {text}"
    );
    let e = r
        .call(
            "market_bars",
            json!({"data": {"source": "csv", "symbol": "BAD"}}),
            ctx().await,
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("column `Close`"), "{e:?}");
}

#[tokio::test]
async fn optimisation_reports_progress_and_stops_when_cancelled() {
    let r = strategies();
    let args = json!({"strategy": {"kind": "momentum"}, "space": [{"name": "lookback", "min": 5, "max": 100, "integer": true}], "method": {"method": "random", "trials": 40}});
    let c = ctx().await;
    let out = r
        .call("strategy_optimize", args.clone(), c.clone())
        .await
        .unwrap()
        .structured;
    assert!(out["evaluations"].as_u64().unwrap() <= 40);
    assert!(out["overfit"]["overfit"].is_boolean());
    assert!(c.progress.snapshot().progress > 0.0);
    let cancelled = ctx().await;
    cancelled.cancel.cancel();
    let e = r
        .call("strategy_optimize", args, cancelled)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ToolErrorKind::Cancelled);
}

#[tokio::test]
async fn the_performance_report_draws_a_chart() {
    let out = call(
        &strategies(),
        "performance_report",
        json!({"strategy": {"kind": "swing"}}),
    )
    .await;
    assert_eq!(out["chart"]["mime_type"], json!("image/svg+xml"));
    assert!(out["chart"]["svg"].as_str().unwrap().starts_with("<svg"));
    let t = call(&strategies(), "performance_report", json!({"trade_pnls": [100, -50, 200, -25], "starting_capital": 1000, "window": 2, "chart": false})).await;
    assert_eq!(t["hit_rate"], json!(0.5));
    assert!((t["metrics"]["total_return"].as_f64().unwrap() - 0.225).abs() < 1e-12);
    assert!(t["chart"].is_null());
}

#[tokio::test]
async fn risk_tools_answer_and_the_kill_rule_comes_from_configuration() {
    let r = risk(BTreeMap::new()).unwrap();
    let v = call(
        &r,
        "risk_var",
        json!({"data": {"synthetic": {"bars": 1000}}, "confidence": 0.95, "position_value": 1000}),
    )
    .await;
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    let table: BTreeMap<String, toml::Value> =
        [("kill_max_drawdown".to_string(), toml::Value::Float(0.05))].into();
    let r = risk(table).unwrap();
    let k = call(&r, "risk_kill_check", json!({"equity": [100, 104, 98]})).await;
    assert_eq!(k["decision"]["triggered"], json!(true));
    assert_eq!(k["rule_source"], json!("configuration"));
    let bad: BTreeMap<String, toml::Value> =
        [("kill_max_drawdon".to_string(), toml::Value::Float(0.05))].into();
    assert!(
        risk(bad)
            .unwrap_err()
            .to_string()
            .contains("kill_max_drawdon")
    );
}

#[tokio::test]
async fn pairs_walk_forward_adaptive_and_curve_signal_answer() {
    let r = strategies();
    let p = call(
        &r,
        "pairs_backtest",
        json!({"a": {"symbol": "AAA"}, "b": {"symbol": "BBB"}, "params": {"lookback": 40}}),
    )
    .await;
    assert!(p["last_beta"].as_f64().unwrap().is_finite());
    let wf = call(
        &r,
        "strategy_optimize",
        json!({"strategy": {"kind": "momentum"}, "space": [{"name": "lookback", "min": 5, "max": 60, "step": 5, "integer": true}], "method": {"method": "grid"}, "walk_forward": {"train_bars": 250, "test_bars": 100}}),
    )
    .await;
    assert_eq!(wf["folds"].as_array().unwrap().len(), 5); // 756 bars: starts 0,100,..,400
    let risk = risk(BTreeMap::new()).unwrap();
    let a = call(&risk, "risk_adaptive", json!({"data": {"synthetic": {"bars": 1500, "p_calm_to_stressed": 0.03}}, "target_vol": 0.10, "drawdown": {"start": 0.05, "max": 0.2, "floor": 0.25}})).await;
    let (before, after) = (
        a["before"]["volatility"].as_f64().unwrap(),
        a["after"]["volatility"].as_f64().unwrap(),
    );
    assert!(
        after < before && (after - 0.10).abs() < 0.05,
        "{before} -> {after}"
    );
    let s = call(&risk, "curve_signal", json!({"yields_2y": vec![0.04; 30], "yields_10y": (0..30).map(|i| 0.05 + if i == 29 { 0.01 } else { 0.0001 * f64::from(i % 3) }).collect::<Vec<_>>(), "lookback": 20})).await;
    assert_eq!(s["signal"], json!("flattener"));
    let e = risk
        .call(
            "risk_var",
            json!({"returns": [0.01, 0.02], "data": {}}),
            ctx().await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("returns"));
}
