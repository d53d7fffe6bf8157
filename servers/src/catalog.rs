//! The bundles this binary links, registered by type: each bundle type names
//! itself and builds from its settings ([`nt_mcp_core::NewBundle`]). A
//! manifest may host any of these (plus the built-in `system` and
//! `diagnostics`).

use nt_mcp_core::registry::BundleCatalog;

/// Every bundle this binary can host.
pub fn catalog() -> BundleCatalog {
    BundleCatalog::new()
        .with::<nt_brokers::BrokersBundle>()
        .with::<nt_fantasy::FantasyBundle>()
        .with::<nt_polymarket::PolymarketBundle>()
}
