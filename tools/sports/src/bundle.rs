//! The bundle type: [`SportsBundle`], built from its settings (risk limits,
//! compliance flags, the simulated book's seed, the live feeds' endpoints),
//! and its route table (handlers in `tools/<family>.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::bundle::{BundleSettings, ToolBundle, VenueMode, VenueStatus};
use nt_mcp_core::{Migration, NewBundle, SettingError, ToolRouter};
use nt_venue_http::Policy;
use rust_decimal::Decimal;

use crate::betfair::{BetfairClient, BetfairConfig};
use crate::error::{Result, SportsError};
use crate::feed::OddsFeed;
use crate::oddsapi::{OddsApiClient, OddsApiConfig};
use crate::risk::RiskConfig;
use crate::sim::{SIM_NAME, SimBook};

/// The sports betting bundle (`sports`).
pub struct SportsBundle {
    /// The simulated book and exchange (always there).
    pub sim: Arc<SimBook>,
    /// The Odds API, when `ODDS_API_KEY` is set.
    pub odds_api: Option<Arc<OddsApiClient>>,
    /// Betfair, when its credentials are set.
    pub betfair: Option<Arc<BetfairClient>>,
    /// Risk and compliance rules.
    pub risk: RiskConfig,
}

impl std::fmt::Debug for SportsBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SportsBundle")
            .field("odds_api", &self.odds_api.is_some())
            .field("betfair", &self.betfair.is_some())
            .field("risk", &self.risk)
            .finish()
    }
}

/// Every key `[bundle_config.sports]` accepts.
pub const SETTINGS: &[&str] = &[
    "seed",
    "odds_api_base_url",
    "odds_api_regions",
    "min_stake",
    "max_stake_per_bet",
    "max_stake_per_event",
    "max_stake_per_day",
    "daily_loss_limit",
    "max_exposure_per_sport",
    "jurisdiction",
    "allowed_jurisdictions",
    "bettor_age",
    "minimum_age",
    "require_age_verification",
    "self_excluded_until",
    "loss_streak_limit",
    "breaker_cooldown",
    "stale_feed",
];

fn setting(err: SettingError) -> SportsError {
    SportsError::invalid(format!("bundle_config.sports.{}", err.key), err.reason)
}

fn positive(key: &str, v: Option<Decimal>, default: Decimal) -> Result<Decimal> {
    match v {
        None => Ok(default),
        Some(d) if d > Decimal::ZERO => Ok(d),
        Some(_) => Err(SportsError::invalid(
            format!("bundle_config.sports.{key}"),
            "must be positive",
        )),
    }
}

