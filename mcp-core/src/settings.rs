//! [`BundleSettings`]: what a bundle is built from (its manifest table and
//! server-wide flags), and the one way every bundle reads a setting: the
//! manifest key first, then an environment variable, with errors that name
//! the key.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

/// A setting that is present but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `{key}`: {reason}")]
pub struct SettingError {
    /// The manifest key (or environment variable) at fault.
    pub key: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl SettingError {
    fn new(key: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}

/// Settings handed to a bundle when the runtime builds it: its manifest
/// section and server-wide flags. Secrets come from the environment.
#[derive(Debug, Clone, Default)]
pub struct BundleSettings {
    /// The bundle's `[bundle_config.NAME]` table from the manifest, if any.
    pub table: BTreeMap<String, toml::Value>,
    /// Whether live trading is enabled.
    pub live_trading: bool,
}

/// Where a raw setting came from, so errors name the right key.
enum Raw<'a> {
    Toml(&'a str, &'a toml::Value),
    Env(String, String),
}

impl BundleSettings {
    fn raw<'a>(&'a self, key: &'a str, env: &str) -> Option<Raw<'a>> {
        match self.table.get(key) {
            Some(toml::Value::String(s)) if s.trim().is_empty() => self.env(env),
            Some(value) => Some(Raw::Toml(key, value)),
            None => self.env(env),
        }
    }

    fn env<'a>(&self, env: &str) -> Option<Raw<'a>> {
        match env {
            "" => None,
            _ => std::env::var(env)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| Raw::Env(env.to_string(), v)),
        }
    }

    /// A text setting: the manifest's `key`, else the environment variable
    /// `env` (pass `""` for none); blank values count as unset.
    pub fn string(&self, key: &str, env: &str) -> Option<String> {
        match self.raw(key, env)? {
            Raw::Toml(_, toml::Value::String(s)) => Some(s.clone()),
            Raw::Toml(_, toml::Value::Integer(i)) => Some(i.to_string()),
            Raw::Toml(_, toml::Value::Float(f)) => Some(f.to_string()),
            Raw::Toml(_, toml::Value::Boolean(b)) => Some(b.to_string()),
            Raw::Toml(_, _) => None,
            Raw::Env(_, v) => Some(v),
        }
    }

    /// A decimal setting (`"0.04"`, `0.04` or `4`).
    pub fn decimal(&self, key: &str, env: &str) -> Result<Option<Decimal>, SettingError> {
        let parse = |name: &str, text: &str| {
            Decimal::from_str(text.trim())
                .or_else(|_| Decimal::from_scientific(text.trim()))
                .map_err(|e| SettingError::new(name, format!("`{text}` is not a number: {e}")))
        };
        match self.raw(key, env) {
            None => Ok(None),
            Some(Raw::Toml(k, toml::Value::String(s))) => parse(k, s).map(Some),
            Some(Raw::Toml(_, toml::Value::Integer(i))) => Ok(Some(Decimal::from(*i))),
            Some(Raw::Toml(k, toml::Value::Float(f))) => parse(k, &f.to_string()).map(Some),
            Some(Raw::Toml(k, other)) => Err(SettingError::new(
                k,
                format!("expected a number, found {}", other.type_str()),
            )),
            Some(Raw::Env(k, v)) => parse(&k, &v).map(Some),
        }
    }

    /// An integer setting.
    pub fn integer(&self, key: &str, env: &str) -> Result<Option<i64>, SettingError> {
        match self.raw(key, env) {
            None => Ok(None),
            Some(Raw::Toml(_, toml::Value::Integer(i))) => Ok(Some(*i)),
            Some(Raw::Toml(k, toml::Value::String(s))) => parse_int(k, s).map(Some),
            Some(Raw::Toml(k, other)) => Err(SettingError::new(
                k,
                format!("expected an integer, found {}", other.type_str()),
            )),
            Some(Raw::Env(k, v)) => parse_int(&k, &v).map(Some),
        }
    }

