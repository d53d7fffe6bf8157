//! The bundle's tools, one module per family; each lists its routes.

pub(crate) mod collective;
pub(crate) mod common;
pub(crate) mod leagues;
pub(crate) mod lineups;
pub(crate) mod players;
pub(crate) mod season;
pub(crate) mod trades;
pub(crate) mod waivers;

use nt_mcp_core::Route;

use crate::FantasyBundle;

/// Every route of the bundle, family by family.
pub(crate) fn routes() -> Vec<Route<FantasyBundle>> {
    let mut all = leagues::routes();
    all.extend(lineups::routes());
    all.extend(players::routes());
    all.extend(trades::routes());
    all.extend(waivers::routes());
    all.extend(season::routes());
    all.extend(collective::routes());
    all
}
