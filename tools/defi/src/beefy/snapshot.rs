//! The bundled snapshot: real-shaped answers of the eight Beefy endpoints
//! (`fixtures/snapshot/*.json`, written by `fixtures/gen_snapshot.py`: 36
//! vaults on seven chains, APYs computed with Beefy's own formula), the
//! embedded default when no API URL is configured. Answers from it say
//! `source: snapshot`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::{BeefyData, Endpoint, Source};
use crate::error::Result;

const BODIES: [(Endpoint, &str); 8] = [
    (
        Endpoint::Vaults,
        include_str!("../../fixtures/snapshot/vaults.json"),
    ),
    (
        Endpoint::Apy,
        include_str!("../../fixtures/snapshot/apy.json"),
    ),
    (
        Endpoint::ApyBreakdown,
        include_str!("../../fixtures/snapshot/apy_breakdown.json"),
    ),
    (
        Endpoint::Tvl,
        include_str!("../../fixtures/snapshot/tvl.json"),
    ),
    (
        Endpoint::Lps,
        include_str!("../../fixtures/snapshot/lps.json"),
    ),
    (
        Endpoint::Prices,
        include_str!("../../fixtures/snapshot/prices.json"),
    ),
    (
        Endpoint::Fees,
        include_str!("../../fixtures/snapshot/fees.json"),
    ),
    (
        Endpoint::Boosts,
        include_str!("../../fixtures/snapshot/boosts.json"),
    ),
];

const META: &str = include_str!("../../fixtures/snapshot/meta.json");

/// The snapshot's raw body for `endpoint` (what a fake Beefy API serves in tests).
pub fn body(endpoint: Endpoint) -> &'static str {
    BODIES
        .iter()
        .find(|(e, _)| *e == endpoint)
        .map(|(_, b)| *b)
        .unwrap_or("null")
}

/// When the snapshot was taken, Unix seconds.
pub fn taken_at() -> i64 {
    serde_json::from_str::<Value>(META)
        .ok()
        .and_then(|m| m["taken_at"].as_i64())
        .unwrap_or(0)
}

fn build() -> Result<BeefyData> {
    let mut bodies = BTreeMap::new();
    for (endpoint, text) in BODIES {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            crate::error::DefiError::Config(format!("snapshot {}: {e}", endpoint.path()))
        })?;
        bodies.insert(endpoint.path(), v);
    }
    BeefyData::from_bodies(
        Source::Snapshot {
            taken_at: taken_at(),
        },
        &bodies,
    )
}

/// The parsed snapshot (parsed once per process).
pub fn data() -> Result<Arc<BeefyData>> {
    static DATA: OnceLock<std::result::Result<Arc<BeefyData>, String>> = OnceLock::new();
    DATA.get_or_init(|| build().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(crate::error::DefiError::Config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_parses_with_every_vault_joined() {
        let d = data().expect("snapshot");
        assert_eq!(d.source.label(), "snapshot");
        assert!(d.vaults.len() >= 30, "{} vaults", d.vaults.len());
        assert!(d.chain_keys().len() >= 6);
        for v in &d.vaults {
            assert!(d.want_price(v).is_some(), "no price for {}", v.id);
            assert!(d.tvl(&v.id) > 0.0, "no tvl for {}", v.id);
            assert!(d.fees.contains_key(&v.id), "no fees for {}", v.id);
            BeefyData::chain_id(v).expect("known chain");
        }
        assert!(d.boosts.iter().all(|b| d.vault(&b.pool_id).is_ok()));
    }
}