    /// A yes/no setting (`true`/`false`, or `1`/`0`, `yes`/`no` as text).
    pub fn boolean(&self, key: &str, env: &str) -> Result<Option<bool>, SettingError> {
        let parse = |k: &str, v: &str| match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(SettingError::new(k, format!("`{other}` is not true/false"))),
        };
        match self.raw(key, env) {
            None => Ok(None),
            Some(Raw::Toml(_, toml::Value::Boolean(b))) => Ok(Some(*b)),
            Some(Raw::Toml(k, toml::Value::String(s))) => parse(k, s).map(Some),
            Some(Raw::Toml(k, other)) => Err(SettingError::new(
                k,
                format!("expected true or false, found {}", other.type_str()),
            )),
            Some(Raw::Env(k, v)) => parse(&k, &v).map(Some),
        }
    }

    /// A duration setting: text with a unit (`250ms`, `5s`, `2m`, `1h`,
    /// `1d`) or a bare integer meaning seconds.
    pub fn duration(&self, key: &str, env: &str) -> Result<Option<Duration>, SettingError> {
        match self.raw(key, env) {
            None => Ok(None),
            Some(Raw::Toml(k, toml::Value::Integer(i))) => u64::try_from(*i)
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| SettingError::new(k, "a duration cannot be negative")),
            Some(Raw::Toml(k, toml::Value::String(s))) => parse_duration(k, s).map(Some),
            Some(Raw::Toml(k, other)) => Err(SettingError::new(
                k,
                format!(
                    "expected a duration such as \"5s\", found {}",
                    other.type_str()
                ),
            )),
            Some(Raw::Env(k, v)) => parse_duration(&k, &v).map(Some),
        }
    }
}

fn parse_int(key: &str, text: &str) -> Result<i64, SettingError> {
    text.trim()
        .parse()
        .map_err(|_| SettingError::new(key, format!("`{text}` is not an integer")))
}

/// Parses `250ms`, `5s`, `2m`, `1h`, `1d` or a bare number of seconds.
pub fn parse_duration(key: &str, text: &str) -> Result<Duration, SettingError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        SettingError::new(key, format!("`{text}` is not a duration such as \"5s\""))
    })?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        other => {
            return Err(SettingError::new(
                key,
                format!("unknown unit `{other}` in `{text}` (use ms, s, m, h or d)"),
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(SettingError::new(
            key,
            format!("`{text}` is not a duration"),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> BundleSettings {
        let table: toml::Table = toml_text.parse().expect("toml");
        BundleSettings {
            table: table.into_iter().collect(),
            live_trading: false,
        }
    }

    #[test]
    fn the_manifest_wins_over_the_environment_and_blank_is_unset() {
        let s = settings("name = \"x\"\nblank = \"  \"");
        assert_eq!(s.string("name", "PATH").as_deref(), Some("x"));
        assert_eq!(s.string("blank", ""), None);
        assert!(
            s.string("blank", "PATH").is_some(),
            "falls through to the environment"
        );
        assert_eq!(s.string("absent", ""), None);
    }

    #[test]
    fn numbers_durations_and_flags_parse_with_named_errors() {
        let s = settings(
            "rate = \"0.04\"\nint = 4\nflt = 0.5\nwait = \"250ms\"\nsecs = 3\nmins = \"2m\"\nflag = true\nbad = \"ten\"\nneg = -1",
        );
        assert_eq!(s.decimal("rate", "").unwrap(), Some(Decimal::new(4, 2)));
        assert_eq!(s.decimal("int", "").unwrap(), Some(Decimal::from(4)));
        assert_eq!(s.decimal("flt", "").unwrap(), Some(Decimal::new(5, 1)));
        assert_eq!(
            s.duration("wait", "").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            s.duration("secs", "").unwrap(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            s.duration("mins", "").unwrap(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(s.boolean("flag", "").unwrap(), Some(true));
        assert_eq!(s.integer("int", "").unwrap(), Some(4));
        let err = s.decimal("bad", "").unwrap_err();
        assert_eq!(err.key, "bad");
        assert!(s.duration("bad", "").is_err());
        assert!(s.duration("neg", "").is_err());
        assert!(s.integer("flt", "").is_err());
    }
}
