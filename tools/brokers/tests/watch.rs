//! `broker_watch` through the bundle on the paper broker: an order placed
//! while watching arrives as updates, simulated quotes stream for the
//! symbols asked, progress is reported per event, a cancelled watch stops
//! at once, bad bounds name their field, and a broker without a stream
//! says so by name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_brokers::BrokersBundle;
use nt_brokers::http::HttpPolicy;
use nt_brokers::paper::PaperConfig;
use nt_brokers::tradier::{TradierClient, TradierConfig};
use nt_mcp_core::bundle::{CancellationToken, ToolBundle, ToolCtx};
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::progress::Progress;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolErrorKind};
use serde_json::json;

const T0: i64 = 1_750_000_000_000;

async fn store() -> Store {
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn ctx(store: &Store, progress: &Progress, cancel: &CancellationToken) -> ToolCtx {
    let mut c = ToolCtx::new(store.clone()).with_clock(Arc::new(ManualClock::new(T0)));
    c.progress = progress.clone();
    c.cancel = cancel.clone();
    c.variant = Arc::from("t");
    c
}

#[tokio::test]
async fn paper_order_placed_while_watching_arrives() {
    let store = store().await;
    let bundle = Arc::new(Arc::new(BrokersBundle::paper_only(PaperConfig::default())).routes());
    let progress = Progress::recording();
    let cancel = CancellationToken::new();
    let c = ctx(&store, &progress, &cancel);
    // Warm the paper broker so the watcher and the order share it.
    bundle
        .call("broker_account", json!({}), c.clone())
        .await
        .expect("account");
    let watcher = {
        let (bundle, c) = (bundle.clone(), c.clone());
        tokio::spawn(async move {
            bundle
                .call(
                    "broker_watch",
                    json!({"kind": "orders", "seconds": 10, "max_events": 2, "symbols": ["shop.to"]}),
                    c,
                )
                .await
        })
    };
    // Place orders until the watcher (subscribed at some point) has two
    // updates; bounded in count and time.
    let started = Instant::now();
    let mut n = 0;
    while !watcher.is_finished() && n < 100 && started.elapsed() < Duration::from_secs(8) {
        n += 1;
        // An order for another symbol is filtered out.
        bundle
            .call(
                "broker_place_order",
                json!({"client_order_id": format!("other-{n}"), "symbol": "RY.TO", "side": "buy", "qty": "1"}),
                c.clone(),
            )
            .await
            .expect("place other");
        bundle
            .call(
                "broker_place_order",
                json!({"client_order_id": format!("w-{n}"), "symbol": "SHOP.TO", "side": "buy", "qty": "2"}),
                c.clone(),
            )
            .await
            .expect("place");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("bounded")
        .expect("join")
        .expect("watch");
    let body = out.structured;
    assert_eq!(body["venue"], "paper");
    assert_eq!(body["stopped"], "max_events");
    let events = body["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    // A market order: accepted, then filled, same order.
    assert_eq!(events[0]["event"], "accepted");
    assert_eq!(events[1]["event"], "filled");
    assert_eq!(events[0]["order"]["id"], events[1]["order"]["id"]);
    assert_eq!(events[1]["order"]["symbol"], "SHOP.TO");
    assert_eq!(events[1]["order"]["status"], "filled");
    assert_eq!(events[1]["fill_qty"], "2");
    assert!(events[1]["fill_price"].is_string(), "{}", events[1]);
    assert!(out.text.contains("2 orders event(s)"), "{}", out.text);
    let snap = progress.snapshot();
    assert_eq!((snap.progress, snap.total), (2.0, Some(2.0)));
}

#[tokio::test]
async fn paper_quotes_stream_for_the_symbols_asked() {
    let store = store().await;
    let bundle = BrokersBundle::paper_only(PaperConfig::default());
    let bundle = Arc::new(bundle).routes();
    let (progress, cancel) = (Progress::recording(), CancellationToken::new());
    let out = bundle
        .call(
            "broker_watch",
            json!({"kind": "quotes", "symbols": ["SHOP.TO", "aapl"], "seconds": 5, "max_events": 3}),
            ctx(&store, &progress, &cancel),
        )
        .await
        .expect("watch");
    let events = out.structured["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 3);
    let symbols: Vec<&str> = events.iter().filter_map(|e| e["symbol"].as_str()).collect();
    assert_eq!(symbols, ["SHOP.TO", "AAPL", "SHOP.TO"]);
    assert!(
        events
            .iter()
            .all(|e| e["bid"].is_string() && e["ask"].is_string())
    );
    assert_eq!(progress.snapshot().progress, 3.0);
}

#[tokio::test]
async fn a_cancelled_watch_stops_at_once() {
    let store = store().await;
    let bundle = BrokersBundle::paper_only(PaperConfig::default());
    let bundle = Arc::new(bundle).routes();
    let (progress, cancel) = (Progress::recording(), CancellationToken::new());
    let c = ctx(&store, &progress, &cancel);
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stopper.cancel();
    });
    let started = Instant::now();
    let err = bundle
        .call(
            "broker_watch",
            json!({"kind": "orders", "seconds": 60, "max_events": 10}),
            c,
        )
        .await
        .expect_err("cancelled");
    assert_eq!(err.kind, ToolErrorKind::Cancelled, "{}", err.to_text());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bad_bounds_name_their_field_and_an_unreachable_stream_names_its_venue() {
    let store = store().await;
    let tradier = TradierClient::new(TradierConfig {
        base_url: "http://127.0.0.1:9".into(),
        token: "tok-never-shown".into(),
        account_id: Some("VA000001".into()),
        stream_url: None,
        policy: HttpPolicy {
            max_retries: 0,
            ..HttpPolicy::default()
        },
    })
    .expect("tradier");
    let bundle = BrokersBundle::paper_only(PaperConfig::default()).with_broker(Arc::new(tradier));
    let bundle = Arc::new(bundle).routes();
    let (progress, cancel) = (Progress::recording(), CancellationToken::new());
    let c = ctx(&store, &progress, &cancel);
    for (args, field) in [
        (json!({"kind": "orders", "seconds": 0}), "seconds"),
        (json!({"kind": "orders", "seconds": 61}), "seconds"),
        (json!({"kind": "orders", "max_events": 0}), "max_events"),
        (json!({"kind": "orders", "max_events": 1001}), "max_events"),
        (json!({"kind": "quotes"}), "symbols"),
        (json!({"kind": "trades"}), "kind"),
    ] {
        let err = bundle
            .call("broker_watch", args.clone(), c.clone())
            .await
            .expect_err("invalid");
        assert_eq!(
            err.field.as_deref(),
            Some(field),
            "{args}: {}",
            err.to_text()
        );
    }
    // Tradier streams now: with nothing listening, opening the stream (its
    // session call) fails at once, naming the venue, never the token.
    for args in [
        json!({"broker": "tradier", "kind": "orders", "seconds": 1}),
        json!({"broker": "tradier", "kind": "quotes", "symbols": ["AAPL"], "seconds": 1}),
    ] {
        let err = bundle
            .call("broker_watch", args.clone(), c.clone())
            .await
            .expect_err("unreachable");
        let text = err.to_text();
        assert!(text.contains("tradier"), "{args}: {text}");
        assert!(!text.contains("tok-never-shown"), "{text}");
    }
}
