//! The Beefy API client against a local fake on 127.0.0.1 serving the
//! documented JSON shapes (the snapshot's bodies): typed parsing, the
//! database cache and its TTL, upstream errors, and the tools answering
//! `source: api`; the cache and paper ledger on PostgreSQL too.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{SNAP_MS, TestBundle, ctx, fake_beefy, store, store_at};
use nt_defi::DefiConfig;
use nt_defi::beefy::Endpoint;
use nt_defi::beefy::client::BeefyClient;
use nt_mcp_core::ToolErrorKind;
use nt_mcp_core::clock::ManualClock;
use serde_json::json;

#[tokio::test]
async fn client_reads_every_endpoint_and_caches_for_the_ttl() {
    let (url, fake) = fake_beefy().await;
    let store = store().await;
    let client = BeefyClient::new(&url, Duration::from_secs(60)).expect("client");
    let data = client.data(&store, SNAP_MS).await.expect("data");
    assert_eq!(data.source.label(), "api");
    assert_eq!(data.vaults.len(), 36);
    assert_eq!(fake.total.load(Ordering::SeqCst), 8, "one GET per endpoint");
    for e in Endpoint::ALL {
        assert_eq!(
            fake.hits.lock().expect("lock").get(e.path()),
            Some(&1),
            "{}",
            e.path()
        );
    }
    let v = data.vault("aerodrome-weth-usdc").expect("vault");
    assert_eq!(v.chain, "base");
    assert_eq!(v.token_decimals, 18);
    assert!(data.breakdown("aerodrome-weth-usdc").vault_apr.is_some());
    assert!(data.tvl("aerodrome-weth-usdc") > 1e6);
    assert_eq!(data.fees("aerodrome-weth-usdc").performance.total, 0.095);
    assert_eq!(data.boosts_of("aerodrome-weth-usdc").count(), 1);

    // Within the TTL: memory, then (a second client, as another replica) the database.
    client.data(&store, SNAP_MS + 30_000).await.expect("memo");
    let replica = BeefyClient::new(&url, Duration::from_secs(60)).expect("client");
    replica
        .data(&store, SNAP_MS + 30_000)
        .await
        .expect("db cache");
    assert_eq!(fake.total.load(Ordering::SeqCst), 8, "served from cache");
    // After the TTL: fetched again.
    client
        .data(&store, SNAP_MS + 61_000)
        .await
        .expect("refetch");
    assert_eq!(fake.total.load(Ordering::SeqCst), 16);
}

