//! The template registry: the templates shipped in the top-level
//! `templates/` folder (embedded in the binary) plus any folder named by
//! the `templates_dir` setting. Each template is a folder with
//!
//! - `e2b.toml`: E2B's template config as the E2B CLI writes and reads it
//!   (`template_name`, `dockerfile`, `start_cmd`, `ready_cmd`,
//!   `cpu_count`, `memory_mb`, and after a build `template_id`, `team_id`);
//! - `e2b.Dockerfile`: the image, in the subset E2B's template builder
//!   takes (`FROM`, `ARG`, `ENV`, `RUN`, `WORKDIR`, `USER`); build
//!   parameters are Docker `ARG`s, so the file stays buildable as is;
//! - `template.toml`: our metadata — description, the local start
//!   command, required environment, resources, environment, named tasks
//!   and files placed in a local sandbox.
//!
//! [`Template::validate`] names the field at fault (`e2b.toml:memory_mb`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::E2bError;

/// E2B's `e2b.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct E2bToml {
    /// Template name (alias) at E2B: lower-case letters, digits, `-`, `_`.
    pub template_name: String,
    /// The Dockerfile, relative to the template folder.
    pub dockerfile: String,
    /// Command started when a sandbox of the template starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_cmd: Option<String>,
    /// Command that must exit 0 before the template counts as ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_cmd: Option<String>,
    /// vCPUs.
    pub cpu_count: u32,
    /// Memory in MiB (even).
    pub memory_mb: u32,
    /// The E2B template id, once built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// The E2B team, once built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

/// Resources of our metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// vCPUs (must match `e2b.toml`).
    pub cpu_count: u32,
    /// Memory in MiB (must match `e2b.toml`).
    pub memory_mb: u32,
    /// Default life of a sandbox in seconds.
    pub timeout_secs: u64,
}

/// Our `template.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Template name (the folder's name).
    pub name: String,
    /// What the template is for.
    pub description: String,
    /// Command started in the background when the template is deployed
    /// locally (the local counterpart of `start_cmd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_command: Option<String>,
    /// Environment variables a caller must give.
    #[serde(default)]
    pub required_env: Vec<String>,
    /// Resources.
    pub resources: Resources,
    /// Environment every sandbox of the template gets.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Named tasks `agent_run` can run (`name = "command"`).
    #[serde(default)]
    pub tasks: BTreeMap<String, String>,
    /// Files placed in a local sandbox of the template (`path = "content"`).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// A template as read, before validation.
#[derive(Debug, Clone)]
pub struct Source {
    /// Folder name.
    pub name: String,
    /// `e2b.toml` text.
    pub e2b_toml: String,
    /// `e2b.Dockerfile` text (or the file `e2b.toml` names).
    pub dockerfile: String,
    /// `template.toml` text.
    pub meta_toml: String,
    /// Where it came from (`embedded` or a folder).
    pub origin: String,
}

/// A valid template.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// Name.
    pub name: String,
    /// E2B config.
    pub e2b: E2bToml,
    /// Our metadata.
    pub meta: Meta,
    /// The Dockerfile text.
    pub dockerfile: String,
    /// Where it came from.
    pub origin: String,
}

macro_rules! embedded {
    ($($name:literal),*) => {
        [$((
            $name,
            include_str!(concat!("../../../templates/", $name, "/e2b.toml")),
            include_str!(concat!("../../../templates/", $name, "/e2b.Dockerfile")),
            include_str!(concat!("../../../templates/", $name, "/template.toml")),
        )),*]
    };
}

/// The shipped templates (`templates/` at the repository root).
pub fn embedded_sources() -> Vec<Source> {
    embedded!(
        "base",
        "claude-code",
        "claude-flow",
        "trading-bot",
        "neural-trader-mcp"
    )
    .into_iter()
    .map(|(name, e2b, docker, meta)| Source {
        name: name.to_string(),
        e2b_toml: e2b.to_string(),
        dockerfile: docker.to_string(),
        meta_toml: meta.to_string(),
        origin: "embedded".into(),
    })
    .collect()
}

/// Reads every template folder under `dir` (a folder with an `e2b.toml`).
pub fn dir_sources(dir: &Path) -> Result<Vec<Source>, E2bError> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let folder = entry.path();
        if !folder.join("e2b.toml").is_file() {
            continue;
        }
        let read = |file: &str| std::fs::read_to_string(folder.join(file)).unwrap_or_default();
        let e2b_toml = read("e2b.toml");
        let docker_name = toml::from_str::<toml::Table>(&e2b_toml)
            .ok()
            .and_then(|t| {
                t.get("dockerfile")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .filter(|d| !d.contains("..") && !d.starts_with('/'))
            .unwrap_or_else(|| "e2b.Dockerfile".into());
        out.push(Source {
            name: entry.file_name().to_string_lossy().into_owned(),
            e2b_toml,
            dockerfile: read(&docker_name),
            meta_toml: read("template.toml"),
            origin: folder.display().to_string(),
        });
    }
    Ok(out)
}

