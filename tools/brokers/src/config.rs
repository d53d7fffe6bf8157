//! Settings helpers shared by the venue clients: a keep-alive period read
//! through the runtime's [`BundleSettings`] (manifest key first, then the
//! environment).

use nt_mcp_core::BundleSettings;

use crate::error::{BrokersError, Result};

/// A keep-alive period from the manifest table, else the environment, in
/// whole seconds: `default` when unset, `None` for `0` (off), an error
/// naming both keys when it is not a number from 0 to `max_secs`.
pub fn period_setting(
    settings: &BundleSettings,
    key: &str,
    env: &str,
    default: std::time::Duration,
    max_secs: u64,
) -> Result<Option<std::time::Duration>> {
    let Some(v) = settings.string(key, env) else {
        return Ok(Some(default));
    };
    match v.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(secs) if secs <= max_secs => Ok(Some(std::time::Duration::from_secs(secs))),
        _ => Err(BrokersError::Config(format!(
            "{key} / {env}: `{v}` must be 0 (off) to {max_secs} seconds"
        ))),
    }
}

/// A decimal setting from the manifest table (or `env`), as a config error
/// naming the key when it is not a number.
pub fn decimal_setting(
    settings: &BundleSettings,
    key: &str,
    env: &str,
) -> Result<Option<rust_decimal::Decimal>> {
    settings
        .decimal(key, env)
        .map_err(|e| BrokersError::Config(format!("bundle_config.brokers.{}: {}", e.key, e.reason)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn with(key: &str, v: &str) -> BundleSettings {
        let mut s = BundleSettings::default();
        s.table.insert(key.into(), toml::Value::String(v.into()));
        s
    }

    #[test]
    fn period_settings_default_turn_off_and_name_both_keys_when_bad() {
        let d = Duration::from_secs(600);
        // An env name nobody sets, so only the table speaks.
        let env = "NT_TEST_UNSET_PERIOD_SECS";
        let got = period_setting(&BundleSettings::default(), "k_secs", env, d, 900);
        assert_eq!(got.expect("default"), Some(d));
        let got = period_setting(&with("k_secs", "0"), "k_secs", env, d, 900);
        assert_eq!(got.expect("off"), None);
        let got = period_setting(&with("k_secs", " 45 "), "k_secs", env, d, 900);
        assert_eq!(got.expect("45 s"), Some(Duration::from_secs(45)));
        for bad in ["901", "-1", "ten"] {
            let err = period_setting(&with("k_secs", bad), "k_secs", env, d, 900)
                .expect_err(bad)
                .to_string();
            assert!(
                err.contains("k_secs / NT_TEST_UNSET_PERIOD_SECS")
                    && err.contains(&format!("`{bad}`"))
                    && err.contains("0 (off) to 900 seconds"),
                "{err}"
            );
        }
    }
}
