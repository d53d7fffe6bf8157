//! The `strategies` and `risk` bundles (the maths is in `nt-quant`).
//!
//! - [`StrategiesBundle`] (`strategies`): `strategy_list`, `market_bars`,
//!   `backtest_run`, `pairs_backtest`, `strategy_compare`,
//!   `strategy_optimize`, `portfolio_weights`, `portfolio_rebalance`,
//!   `execution_schedule`, `attribution`, `performance_report`.
//! - [`RiskBundle`] (`risk`): `risk_var`, `risk_stress_test`,
//!   `risk_adaptive`, `risk_kill_check`, and rates: `bond_analytics`,
//!   `curve_fit`, `curve_signal`.
//! - [`market`]: where bars come from (synthetic default, CSV, Stooq);
//!   [`error`]: settings errors and how quant errors reach the agent.
//! - Handlers by family in `tools/` (backtest, optimize, portfolio, monitor,
//!   risk, rates).

pub mod error;
pub mod market;
mod tools;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use nt_mcp_core::bundle::{ResourceSpec, ResourceText, VenueMode, VenueStatus};
use nt_mcp_core::{BundleSettings, NewBundle, ToolBundle, ToolCtx, ToolError, ToolRouter};
use nt_quant::risk::adaptive::KillRule;

pub use error::BundleError;
use market::Market;

fn check_keys(settings: &BundleSettings, bundle: &str, known: &[&str]) -> Result<(), BundleError> {
    for key in settings.table.keys() {
        if !known.contains(&key.as_str()) {
            return Err(BundleError::Setting {
                field: format!("bundle_config.{bundle}.{key}"),
                rule: format!("unknown setting (known: {})", known.join(", ")),
            });
        }
    }
    Ok(())
}

fn data_venues(market: &Market) -> Vec<VenueStatus> {
    let mut v = vec![VenueStatus {
        name: "synthetic".into(),
        mode: VenueMode::Simulated,
    }];
    if market.has_stooq() {
        v.push(VenueStatus {
            name: "stooq".into(),
            mode: VenueMode::Live,
        });
    }
    v
}

/// The URI of the resource holding the caller's latest chart.
pub const LATEST_CHART_URI: &str = "quant://chart/latest";

/// The `strategies` bundle.
#[derive(Debug)]
pub struct StrategiesBundle {
    pub(crate) market: Market,
    /// Each caller's latest chart (SVG), readable as [`LATEST_CHART_URI`].
    pub(crate) charts: Mutex<HashMap<String, String>>,
}

impl StrategiesBundle {
    /// Keeps `svg` as `caller`'s latest chart (at most 1000 callers kept).
    pub(crate) fn keep_chart(&self, caller: &str, svg: &str) {
        let mut charts = self.charts.lock().unwrap_or_else(|p| p.into_inner());
        if charts.len() >= 1000 && !charts.contains_key(caller) {
            charts.clear();
        }
        charts.insert(caller.to_string(), svg.to_string());
    }
}

impl NewBundle for StrategiesBundle {
    const NAME: &'static str = "strategies";
    type Error = BundleError;

    /// Settings: `csv_dir` (env `NT_QUANT_CSV_DIR`): the folder `source: csv`
    /// reads `<symbol>.csv` or `<symbol>.parquet` from; Stooq from `STOOQ_*`
    /// environment variables.
    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        check_keys(settings, Self::NAME, &["csv_dir"])?;
        Ok(Self {
            market: Market::from_settings(settings, Self::NAME)?,
            charts: Mutex::default(),
        })
    }
}

#[async_trait]
impl ToolBundle for StrategiesBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, tools::strategies_routes())
    }

    fn venues(&self) -> Vec<VenueStatus> {
        data_venues(&self.market)
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        vec![ResourceSpec {
            uri: LATEST_CHART_URI.into(),
            name: "latest-chart".into(),
            description: "Your latest performance_report chart (equity over drawdown) as SVG."
                .into(),
            mime_type: "image/svg+xml".into(),
        }]
    }

    async fn read_resource(&self, uri: &str, ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        if uri != LATEST_CHART_URI {
            return Err(ToolError::not_found(format!("no resource {uri}")));
        }
        let charts = self.charts.lock().unwrap_or_else(|p| p.into_inner());
        let svg = charts
            .get(&ctx.caller.id)
            .cloned()
            .ok_or_else(|| ToolError::not_found("no chart yet: call performance_report first"))?;
        Ok(ResourceText {
            mime_type: "image/svg+xml".into(),
            text: svg,
        })
    }
}

/// The `risk` bundle.
#[derive(Debug)]
pub struct RiskBundle {
    pub(crate) market: Market,
    pub(crate) kill_rule: KillRule,
}

impl RiskBundle {
    /// The configured kill rule: `kill_max_drawdown`, `kill_max_period_loss`,
    /// `kill_max_consecutive_losses` under `[bundle_config.risk]` (env
    /// `NT_KILL_MAX_DRAWDOWN`, `NT_KILL_MAX_PERIOD_LOSS`,
    /// `NT_KILL_MAX_CONSECUTIVE_LOSSES`), defaults 20%, 7%, off. The brokers
    /// bundle's pre-trade compliance reads the same `NT_KILL_*` variables (or
    /// its own `[bundle_config.brokers] kill_*`) and refuses paper orders
    /// that add risk once the account trips the rule.
    pub fn kill_rule_from(settings: &BundleSettings) -> Result<KillRule, BundleError> {
        let bad = |e: nt_mcp_core::SettingError| BundleError::Setting {
            field: format!("bundle_config.risk.{}", e.key),
            rule: e.reason,
        };
        let mut rule = KillRule::default();
        if let Some(d) = settings
            .decimal("kill_max_drawdown", "NT_KILL_MAX_DRAWDOWN")
            .map_err(bad)?
        {
            rule.max_drawdown = d.try_into().unwrap_or(f64::NAN);
        }
        if let Some(d) = settings
            .decimal("kill_max_period_loss", "NT_KILL_MAX_PERIOD_LOSS")
            .map_err(bad)?
        {
            rule.max_period_loss = d.try_into().unwrap_or(f64::NAN);
        }
        if let Some(n) = settings
            .integer(
                "kill_max_consecutive_losses",
                "NT_KILL_MAX_CONSECUTIVE_LOSSES",
            )
            .map_err(bad)?
        {
            rule.max_consecutive_losses = u32::try_from(n).map_err(|_| BundleError::Setting {
                field: "bundle_config.risk.kill_max_consecutive_losses".into(),
                rule: "must be 0 or more".into(),
            })?;
        }
        rule.check().map_err(|e| BundleError::Setting {
            field: "bundle_config.risk.kill_*".into(),
            rule: e.to_string(),
        })?;
        Ok(rule)
    }
}

impl NewBundle for RiskBundle {
    const NAME: &'static str = "risk";
    type Error = BundleError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        check_keys(
            settings,
            Self::NAME,
            &[
                "csv_dir",
                "kill_max_drawdown",
                "kill_max_period_loss",
                "kill_max_consecutive_losses",
            ],
        )?;
        Ok(Self {
            market: Market::from_settings(settings, Self::NAME)?,
            kill_rule: Self::kill_rule_from(settings)?,
        })
    }
}

#[async_trait]
impl ToolBundle for RiskBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        let mut routes = tools::risk::routes();
        routes.extend(tools::rates::routes());
        ToolRouter::new(self, routes)
    }

    fn venues(&self) -> Vec<VenueStatus> {
        data_venues(&self.market)
    }
}

#[cfg(test)]
mod tests;