/// Reads the risk and compliance settings (environment `NT_SPORTS_<KEY>`
/// overrides none; the manifest is the configuration).
pub fn risk_from_settings(s: &BundleSettings) -> Result<RiskConfig> {
    let d = RiskConfig::default();
    let dec = |k: &str| s.decimal(k, "").map_err(setting);
    let int = |k: &str| s.integer(k, "").map_err(setting);
    let small = |k: &str, v: Option<i64>, default: u32| -> Result<u32> {
        v.map(|n| {
            u32::try_from(n).map_err(|_| {
                SportsError::invalid(format!("bundle_config.sports.{k}"), "must be 0 or more")
            })
        })
        .transpose()
        .map(|v| v.unwrap_or(default))
    };
    let self_excluded_until_ms = match s.string("self_excluded_until", "") {
        None => None,
        Some(t) => Some(
            nt_mcp_core::dates::parse_iso_ms(&t)
                .or_else(|| nt_mcp_core::dates::parse_date(&t).map(|day| day * 86_400_000))
                .ok_or_else(|| {
                    SportsError::invalid(
                        "bundle_config.sports.self_excluded_until",
                        format!("`{t}` is not a date or ISO 8601 time"),
                    )
                })?,
        ),
    };
    Ok(RiskConfig {
        min_stake: positive("min_stake", dec("min_stake")?, d.min_stake)?,
        max_stake_per_bet: positive(
            "max_stake_per_bet",
            dec("max_stake_per_bet")?,
            d.max_stake_per_bet,
        )?,
        max_stake_per_event: positive(
            "max_stake_per_event",
            dec("max_stake_per_event")?,
            d.max_stake_per_event,
        )?,
        max_stake_per_day: positive(
            "max_stake_per_day",
            dec("max_stake_per_day")?,
            d.max_stake_per_day,
        )?,
        daily_loss_limit: positive(
            "daily_loss_limit",
            dec("daily_loss_limit")?,
            d.daily_loss_limit,
        )?,
        max_exposure_per_sport: positive(
            "max_exposure_per_sport",
            dec("max_exposure_per_sport")?,
            d.max_exposure_per_sport,
        )?,
        jurisdiction: s.string("jurisdiction", ""),
        allowed_jurisdictions: s
            .string("allowed_jurisdictions", "")
            .map(|t| {
                t.split(',')
                    .map(|j| j.trim().to_string())
                    .filter(|j| !j.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        bettor_age: int("bettor_age")?
            .map(|a| small("bettor_age", Some(a), 0))
            .transpose()?,
        minimum_age: small("minimum_age", int("minimum_age")?, d.minimum_age)?,
        require_age_verification: s
            .boolean("require_age_verification", "")
            .map_err(setting)?
            .unwrap_or(false),
        self_excluded_until_ms,
        loss_streak_limit: small(
            "loss_streak_limit",
            int("loss_streak_limit")?,
            d.loss_streak_limit,
        )?,
        breaker_cooldown_ms: s
            .duration("breaker_cooldown", "")
            .map_err(setting)?
            .map(|x| x.as_millis() as i64)
            .unwrap_or(d.breaker_cooldown_ms),
        stale_feed_ms: s
            .duration("stale_feed", "")
            .map_err(setting)?
            .map(|x| x.as_millis() as i64)
            .unwrap_or(d.stale_feed_ms),
    })
}

impl SportsBundle {
    /// Builds the bundle from its manifest table and the environment
    /// (`ODDS_API_KEY`, `BETFAIR_APP_KEY`/`BETFAIR_USERNAME`/`BETFAIR_PASSWORD`).
    pub fn new(settings: &BundleSettings) -> Result<Self> {
        for key in settings.table.keys() {
            if !SETTINGS.contains(&key.as_str()) {
                return Err(SportsError::invalid(
                    format!("bundle_config.sports.{key}"),
                    format!("unknown setting (known: {})", SETTINGS.join(", ")),
                ));
            }
        }
        let seed = settings
            .integer("seed", "NT_SPORTS_SEED")
            .map_err(setting)?
            .unwrap_or(2026) as u64;
        let env = |k: &str| std::env::var(k).ok();
        let odds_api = OddsApiConfig::resolve(
            env,
            settings.string("odds_api_base_url", "").as_deref(),
            settings.string("odds_api_regions", "").as_deref(),
        )
        .map(|cfg| {
            OddsApiClient::new(
                cfg,
                Policy {
                    min_interval: Policy::gap_per_second(2),
                    ..Policy::default()
                },
            )
            .map(Arc::new)
        })
        .transpose()?;
        let betfair = BetfairConfig::resolve(env)
            .map(|cfg| {
                BetfairClient::new(
                    cfg,
                    Policy {
                        min_interval: Policy::gap_per_second(5),
                        ..Policy::default()
                    },
                )
                .map(Arc::new)
            })
            .transpose()?;
        Ok(Self {
            sim: Arc::new(SimBook::new(seed)),
            odds_api,
            betfair,
            risk: risk_from_settings(settings)?,
        })
    }

    /// The simulated bundle with `risk` (tests and in-process callers).
    pub fn simulated(seed: u64, risk: RiskConfig) -> Self {
        Self {
            sim: Arc::new(SimBook::new(seed)),
            odds_api: None,
            betfair: None,
            risk,
        }
    }

    /// Runs the simulated book on `clock` (tests move time to see results).
    pub fn with_sim_clock(mut self, clock: Arc<dyn nt_mcp_core::clock::Clock>) -> Self {
        self.sim = Arc::new((*self.sim).clone().with_clock(clock));
        self
    }

    /// Uses `client` as The Odds API feed.
    pub fn with_odds_api(mut self, client: OddsApiClient) -> Self {
        self.odds_api = Some(Arc::new(client));
        self
    }

    /// Uses `client` as the Betfair exchange.
    pub fn with_betfair(mut self, client: BetfairClient) -> Self {
        self.betfair = Some(Arc::new(client));
        self
    }

    /// The feed `source` names (`sim`, `the-odds-api`, `betfair`), or the
    /// default: The Odds API when configured, else the simulated book.
    pub fn feed(&self, source: Option<&str>) -> Result<Arc<dyn OddsFeed>> {
        match source.map(str::trim) {
            None | Some("") => Ok(match &self.odds_api {
                Some(c) => c.clone() as Arc<dyn OddsFeed>,
                None => self.sim.clone() as Arc<dyn OddsFeed>,
            }),
            Some("sim") | Some(SIM_NAME) => Ok(self.sim.clone()),
            Some("the-odds-api") => self.odds_api.clone().map(|c| c as Arc<dyn OddsFeed>).ok_or_else(|| {
                SportsError::invalid("source", "The Odds API is not configured (set ODDS_API_KEY)")
            }),
            Some("betfair") => self.betfair.clone().map(|c| c as Arc<dyn OddsFeed>).ok_or_else(|| {
                SportsError::invalid("source", "Betfair is not configured (set BETFAIR_APP_KEY, BETFAIR_USERNAME, BETFAIR_PASSWORD)")
            }),
            Some(other) => Err(SportsError::invalid("source", format!("`{other}`: one of sim, the-odds-api, betfair"))),
        }
    }
}

impl NewBundle for SportsBundle {
    const NAME: &'static str = "sports";
    type Error = SportsError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::new(settings)
    }
}

#[async_trait]
impl ToolBundle for SportsBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, crate::tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::bets::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let mut v = vec![VenueStatus {
            name: SIM_NAME.into(),
            mode: VenueMode::Simulated,
        }];
        if self.odds_api.is_some() {
            // Live prices; bets on them go to the simulated book (paper).
            v.push(VenueStatus {
                name: crate::oddsapi::NAME.into(),
                mode: VenueMode::Paper,
            });
        }
        if self.betfair.is_some() {
            v.push(VenueStatus {
                name: crate::betfair::NAME.into(),
                mode: VenueMode::Live,
            });
        }
        v
    }
}
