//! The bundles this binary links, by name. A manifest may host any of these
//! (plus the built-in `system` and `diagnostics`).

use std::sync::Arc;

use nt_mcp_core::ToolBundle;
use nt_mcp_core::registry::BundleCatalog;

/// Every bundle this binary can host.
pub fn catalog() -> BundleCatalog {
    BundleCatalog::new()
        .register("brokers", |settings| {
            nt_brokers::BrokersBundle::new(settings)
                .map(|b| Arc::new(b) as Arc<dyn ToolBundle>)
                .map_err(|e| e.to_string())
        })
        .register("fantasy", |settings| {
            nt_fantasy::FantasyBundle::new(settings)
                .map(|b| Arc::new(b) as Arc<dyn ToolBundle>)
                .map_err(|e| e.to_string())
        })
        .register("polymarket", |settings| {
            nt_polymarket::PolymarketBundle::new(settings)
                .map(|b| Arc::new(b) as Arc<dyn ToolBundle>)
                .map_err(|e| e.to_string())
        })
}
