//! Settings, from the manifest's `[bundle_config.defi]` table or the
//! environment:
//!
//! | key | env | meaning |
//! |---|---|---|
//! | `beefy_api_url` | `BEEFY_API_URL` | Beefy API base; unset: the bundled snapshot |
//! | `cache_ttl` | `DEFI_CACHE_TTL` | how long API answers are reused (default `5m`) |
//! | `rpc_<chain>` | `DEFI_RPC_<CHAIN>` | JSON-RPC URL per Beefy chain key (`rpc_base`, `DEFI_RPC_BASE`) |
//! | `private_key` | `DEFI_PRIVATE_KEY` | key that signs, only with live trading and an explicit request |

use std::collections::BTreeMap;
use std::time::Duration;

use nt_mcp_core::BundleSettings;

use crate::chains::CHAINS;
use crate::error::{DefiError, Result};

/// The bundle's configuration.
#[derive(Clone, Default)]
pub struct DefiConfig {
    /// Beefy API base URL; `None` serves the bundled snapshot.
    pub beefy_api_url: Option<String>,
    /// Cache lifetime of API answers.
    pub cache_ttl: Duration,
    /// JSON-RPC URL per Beefy chain key.
    pub rpc_urls: BTreeMap<String, String>,
    /// Hex private key that may sign (never printed).
    pub private_key: Option<String>,
}

impl std::fmt::Debug for DefiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefiConfig")
            .field("beefy_api_url", &self.beefy_api_url)
            .field("cache_ttl", &self.cache_ttl)
            .field("rpc_chains", &self.rpc_urls.keys().collect::<Vec<_>>())
            .field("private_key", &self.private_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl DefiConfig {
    /// Reads the settings (manifest key, then environment).
    pub fn from_settings(settings: &BundleSettings) -> Result<Self> {
        let cache_ttl = settings
            .duration("cache_ttl", "DEFI_CACHE_TTL")
            .map_err(|e| DefiError::Config(e.to_string()))?
            .unwrap_or(Duration::from_secs(300));
        let mut rpc_urls = BTreeMap::new();
        for chain in CHAINS {
            let key = format!("rpc_{}", chain.key);
            let env = format!("DEFI_RPC_{}", chain.key.to_uppercase());
            if let Some(url) = settings.string(&key, &env).filter(|u| !u.trim().is_empty()) {
                rpc_urls.insert(chain.key.to_string(), url);
            }
        }
        Ok(Self {
            beefy_api_url: settings
                .string("beefy_api_url", "BEEFY_API_URL")
                .filter(|u| !u.trim().is_empty()),
            cache_ttl,
            rpc_urls,
            private_key: settings
                .string("private_key", "DEFI_PRIVATE_KEY")
                .filter(|k| !k.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_manifest_table_and_hides_the_key() {
        let mut settings = BundleSettings::default();
        for (k, v) in [
            ("beefy_api_url", "http://127.0.0.1:9/"),
            ("rpc_base", "http://127.0.0.1:8545"),
            ("rpc_arbitrum", " "),
            ("cache_ttl", "90s"),
            ("private_key", "0xabc"),
        ] {
            settings
                .table
                .insert(k.into(), toml::Value::String(v.into()));
        }
        let c = DefiConfig::from_settings(&settings).expect("config");
        assert_eq!(c.beefy_api_url.as_deref(), Some("http://127.0.0.1:9/"));
        assert_eq!(c.cache_ttl, Duration::from_secs(90));
        assert_eq!(
            c.rpc_urls.get("base").map(String::as_str),
            Some("http://127.0.0.1:8545")
        );
        assert!(!c.rpc_urls.contains_key("arbitrum"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("0xabc") && shown.contains("<set>"),
            "{shown}"
        );
        settings
            .table
            .insert("cache_ttl".into(), toml::Value::String("soon".into()));
        assert!(DefiConfig::from_settings(&settings).is_err());
    }
}