fn bad(template: &str, field: &str, reason: impl Into<String>) -> E2bError {
    E2bError::Template {
        template: template.to_string(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Whether `s` is a valid E2B template name.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Whether `s` is a valid environment variable name.
pub fn valid_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn toml_field(err: &toml::de::Error) -> String {
    // toml names the key in its message for unknown or missing fields.
    let msg = err.message();
    for marker in ["unknown field `", "missing field `"] {
        if let Some(rest) = msg.split(marker).nth(1)
            && let Some(name) = rest.split('`').next()
        {
            return name.to_string();
        }
    }
    String::new()
}

impl Source {
    /// Parses and validates the template; the error names the field.
    pub fn validate(&self) -> Result<Template, E2bError> {
        let t = self.name.as_str();
        let e2b: E2bToml = toml::from_str(&self.e2b_toml).map_err(|e| {
            bad(
                t,
                &format!("e2b.toml:{}", toml_field(&e)),
                e.message().to_string(),
            )
        })?;
        let meta: Meta = toml::from_str(&self.meta_toml).map_err(|e| {
            bad(
                t,
                &format!("template.toml:{}", toml_field(&e)),
                e.message().to_string(),
            )
        })?;
        if !valid_name(&e2b.template_name) {
            return Err(bad(
                t,
                "e2b.toml:template_name",
                "must be lower-case letters, digits, `-` or `_` (at most 64)",
            ));
        }
        if e2b.dockerfile != "e2b.Dockerfile" && e2b.dockerfile != "Dockerfile" {
            return Err(bad(
                t,
                "e2b.toml:dockerfile",
                "must be `e2b.Dockerfile` (or `Dockerfile`)",
            ));
        }
        if !(1..=8).contains(&e2b.cpu_count) {
            return Err(bad(t, "e2b.toml:cpu_count", "must be 1 to 8"));
        }
        if e2b.memory_mb < 128 || e2b.memory_mb > 8192 || !e2b.memory_mb.is_multiple_of(2) {
            return Err(bad(
                t,
                "e2b.toml:memory_mb",
                "must be an even number from 128 to 8192",
            ));
        }
        for (field, cmd) in [
            ("e2b.toml:start_cmd", &e2b.start_cmd),
            ("e2b.toml:ready_cmd", &e2b.ready_cmd),
        ] {
            if cmd.as_deref().is_some_and(|c| c.trim().is_empty()) {
                return Err(bad(t, field, "must not be blank"));
            }
        }
        if meta.name != self.name {
            return Err(bad(
                t,
                "template.toml:name",
                format!("is `{}` but the folder is `{}`", meta.name, self.name),
            ));
        }
        if meta.description.trim().is_empty() {
            return Err(bad(t, "template.toml:description", "must not be blank"));
        }
        if meta.resources.cpu_count != e2b.cpu_count {
            return Err(bad(
                t,
                "template.toml:resources.cpu_count",
                "must equal e2b.toml cpu_count",
            ));
        }
        if meta.resources.memory_mb != e2b.memory_mb {
            return Err(bad(
                t,
                "template.toml:resources.memory_mb",
                "must equal e2b.toml memory_mb",
            ));
        }
        if !(1..=86_400).contains(&meta.resources.timeout_secs) {
            return Err(bad(
                t,
                "template.toml:resources.timeout_secs",
                "must be 1 to 86400",
            ));
        }
        if let Some(bad_name) = meta
            .required_env
            .iter()
            .chain(meta.env.keys())
            .find(|n| !valid_env_name(n))
        {
            return Err(bad(
                t,
                "template.toml:env",
                format!("`{bad_name}` is not a variable name"),
            ));
        }
        if meta
            .start_command
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            return Err(bad(t, "template.toml:start_command", "must not be blank"));
        }
        for (task, cmd) in &meta.tasks {
            if cmd.trim().is_empty() {
                return Err(bad(
                    t,
                    &format!("template.toml:tasks.{task}"),
                    "must not be blank",
                ));
            }
        }
        for path in meta.files.keys() {
            if path.starts_with('/') || path.split('/').any(|p| p == "..") {
                return Err(bad(
                    t,
                    &format!("template.toml:files.{path}"),
                    "must be a relative path without `..`",
                ));
            }
        }
        crate::dockerfile::parse(&self.dockerfile)
            .map_err(|(line, reason)| bad(t, &format!("e2b.Dockerfile:line {line}"), reason))?;
        Ok(Template {
            name: self.name.clone(),
            e2b,
            meta,
            dockerfile: self.dockerfile.clone(),
            origin: self.origin.clone(),
        })
    }
}

/// All known templates.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    sources: Vec<Source>,
}

impl Registry {
    /// The shipped templates plus those under `extra` (a later one with the
    /// same name replaces an earlier one).
    pub fn load(extra: Option<&Path>) -> Result<Self, E2bError> {
        let mut sources = embedded_sources();
        if let Some(dir) = extra {
            for s in dir_sources(dir)? {
                sources.retain(|o| o.name != s.name);
                sources.push(s);
            }
        }
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { sources })
    }

    /// The sources, by name.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The source of template `name`.
    pub fn source(&self, name: &str) -> Result<&Source, E2bError> {
        self.sources.iter().find(|s| s.name == name).ok_or_else(|| {
            E2bError::invalid(
                "template",
                format!(
                    "no template `{name}`; known: {}",
                    self.sources
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// Template `name`, validated.
    pub fn get(&self, name: &str) -> Result<Template, E2bError> {
        self.source(name)?.validate()
    }
}