#[tokio::test]
async fn upstream_errors_are_clear() {
    let (url, fake) = fake_beefy().await;
    fake.fail.store(true, Ordering::SeqCst);
    let store = store().await;
    let client = BeefyClient::new(&url, Duration::from_secs(60)).expect("client");
    let err = client.fetch(Endpoint::Vaults).await.expect_err("503");
    let text = err.to_string();
    assert!(
        text.contains("/vaults") && text.contains("503") && text.contains("maintenance"),
        "{text}"
    );
    let err = client.data(&store, SNAP_MS).await.expect_err("503");
    assert!(err.to_string().contains("503"));
    assert!(BeefyClient::new("ftp://x", Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn tools_answer_from_the_api() {
    let (url, _fake) = fake_beefy().await;
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let b = TestBundle::new(DefiConfig {
        beefy_api_url: Some(url),
        cache_ttl: Duration::from_secs(300),
        ..DefiConfig::default()
    });
    let out = b
        .call(
            "defi_vaults",
            json!({"chain": "arbitrum"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("vaults");
    assert_eq!(out.structured["source"], "api");
    assert_eq!(out.structured["venue"], "beefy-api");
    assert!(
        out.text.starts_with("venue: beefy-api\nsource: api"),
        "{}",
        out.text
    );
    assert!(
        out.structured["vaults"]
            .as_array()
            .expect("list")
            .iter()
            .all(|v| v["chain"] == "arbitrum")
    );

    let cache: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM defi_api_cache")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(cache, 8);
    let err = b
        .call(
            "defi_vault",
            json!({"vault_id": "nope"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("unknown");
    assert_eq!(err.kind, ToolErrorKind::NotFound);
}

#[tokio::test]
async fn cache_and_paper_ledger_on_postgres() {
    let Some(pg) =
        nt_mcp_core::testing::pg_schema("nt_defi_", "cache_and_paper_ledger_on_postgres").await
    else {
        return;
    };
    let store = store_at(&pg.url).await;
    let (url, fake) = fake_beefy().await;
    let client = BeefyClient::new(&url, Duration::from_secs(60)).expect("client");
    client.data(&store, SNAP_MS).await.expect("data");
    let replica = BeefyClient::new(&url, Duration::from_secs(60)).expect("client");
    replica.data(&store, SNAP_MS + 1).await.expect("cached");
    assert_eq!(fake.total.load(Ordering::SeqCst), 8);
    // Upsert on refetch.
    replica
        .data(&store, SNAP_MS + 120_000)
        .await
        .expect("refetch");
    assert_eq!(fake.total.load(Ordering::SeqCst), 16);

    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let b = TestBundle::new(DefiConfig::default());
    let c = ctx(&store, &clock, false);
    b.call(
        "defi_paper_deposit",
        json!({"vault_id": "morpho-base-usdc", "amount": "1000", "client_id": "d1"}),
        c.clone(),
    )
    .await
    .expect("deposit");
    b.call(
        "defi_paper_deposit",
        json!({"vault_id": "morpho-base-usdc", "amount": "1000", "client_id": "d1"}),
        c.clone(),
    )
    .await
    .expect("replay");
    clock.advance(31_536_000_000);
    let out = b
        .call(
            "defi_paper_withdraw",
            json!({"vault_id": "morpho-base-usdc", "all": true, "client_id": "w1"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("withdraw");
    let got: f64 = out.structured["fill"]["want_amount"]
        .as_str()
        .expect("amount")
        .parse()
        .expect("num");
    // A year at the snapshot's APY (no withdrawal fee on this vault).
    let apy = nt_defi::beefy::snapshot::data()
        .expect("snapshot")
        .total_apy("morpho-base-usdc");
    assert!((got - 1000.0 * (1.0 + apy)).abs() < 1e-6, "{got} {apy}");
    pg.drop_schema().await;
}

#[test]
fn odd_entries_are_skipped_and_wrong_shapes_named() {
    use nt_defi::beefy::{BeefyData, Source, snapshot};
    use std::collections::BTreeMap;
    let mut bodies: BTreeMap<&'static str, serde_json::Value> = BTreeMap::new();
    for e in Endpoint::ALL {
        bodies.insert(
            e.path(),
            serde_json::from_str(snapshot::body(e)).expect("json"),
        );
    }
    let vaults = bodies
        .get_mut("/vaults")
        .expect("vaults")
        .as_array_mut()
        .expect("array");
    // A number where the API serves a string, and an entry without an id.
    vaults[0]["pricePerFullShare"] = json!(1_250_000_000_000_000_000u64);
    vaults.push(json!({"name": "no id"}));
    bodies.get_mut("/apy").expect("apy")["broken"] = json!("n/a");
    let data = BeefyData::from_bodies(Source::Snapshot { taken_at: 0 }, &bodies).expect("data");
    assert_eq!(data.vaults.len(), 36);
    assert_eq!(data.skipped, 2);
    let first = &data.vaults[0];
    assert_eq!(nt_defi::paper::snapshot_ppfs(first).to_string(), "1.25");

    bodies.insert("/vaults", json!({"error": "moved"}));
    let err = BeefyData::from_bodies(Source::Snapshot { taken_at: 0 }, &bodies).expect_err("shape");
    assert!(
        err.to_string().contains("/vaults") && err.to_string().contains("array"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_paper_deposits_on_postgres_all_count_once() {
    let Some(pg) = nt_mcp_core::testing::pg_schema("nt_defi_", "concurrent_paper_deposits").await
    else {
        return;
    };
    let store = store_at(&pg.url).await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let b = Arc::new(TestBundle::new(DefiConfig::default()));
    let mut tasks = Vec::new();
    for i in 0..24 {
        // 16 distinct client ids, 8 of them sent twice.
        let id = format!("c-{}", i % 16);
        let (b, c) = (b.clone(), ctx(&store, &clock, false));
        tasks.push(tokio::spawn(async move {
            b.call(
                "defi_paper_deposit",
                json!({"vault_id": "aave-arb-usdc", "amount": "10", "client_id": id}),
                c,
            )
            .await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("deposit");
    }
    let pos = b
        .call(
            "defi_position",
            json!({"vault_id": "aave-arb-usdc"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("position");
    let value: f64 = pos.structured["positions"][0]["value_want"]
        .as_str()
        .expect("value")
        .parse()
        .expect("num");
    assert!((value - 160.0).abs() < 1e-9, "{value}");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM defi_paper_ledger")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 16);
    pg.drop_schema().await;
}
