//! Beefy data: the typed models ([`types`]), the HTTP client with its
//! database cache ([`client`]), the bundled snapshot ([`snapshot`]) and
//! [`BeefyData`], the eight endpoints joined into one view per vault.

pub mod client;
pub mod snapshot;
pub mod types;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::chains;
use crate::error::{DefiError, Result};
use types::{
    ApyBreakdown, ApyMap, Boost, BreakdownMap, FeesMap, PriceMap, TvlMap, Vault, VaultFees,
};

/// One Beefy API endpoint this bundle reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Endpoint {
    /// `GET /vaults`.
    Vaults,
    /// `GET /apy`.
    Apy,
    /// `GET /apy/breakdown`.
    ApyBreakdown,
    /// `GET /tvl`.
    Tvl,
    /// `GET /lps`.
    Lps,
    /// `GET /prices`.
    Prices,
    /// `GET /fees`.
    Fees,
    /// `GET /boosts`.
    Boosts,
}

impl Endpoint {
    /// Every endpoint, in load order.
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Vaults,
        Endpoint::Apy,
        Endpoint::ApyBreakdown,
        Endpoint::Tvl,
        Endpoint::Lps,
        Endpoint::Prices,
        Endpoint::Fees,
        Endpoint::Boosts,
    ];

    /// The URL path.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Vaults => "/vaults",
            Endpoint::Apy => "/apy",
            Endpoint::ApyBreakdown => "/apy/breakdown",
            Endpoint::Tvl => "/tvl",
            Endpoint::Lps => "/lps",
            Endpoint::Prices => "/prices",
            Endpoint::Fees => "/fees",
            Endpoint::Boosts => "/boosts",
        }
    }
}

/// Where a [`BeefyData`] came from.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// The bundled snapshot taken at `taken_at` (Unix seconds).
    Snapshot {
        /// When the snapshot was taken.
        taken_at: i64,
    },
    /// The Beefy API at `base`, oldest endpoint read at `fetched_ms`.
    Api {
        /// Base URL.
        base: String,
        /// When the oldest cached endpoint was fetched, ms.
        fetched_ms: i64,
    },
}

impl Source {
    /// `snapshot` or `api`.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Snapshot { .. } => "snapshot",
            Source::Api { .. } => "api",
        }
    }
}

/// The eight endpoints, parsed and indexed by vault id.
#[derive(Debug, Clone)]
pub struct BeefyData {
    /// Where it came from.
    pub source: Source,
    /// Vaults in `/vaults` order.
    pub vaults: Vec<Vault>,
    index: HashMap<String, usize>,
    /// `/apy`.
    pub apy: ApyMap,
    /// `/apy/breakdown`.
    pub breakdown: BreakdownMap,
    /// `/tvl` flattened to vault id -> USD.
    pub tvl: HashMap<String, f64>,
    /// `/lps`.
    pub lps: PriceMap,
    /// `/prices`.
    pub prices: PriceMap,
    /// `/fees`.
    pub fees: FeesMap,
    /// `/boosts`.
    pub boosts: Vec<Boost>,
    /// Entries upstream that did not parse and were left out.
    pub skipped: usize,
}

fn shape(endpoint: Endpoint, want: &str) -> DefiError {
    DefiError::Upstream(format!(
        "Beefy {} answered a shape this client does not read (expected {want})",
        endpoint.path()
    ))
}

/// A JSON array of `T`; entries that do not parse are skipped and counted,
/// so one odd vault upstream does not hide the others.
fn parse_list<T: serde::de::DeserializeOwned>(
    endpoint: Endpoint,
    body: &Value,
    skipped: &mut usize,
) -> Result<Vec<T>> {
    let list = body.as_array().ok_or_else(|| shape(endpoint, "an array"))?;
    Ok(list
        .iter()
        .filter_map(|v| {
            let parsed = serde_json::from_value(v.clone()).ok();
            *skipped += usize::from(parsed.is_none());
            parsed
        })
        .collect())
}

/// A JSON object of `T` by key, skipping (and counting) entries that do not parse.
fn parse_map<T: serde::de::DeserializeOwned>(
    endpoint: Endpoint,
    body: &Value,
    skipped: &mut usize,
) -> Result<BTreeMap<String, T>> {
    let map = body
        .as_object()
        .ok_or_else(|| shape(endpoint, "an object"))?;
    Ok(map
        .iter()
        .filter_map(|(k, v)| {
            let parsed = serde_json::from_value(v.clone()).ok();
            *skipped += usize::from(parsed.is_none());
            parsed.map(|p| (k.clone(), p))
        })
        .collect())
}

