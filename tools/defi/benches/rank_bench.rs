//! Ranking time over the full vault list: the bundled snapshot, and a list
//! of 2,000 vaults (the snapshot repeated with new ids, about the size of
//! Beefy's live `/vaults`). Prints the figures; asserts nothing about time.
//! Run: `cargo bench -p nt-defi --bench rank_bench`.

use std::collections::BTreeMap;
use std::time::Instant;

use nt_defi::beefy::{BeefyData, Endpoint, Source, snapshot};
use nt_defi::strategy::{Caps, RankFilter, allocate, rank};
use rust_decimal::Decimal;
use serde_json::Value;

fn scaled(copies: usize) -> BeefyData {
    let mut bodies: BTreeMap<&'static str, Value> = BTreeMap::new();
    for e in Endpoint::ALL {
        bodies.insert(
            e.path(),
            serde_json::from_str(snapshot::body(e)).expect("json"),
        );
    }
    let vaults = bodies[Endpoint::Vaults.path()]
        .as_array()
        .expect("vaults")
        .clone();
    let mut all = Vec::new();
    let mut bd = serde_json::Map::new();
    let mut tvl = serde_json::Map::new();
    for c in 0..copies {
        for v in &vaults {
            let mut v = v.clone();
            let id = format!("{}-{c}", v["id"].as_str().expect("id"));
            let orig = v["id"].as_str().expect("id").to_string();
            bd.insert(
                id.clone(),
                bodies[Endpoint::ApyBreakdown.path()][&orig].clone(),
            );
            tvl.insert(id.clone(), Value::from(1_000_000.0 + c as f64));
            v["id"] = Value::String(id);
            all.push(v);
        }
    }
    bodies.insert(Endpoint::Vaults.path(), Value::Array(all));
    bodies.insert(Endpoint::ApyBreakdown.path(), Value::Object(bd));
    bodies.insert(Endpoint::Tvl.path(), serde_json::json!({ "1": tvl }));
    BeefyData::from_bodies(Source::Snapshot { taken_at: 0 }, &bodies).expect("data")
}

fn time(label: &str, data: &BeefyData) {
    let now = 1_764_633_600;
    let rounds = 200;
    let started = Instant::now();
    let mut n = 0;
    for _ in 0..rounds {
        n = rank(data, &RankFilter::default(), now).len();
    }
    let per = started.elapsed() / rounds;
    let ranked = rank(data, &RankFilter::default(), now);
    let started = Instant::now();
    for _ in 0..rounds {
        let caps = Caps {
            per_vault: 0.25,
            per_chain: 0.5,
            per_platform: 0.5,
        };
        let _ = allocate(&ranked, Decimal::from(100_000), 10, caps);
    }
    let alloc = started.elapsed() / rounds;
    println!(
        "{label}: {} vaults, {n} ranked: rank {per:?} per run, allocate(10) {alloc:?} per run",
        data.vaults.len()
    );
}

fn main() {
    let snap = snapshot::data().expect("snapshot");
    time("snapshot", &snap);
    time("scaled x56", &scaled(56));
}
