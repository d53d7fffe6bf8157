//! The bundles this binary links, registered by type: each bundle type names
//! itself and builds from its settings ([`nt_mcp_core::NewBundle`]). A
//! manifest may host any of these (plus the built-in `system` and
//! `diagnostics`).

use nt_mcp_core::registry::BundleCatalog;

/// Every bundle this binary can host.
pub fn catalog() -> BundleCatalog {
    BundleCatalog::new()
        .with::<nt_brokers::BrokersBundle>()
        .with::<nt_defi::DefiBundle>()
        .with::<nt_e2b::E2bBundle>()
        .with::<nt_fantasy::FantasyBundle>()
        .with::<nt_gpu_signals::GpuSignalsBundle>()
        .with::<nt_neural::NeuralBundle>()
        .with::<nt_news::NewsBundle>()
        .with::<nt_polymarket::PolymarketBundle>()
        .with::<nt_sports::SportsBundle>()
        .with::<nt_syndicate::SyndicateBundle>()
        .with::<nt_strategies::RiskBundle>()
        .with::<nt_strategies::StrategiesBundle>()
}