impl BeefyData {
    /// Joins the eight endpoint bodies (JSON as served) into one view.
    pub fn from_bodies(source: Source, bodies: &BTreeMap<&'static str, Value>) -> Result<Self> {
        let get = |e: Endpoint| -> Result<&Value> {
            bodies
                .get(e.path())
                .ok_or_else(|| DefiError::Upstream(format!("Beefy {} missing", e.path())))
        };
        let mut skipped = 0;
        let vaults: Vec<Vault> =
            parse_list(Endpoint::Vaults, get(Endpoint::Vaults)?, &mut skipped)?;
        let tvl_by_chain: TvlMap = parse_map(Endpoint::Tvl, get(Endpoint::Tvl)?, &mut skipped)?;
        let mut tvl = HashMap::new();
        for per_vault in tvl_by_chain.into_values() {
            for (id, usd) in per_vault {
                if let Some(usd) = usd {
                    tvl.insert(id, usd);
                }
            }
        }
        let index = vaults
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.clone(), i))
            .collect();
        let apy: ApyMap = parse_map(Endpoint::Apy, get(Endpoint::Apy)?, &mut skipped)?;
        let breakdown: BreakdownMap = parse_map(
            Endpoint::ApyBreakdown,
            get(Endpoint::ApyBreakdown)?,
            &mut skipped,
        )?;
        let lps: PriceMap = parse_map(Endpoint::Lps, get(Endpoint::Lps)?, &mut skipped)?;
        let prices: PriceMap = parse_map(Endpoint::Prices, get(Endpoint::Prices)?, &mut skipped)?;
        let fees: FeesMap = parse_map(Endpoint::Fees, get(Endpoint::Fees)?, &mut skipped)?;
        let boosts: Vec<Boost> =
            parse_list(Endpoint::Boosts, get(Endpoint::Boosts)?, &mut skipped)?;
        Ok(Self {
            source,
            index,
            vaults,
            apy,
            breakdown,
            tvl,
            lps,
            prices,
            fees,
            boosts,
            skipped,
        })
    }

    /// The vault `id`, or a not-found error naming it.
    pub fn vault(&self, id: &str) -> Result<&Vault> {
        self.index
            .get(id.trim())
            .map(|&i| &self.vaults[i])
            .ok_or_else(|| {
                DefiError::NotFound(format!(
                    "no vault `{id}` (list them with defi_vaults; ids look like `aerodrome-weth-usdc`)"
                ))
            })
    }

    /// The vault's total APY: `/apy/breakdown` `totalApy`, else `/apy`, else 0.
    pub fn total_apy(&self, id: &str) -> f64 {
        self.breakdown
            .get(id)
            .and_then(|b| b.total_apy)
            .or_else(|| self.apy.get(id).copied().flatten())
            .filter(|a| a.is_finite())
            .unwrap_or(0.0)
    }

    /// The vault's breakdown (empty when the API has none).
    pub fn breakdown(&self, id: &str) -> ApyBreakdown {
        self.breakdown.get(id).cloned().unwrap_or_default()
    }

    /// TVL in USD (0 when unknown).
    pub fn tvl(&self, id: &str) -> f64 {
        self.tvl.get(id).copied().unwrap_or(0.0)
    }

    /// USD price of one want token of `vault` (`/lps` or `/prices` by its oracle).
    pub fn want_price(&self, vault: &Vault) -> Option<f64> {
        let map = if vault.oracle == "lps" {
            &self.lps
        } else {
            &self.prices
        };
        map.get(&vault.oracle_id).copied().flatten()
    }

    /// USD price of token `oracle_id` in `/prices`.
    pub fn price(&self, oracle_id: &str) -> Option<f64> {
        self.prices.get(oracle_id).copied().flatten()
    }

    /// The vault's fees (zero when unknown).
    pub fn fees(&self, id: &str) -> VaultFees {
        self.fees.get(id).cloned().unwrap_or_default()
    }

    /// The boosts of vault `id`.
    pub fn boosts_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Boost> + 'a {
        self.boosts.iter().filter(move |b| b.pool_id == id)
    }

    /// Chain keys that have vaults, with the known chain where there is one.
    pub fn chain_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.vaults.iter().map(|v| v.chain.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The EIP-155 id of the vault's chain.
    pub fn chain_id(vault: &Vault) -> Result<u64> {
        chains::by_key(&vault.chain)
            .map(|c| c.chain_id)
            .ok_or_else(|| DefiError::NotFound(format!("unknown chain `{}`", vault.chain)))
    }
}
