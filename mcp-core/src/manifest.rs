//! Variant manifests: a TOML file that says which bundles (and which of their
//! tools) a server hosts, under which name, with which limits and auth.
//! Every server variant is one of these over the same runtime.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::CoreError;

/// What happens when a call passes its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnDeadline {
    /// The call is cancelled and answers with a deadline error.
    #[default]
    Error,
    /// The call keeps running as a background job; the answer carries the job id.
    Job,
}

/// Limits that apply to every call of the variant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Deadline for tools that declare none and have no override, in seconds.
    #[serde(default = "default_deadline_secs")]
    pub default_deadline_secs: f64,
    /// What a call that passes its deadline turns into.
    #[serde(default)]
    pub on_deadline: OnDeadline,
    /// Calls per minute allowed to one caller (0 = no limit).
    #[serde(default)]
    pub calls_per_minute: u32,
}

fn default_deadline_secs() -> f64 {
    30.0
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_deadline_secs: default_deadline_secs(),
            on_deadline: OnDeadline::Error,
            calls_per_minute: 0,
        }
    }
}

/// Whether tools may move real money on live venues.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trading {
    /// Allow `trade`-scope tools on live venues. Simulated and paper venues
    /// are always allowed. `NT_LIVE_TRADING=1` also enables it.
    #[serde(default)]
    pub live: bool,
}

/// How HTTP callers authenticate. stdio is trusted local use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `none` (default) or `jwt`.
    #[serde(default)]
    pub mode: AuthMode,
    /// Accepted algorithms: any of HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// Environment variable holding the HMAC secret (HS*).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// PEM file with the public key (RS*/ES*).
    #[serde(default)]
    pub public_key_file: Option<String>,
    /// Required `iss` claim.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Required `aud` claim.
    #[serde(default)]
    pub audience: Option<String>,
}

/// Whose accounts calls act on (`[accounts]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsSection {
    /// Each caller (JWT subject over HTTP, `--account NAME` over stdio) gets
    /// its own paper broker account, local-CLOB wallet and fantasy identity.
    /// Default `false`: every caller shares one set.
    #[serde(default)]
    pub per_caller: bool,
}

/// The HTTP auth mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication (bind to loopback only).
    #[default]
    None,
    /// Bearer JWT.
    Jwt,
}

/// Which tools of the selected bundles are served and under which names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSelection {
    /// If set, only these tools (exact names or `prefix_*`).
    #[serde(default)]
    pub allow: Option<Vec<Spanned<String>>>,
    /// These tools are not served (exact names or `prefix_*`).
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
    /// Tool name → name served.
    #[serde(default)]
    pub rename: BTreeMap<Spanned<String>, String>,
    /// Tool name → deadline in seconds.
    #[serde(default)]
    pub deadlines: BTreeMap<Spanned<String>, f64>,
    /// Tool name → the description served instead of the bundle's (a
    /// variant for a particular client can keep them short).
    #[serde(default)]
    pub describe: BTreeMap<Spanned<String>, String>,
}

/// A parsed manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Variant name (`integrated`).
    pub name: String,
    /// Server title shown to clients.
    #[serde(default)]
    pub title: Option<String>,
    /// Instructions sent to the client at initialize.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Bundles hosted, besides `system` which every variant has.
    pub bundles: Vec<Spanned<String>>,
    /// Call limits.
    #[serde(default)]
    pub limits: Limits,
    /// Live-trading gate.
    #[serde(default)]
    pub trading: Trading,
    /// HTTP auth.
    #[serde(default)]
    pub auth: AuthSection,
    /// Tool selection, renames and deadlines.
    #[serde(default)]
    pub tools: ToolSelection,
    /// Whose accounts calls act on.
    #[serde(default)]
    pub accounts: AccountsSection,
    /// Per-bundle settings, handed to the bundle.
    #[serde(default)]
    pub bundle_config: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// Where it came from (file path or `<embedded:NAME>`), for errors.
    #[serde(skip)]
    pub source: String,
    /// Its text, to turn spans into line numbers.
    #[serde(skip)]
    pub text: String,
}

impl Manifest {
    /// Parses manifest text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Self, CoreError> {
        let mut manifest: Manifest = toml::from_str(text).map_err(|err| CoreError::Manifest {
            path: source.to_string(),
            message: err.to_string().trim().to_string(),
        })?;
        manifest.source = source.to_string();
        manifest.text = text.to_string();
        if manifest.limits.default_deadline_secs <= 0.0
            || !manifest.limits.default_deadline_secs.is_finite()
        {
            return Err(CoreError::Manifest {
                path: source.to_string(),
                message: "limits.default_deadline_secs must be a positive number".into(),
            });
        }
        for (tool, secs) in &manifest.tools.deadlines {
            if *secs <= 0.0 || !secs.is_finite() {
                return Err(manifest.error_at(
                    tool,
                    format!(
                        "deadline for `{}` must be a positive number of seconds",
                        tool.get_ref()
                    ),
                ));
            }
        }
        Ok(manifest)
    }

    /// Reads and parses a manifest file.
    pub fn load(path: &std::path::Path) -> Result<Self, CoreError> {
        let text = std::fs::read_to_string(path).map_err(|err| CoreError::Manifest {
            path: path.display().to_string(),
            message: format!("cannot read: {err}"),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The default deadline as a duration.
    pub fn default_deadline(&self) -> Duration {
        Duration::from_secs_f64(self.limits.default_deadline_secs)
    }

    /// An error pointing at the line of a spanned value.
    pub fn error_at<T>(&self, spanned: &Spanned<T>, message: String) -> CoreError {
        let line = line_of(&self.text, spanned.span().start);
        CoreError::Manifest {
            path: self.source.clone(),
            message: format!("line {line}: {message}"),
        }
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|head| head.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// Whether `name` matches a selection pattern: exact, or `prefix*`.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_manifest() {
        let text = r#"
name = "x"
instructions = "hi"
bundles = ["diagnostics"]
[limits]
default_deadline_secs = 5
on_deadline = "job"
[tools]
deny = ["diag_*"]
rename = { ping = "health" }
deadlines = { ping = 1.5 }
"#;
        let m = Manifest::parse("t.toml", text).expect("parse");
        assert_eq!(m.limits.on_deadline, OnDeadline::Job);
        assert_eq!(m.bundles[0].get_ref(), "diagnostics");
        assert_eq!(line_of(text, m.bundles[0].span().start), 4);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = Manifest::parse("bad.toml", "name = \"x\"\nbundles = []\nbundels = []\n")
            .expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("bad.toml"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("polymarket_*", "polymarket_markets"));
        assert!(!pattern_matches("polymarket_*", "ping"));
        assert!(pattern_matches("ping", "ping"));
    }
}
