//! `nt-polymarket`: the Polymarket tool bundle.
//!
//! Two venues behind one set of tools ([`venues`]): the real Polymarket CLOB
//! (REST with L2 HMAC auth, EIP-712 signed orders) when credentials are
//! configured, and an embedded local CLOB ([`engine`], persisted by
//! [`venue`]) otherwise. The trading logic ([`book`], [`arb`], [`mm`],
//! [`ensemble`], [`risk`]) is the same code on either. The route table is in
//! `tools`, one file per tool family.

pub mod analytics;
pub mod arb;
pub mod auth;
pub mod book;
mod build_order;
pub mod chain;
pub mod collateral;
pub mod config;
pub mod copy;
pub mod data_api;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod fees;
pub mod gamma;
pub mod http;
pub mod inputs;
pub mod live;
mod local_view;
pub mod mm;
mod resources;
pub mod rest;
pub mod risk;
mod risk_store;
pub mod signing;
pub mod stream;
mod tools;
pub mod types;
pub mod user_ws;
pub mod venue;
mod venues;
pub mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nt_mcp_core::bundle::{
    BundleSettings, PromptSpec, ResourceSpec, ResourceText, ToolCtx, VenueMode, VenueStatus,
};
use nt_mcp_core::{Migration, NewBundle, ToolBundle, ToolError, ToolRouter};

use crate::live::{LIVE_VENUE, Live, LiveUrls};
use crate::rest::ClobClient;
use crate::signing::{SignatureType, Wallet};
use crate::stream::{BookCache, CacheConfig};
use crate::venue::LocalClob;

pub use config::PolymarketConfig;
pub use error::PolymarketError;
pub use inputs::*;
pub use venue::migrations;

/// The Polymarket tool bundle.
pub struct PolymarketBundle {
    config: PolymarketConfig,
    wallet: Option<Wallet>,
    clob: LocalClob,
    live: Option<Live>,
    /// Live only: the streamed books and the public REST client for
    /// snapshots and `/books` batches.
    books: Option<(BookCache, Arc<ClobClient>)>,
    /// Live only: fee schedules read from the venue, per market.
    fee_cache: crate::fees::FeeCache,
    /// Live only: the user channel (own orders and fills).
    user_stream: crate::user_ws::UserStream,
}

impl std::fmt::Debug for PolymarketBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolymarketBundle")
            .field("clob_url", &self.config.clob_url)
            .field("signer", &self.wallet.as_ref().map(|w| w.address()))
            .finish()
    }
}

impl PolymarketBundle {
    /// Builds the bundle from its manifest settings and the environment.
    pub fn new(settings: &BundleSettings) -> Result<Self, PolymarketError> {
        Self::from_config(PolymarketConfig::from_settings(settings)?)
    }

    /// Builds the bundle from an explicit configuration.
    pub fn from_config(config: PolymarketConfig) -> Result<Self, PolymarketError> {
        let wallet = config
            .private_key
            .as_deref()
            .map(Wallet::from_hex)
            .transpose()?;
        let funder = config
            .funder
            .as_deref()
            .map(|f| {
                f.parse::<alloy_primitives::Address>()
                    .map_err(|_| PolymarketError::Config("funder is not an address".into()))
            })
            .transpose()?;
        let live = match &wallet {
            Some(w) if config.api_creds.is_some() || config.derive_api_key => Some(
                Live::new(
                    w.clone(),
                    config.api_creds.clone(),
                    &LiveUrls {
                        clob: config.clob_url.clone(),
                        gamma: config.gamma_url.clone(),
                        data: config.data_url.clone(),
                    },
                    config.chain_id,
                    SignatureType::from_u8(config.signature_type)?,
                    funder,
                )?
                .with_builder_code(config.builder_code),
            ),
            _ => None,
        };
        let books = match &live {
            Some(_) => {
                let public = Arc::new(ClobClient::new(&config.clob_url, None, None)?);
                let mut cfg = CacheConfig::new(&config.ws_url);
                cfg.max_age = Duration::from_millis(config.stream_max_age_ms);
                Some((BookCache::new(cfg, Some(public.clone())), public))
            }
            None => None,
        };
        Ok(Self {
            clob: LocalClob::new(config.paper_usdc).with_fees(config.local_fees),
            config,
            wallet,
            live,
            books,
            fee_cache: crate::fees::FeeCache::new(crate::fees::DEFAULT_FEE_TTL_MS),
            user_stream: crate::user_ws::UserStream::default(),
        })
    }
}

#[async_trait::async_trait]
impl ToolBundle for PolymarketBundle {
    fn name(&self) -> &'static str {
        "polymarket"
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::venue::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let local = VenueStatus {
            name: "polymarket-local-clob".into(),
            mode: VenueMode::Simulated,
        };
        match &self.live {
            Some(_) => vec![
                VenueStatus {
                    name: LIVE_VENUE.into(),
                    mode: VenueMode::Live,
                },
                local,
            ],
            None => vec![local],
        }
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        resources::resources()
    }

    async fn read_resource(&self, uri: &str, _ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        resources::read_resource(uri)
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        resources::prompts()
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        resources::render_prompt(name, args)
    }
}

impl NewBundle for PolymarketBundle {
    const NAME: &'static str = "polymarket";
    type Error = PolymarketError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::new(settings)
    }
}

impl PolymarketBundle {
    /// Whether the tools trade on the real Polymarket CLOB.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }
}
