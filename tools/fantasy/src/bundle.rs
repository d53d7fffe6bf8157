//! The bundle type: [`FantasyBundle`], built from its settings, and its one
//! route table (the handlers live in `tools/<family>.rs`), resources and
//! prompts.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::bundle::{
    BundleSettings, ResourceSpec, ResourceText, ToolBundle, ToolCtx, VenueMode, VenueStatus,
};
use nt_mcp_core::{Migration, NewBundle, SettingError, ToolError, ToolRouter};

use crate::data::{SampleProvider, StatsProvider};
use crate::db;
use crate::error::FantasyError;
use crate::model::Sport;
use crate::provider::{BallDontLie, BallDontLieConfig};
use crate::scoring::{PRESETS, RuleSet};

pub use crate::tools::common::ScoringInput;

/// The Fantasy Collective bundle (`fantasy`).
#[derive(Clone)]
pub struct FantasyBundle {
    pub(crate) default_sport: Sport,
    pub(crate) provider: Option<Arc<dyn StatsProvider>>,
}

impl std::fmt::Debug for FantasyBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FantasyBundle")
            .field("default_sport", &self.default_sport)
            .field(
                "provider",
                &self.provider.as_ref().map(|p| p.name().to_string()),
            )
            .finish()
    }
}

const SETTINGS: &str = "default_sport, balldontlie_base_url, balldontlie_requests_per_minute";

/// A setting error as the bundle reports it: the field under `bundle_config.fantasy`.
fn setting_error(err: SettingError) -> FantasyError {
    FantasyError::invalid(format!("bundle_config.fantasy.{}", err.key), err.reason)
}

impl FantasyBundle {
    /// Builds the bundle from its manifest table. Known keys:
    /// `default_sport` (`nfl`, `nba`, `mlb`, `soccer`; default `nfl`),
    /// `balldontlie_base_url` and `balldontlie_requests_per_minute` (used
    /// when `BALLDONTLIE_API_KEY` is set; the environment variables
    /// `BALLDONTLIE_BASE_URL` and `BALLDONTLIE_REQUESTS_PER_MINUTE` win over
    /// them).
    pub fn new(settings: &BundleSettings) -> Result<Self, FantasyError> {
        for key in settings.table.keys() {
            if !SETTINGS.split(", ").any(|k| k == key) {
                return Err(FantasyError::invalid(
                    format!("bundle_config.fantasy.{key}"),
                    format!("unknown setting (known: {SETTINGS})"),
                ));
            }
        }
        let default_sport = match settings.string("default_sport", "") {
            None => Sport::Nfl,
            Some(s) => s.parse().map_err(|_| {
                FantasyError::invalid(
                    "bundle_config.fantasy.default_sport",
                    format!("unknown sport `{s}`"),
                )
            })?,
        };
        let base_url = settings.string("balldontlie_base_url", "");
        let rpm = settings
            .integer("balldontlie_requests_per_minute", "")
            .map_err(setting_error)?
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    FantasyError::invalid(
                        "bundle_config.fantasy.balldontlie_requests_per_minute",
                        "must be 1..=60000",
                    )
                })
            })
            .transpose()?;
        let provider = match BallDontLieConfig::resolve(
            |k| std::env::var(k).ok(),
            base_url.as_deref(),
            rpm,
        )? {
            Some(cfg) => Some(Arc::new(BallDontLie::new(cfg)?) as Arc<dyn StatsProvider>),
            None => None,
        };
        Ok(Self {
            default_sport,
            provider,
        })
    }

    /// Uses `provider` for `fantasy_import_stats` with `format = "provider"`
    /// (instead of the one configured from the environment).
    pub fn with_stats_provider(mut self, provider: Arc<dyn StatsProvider>) -> Self {
        self.provider = Some(provider);
        self
    }
}

impl NewBundle for FantasyBundle {
    const NAME: &'static str = "fantasy";
    type Error = FantasyError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::new(settings)
    }
}

/// The bundle's migrations, to apply after the core ones.
pub fn migrations() -> Vec<Migration> {
    db::migrations()
}

const IMPORT_FORMAT: &str = include_str!("../README.md");

#[async_trait]
impl ToolBundle for FantasyBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, crate::tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        db::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let mut out = vec![VenueStatus {
            name: SampleProvider::default().name().to_string(),
            mode: VenueMode::Simulated,
        }];
        if let Some(p) = &self.provider {
            out.push(VenueStatus {
                name: p.name().to_string(),
                mode: VenueMode::Live,
            });
        }
        out
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        vec![
            ResourceSpec {
                uri: "fantasy://scoring-presets".into(),
                name: "scoring-presets".into(),
                description:
                    "Every built-in scoring rule set as JSON (copy one to make a custom rule set)."
                        .into(),
                mime_type: "application/json".into(),
            },
            ResourceSpec {
                uri: "fantasy://import-format".into(),
                name: "import-format".into(),
                description: "The CSV/JSON stats import format and the bundle's README.".into(),
                mime_type: "text/markdown".into(),
            },
        ]
    }

    async fn read_resource(
        &self,
        uri: &str,
        _ctx: ToolCtx,
    ) -> std::result::Result<ResourceText, ToolError> {
        match uri {
            "fantasy://scoring-presets" => {
                let presets: Vec<RuleSet> =
                    PRESETS.iter().filter_map(|p| RuleSet::preset(p)).collect();
                Ok(ResourceText {
                    mime_type: "application/json".into(),
                    text: serde_json::to_string_pretty(&presets).unwrap_or_default(),
                })
            }
            "fantasy://import-format" => Ok(ResourceText {
                mime_type: "text/markdown".into(),
                text: IMPORT_FORMAT.to_string(),
            }),
            _ => Err(ToolError::not_found(format!("no resource {uri}"))),
        }
    }

    fn prompts(&self) -> Vec<nt_mcp_core::bundle::PromptSpec> {
        use nt_mcp_core::bundle::{PromptArg, PromptSpec};
        vec![PromptSpec {
            name: "fantasy_manage_week".into(),
            description: "Run a season-long team's week: lineup by projection, waiver targets, one fair trade idea.".into(),
            arguments: vec![PromptArg {
                name: "team_id".into(),
                description: "The team to manage.".into(),
                required: true,
            }],
        }]
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> std::result::Result<String, ToolError> {
        if name != "fantasy_manage_week" {
            return Err(ToolError::not_found(format!("no prompt {name}")));
        }
        let team = nt_mcp_core::bundle::prompt_arg(args, "team_id")?;
        Ok(format!(
            "Manage fantasy team `{team}` for its league's current week.\n\
             1. Call fantasy_roster with team_id=\"{team}\" to see the players, the week and whether the lineup is set or locked.\n\
             2. Call fantasy_optimal_lineup with team_id=\"{team}\"; for doubtful picks call fantasy_project_player (interval and drivers) and fantasy_player_stats (form, consistency).\n\
             3. Set the lineup with fantasy_set_lineup before the first game locks it.\n\
             4. Look for a free agent who beats your weakest bench player by projection; if one does, file fantasy_waiver_claim with that drop.\n\
             5. Find one trade that helps both sides: check it with fantasy_evaluate_trade and propose it with fantasy_propose_trade only if it is rated fair.\n\
             Report the lineup and its projected points, any claim or trade made, and why."
        ))
    }
}
