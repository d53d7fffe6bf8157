//! `nt-defi`: the DeFi tool bundle (`defi`): Beefy Finance vaults.
//!
//! * [`beefy`]: the Beefy API client (base URL configurable, answers cached
//!   in the database with a TTL) and the bundled snapshot served by default;
//! * [`apy`]: APR → APY with Beefy's compounding and performance fee, LP fee
//!   and boost APRs, totals, projected yield, impermanent loss;
//! * [`chain`]: JSON-RPC per chain with alloy ABI, Multicall3-batched vault
//!   and wallet reads, deposit / withdraw / approve calldata, gas estimates,
//!   `eth_call` dry runs and (only when asked, keyed and live) signed sends;
//! * [`strategy`]: ranking by risk-adjusted yield, budget allocation under
//!   caps, rebalance suggestions;
//! * [`paper`]: the paper DeFi ledger (yield accruing at the vault's APY).
//!
//! The route table is in `tools`, one file per tool family.

pub mod apy;
pub mod beefy;
pub mod chain;
pub mod chains;
pub mod config;
pub mod error;
pub mod paper;
pub mod strategy;
mod tools;

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::bundle::{BundleSettings, ToolCtx, VenueMode, VenueStatus};
use nt_mcp_core::{Migration, NewBundle, ToolBundle, ToolRouter};

use crate::beefy::BeefyData;
use crate::beefy::client::BeefyClient;
use crate::chain::rpc::RpcClient;
use crate::chain::tx::Signer;

pub use config::DefiConfig;
pub use error::DefiError;
pub use tools::inputs::*;

/// The DeFi tool bundle.
#[derive(Debug)]
pub struct DefiBundle {
    beefy: Option<BeefyClient>,
    rpcs: BTreeMap<String, RpcClient>,
    signer: Option<Signer>,
}

/// The bundle's migrations (`migrations/defi`).
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "defi/0001_defi",
        include_str!("../../../migrations/defi/0001_defi.sql"),
    )]
}

impl DefiBundle {
    /// Builds the bundle from an explicit configuration.
    pub fn from_config(config: DefiConfig) -> Result<Self, DefiError> {
        let beefy = config
            .beefy_api_url
            .as_deref()
            .map(|url| BeefyClient::new(url, config.cache_ttl))
            .transpose()?;
        let mut rpcs = BTreeMap::new();
        for (chain, url) in &config.rpc_urls {
            rpcs.insert(chain.clone(), RpcClient::new(chain, url)?);
        }
        let signer = config
            .private_key
            .as_deref()
            .map(Signer::from_hex)
            .transpose()?;
        Ok(Self {
            beefy,
            rpcs,
            signer,
        })
    }

    /// The vault data: the Beefy API (through the cache) when configured,
    /// else the bundled snapshot.
    pub async fn data(&self, ctx: &ToolCtx) -> Result<Arc<BeefyData>, DefiError> {
        match &self.beefy {
            Some(client) => client.data(&ctx.store, ctx.clock.now_ms()).await,
            None => beefy::snapshot::data(),
        }
    }

    /// The RPC client of `chain`, if one is configured.
    pub fn rpc(&self, chain: &str) -> Option<&RpcClient> {
        self.rpcs.get(chain)
    }

    /// Chains with an RPC configured.
    pub fn rpc_chains(&self) -> Vec<String> {
        self.rpcs.keys().cloned().collect()
    }

    /// The signer, if a key is configured.
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }
}

#[async_trait::async_trait]
impl ToolBundle for DefiBundle {
    fn name(&self) -> &'static str {
        "defi"
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let mut out = vec![
            VenueStatus {
                name: if self.beefy.is_some() {
                    "beefy-api"
                } else {
                    "beefy-snapshot"
                }
                .into(),
                mode: if self.beefy.is_some() {
                    VenueMode::Paper
                } else {
                    VenueMode::Simulated
                },
            },
            VenueStatus {
                name: "defi-paper-ledger".into(),
                mode: VenueMode::Simulated,
            },
        ];
        if self.signer.is_some() && !self.rpcs.is_empty() {
            out.push(VenueStatus {
                name: "evm-wallet".into(),
                mode: VenueMode::Live,
            });
        }
        out
    }
}

impl NewBundle for DefiBundle {
    const NAME: &'static str = "defi";
    type Error = DefiError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::from_config(DefiConfig::from_settings(settings)?)
    }
}
