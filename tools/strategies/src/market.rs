//! Where the bundles get bars: the seeded synthetic market (default),
//! `<csv_dir>/<SYMBOL>.csv` or `<csv_dir>/<SYMBOL>.parquet` files, inline CSV text, Stooq's daily CSV, or
//! Alpha Vantage's daily series (key).
//! Every answer built on bars names their source.

use std::path::PathBuf;

use nt_mcp_core::{BundleSettings, ToolError};
use nt_quant::bars::{BarSeries, parse_day};
use nt_quant::data::alphavantage::{AlphaVantageClient, AlphaVantageConfig};
use nt_quant::data::csv::{CsvFileProvider, parse_csv};
use nt_quant::data::stooq::{StooqClient, StooqConfig};
use nt_quant::data::synthetic::{SyntheticParams, SyntheticProvider};
use nt_quant::data::{BarProvider, BarRequest};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{BundleError, tool_error, under};

/// Where bars come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The seeded synthetic market (GBM with jumps and volatility regimes): offline, reproducible.
    #[default]
    Synthetic,
    /// `<csv_dir>/<symbol>.csv` or `<csv_dir>/<symbol>.parquet` on the server (csv_dir set by the operator; Parquet: date/timestamp, open, high, low, close, optional volume columns), or the inline `csv` text.
    Csv,
    /// Stooq daily bars over the internet (`aapl.us`, `^spx`); sends STOOQ_API_KEY when set.
    Stooq,
    /// Alpha Vantage daily bars (`IBM`, `TSCO.LON`); needs ALPHAVANTAGE_API_KEY on the server.
    Alphavantage,
}

/// Which bars to use.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataInput {
    /// Source of the bars (default `synthetic`).
    #[serde(default)]
    pub source: Source,
    /// Symbol (default `SYN`; Stooq spelling for `stooq`, the file name without `.csv`/`.parquet` for `csv`).
    #[serde(default)]
    pub symbol: Option<String>,
    /// Synthetic market settings (seed, bars, drift, volatilities, jumps, start date).
    #[serde(default)]
    pub synthetic: Option<SyntheticParams>,
    /// CSV text with a header row naming Date and Close (Open, High, Low, Volume optional); used instead of a file.
    #[serde(default)]
    pub csv: Option<String>,
    /// First date, `YYYY-MM-DD`.
    #[serde(default)]
    pub start: Option<String>,
    /// Last date, `YYYY-MM-DD`.
    #[serde(default)]
    pub end: Option<String>,
}

/// The data sources the bundles use.
#[derive(Debug, Default)]
pub struct Market {
    csv_dir: Option<PathBuf>,
    stooq: Option<StooqClient>,
    stooq_error: Option<String>,
    alphavantage: Option<AlphaVantageClient>,
    alphavantage_error: Option<String>,
}

impl Market {
    /// From the bundle's settings: `csv_dir` (env `NT_QUANT_CSV_DIR`) and the
    /// Stooq environment (`STOOQ_BASE_URL`, `STOOQ_API_KEY`,
    /// `STOOQ_REQUESTS_PER_MINUTE`).
    pub fn from_settings(settings: &BundleSettings, bundle: &str) -> Result<Self, BundleError> {
        let csv_dir = settings
            .string("csv_dir", "NT_QUANT_CSV_DIR")
            .map(PathBuf::from);
        if let Some(d) = &csv_dir
            && !d.is_dir()
        {
            return Err(BundleError::Setting {
                field: format!("bundle_config.{bundle}.csv_dir"),
                rule: format!("{} is not a folder", d.display()),
            });
        }
        let (stooq, stooq_error) =
            match StooqConfig::resolve(|k| std::env::var(k).ok()).and_then(StooqClient::new) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.to_string())),
            };
        let (alphavantage, alphavantage_error) =
            match AlphaVantageConfig::resolve(|k| std::env::var(k).ok()) {
                Ok(Some(cfg)) => match AlphaVantageClient::new(cfg) {
                    Ok(c) => (Some(c), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                Ok(None) => (
                    None,
                    Some("set ALPHAVANTAGE_API_KEY on the server".to_string()),
                ),
                Err(e) => (None, Some(e.to_string())),
            };
        Ok(Self {
            csv_dir,
            stooq,
            stooq_error,
            alphavantage,
            alphavantage_error,
        })
    }

    /// Whether the Stooq client could be built.
    pub fn has_stooq(&self) -> bool {
        self.stooq.is_some()
    }

    /// Whether an Alpha Vantage key is configured.
    pub fn has_alphavantage(&self) -> bool {
        self.alphavantage.is_some()
    }

    /// The bars `input` asks for.
    pub async fn bars(&self, input: &DataInput, field: &str) -> Result<BarSeries, ToolError> {
        let day = |v: &Option<String>, name: &str| -> Result<Option<i64>, ToolError> {
            v.as_deref()
                .map(|t| {
                    parse_day(t).ok_or_else(|| {
                        ToolError::invalid(format!("{field}.{name}"), "must be YYYY-MM-DD")
                    })
                })
                .transpose()
        };
        let (from, to) = (day(&input.start, "start")?, day(&input.end, "end")?);
        let symbol = input.symbol.clone().unwrap_or_else(|| "SYN".into());
        let req = BarRequest {
            symbol: symbol.clone(),
            from,
            to,
        };
        let series = match input.source {
            Source::Synthetic => {
                // The provider mixes the symbol into the seed: one seed gives
                // each symbol its own (reproducible) path.
                let params = input.synthetic.clone().unwrap_or_default();
                SyntheticProvider { params }.bars(&req).await.map_err(|e| under(e, "synthetic"))
            }
            Source::Csv => match (&input.csv, &self.csv_dir) {
                (Some(text), _) => parse_csv(&symbol, "csv:inline", text).map(|s| s.between(from, to)),
                (None, Some(dir)) => CsvFileProvider { dir: dir.clone() }.bars(&req).await,
                (None, None) => {
                    return Err(ToolError::invalid(format!("{field}.csv"), "give the CSV text, or ask the operator to set bundle_config csv_dir (NT_QUANT_CSV_DIR) to read .csv or .parquet files"));
                }
            },
            Source::Stooq => match &self.stooq {
                Some(c) => c.bars(&req).await,
                None => return Err(ToolError::refused(format!("stooq is not configured: {}", self.stooq_error.clone().unwrap_or_default()))),
            },
            Source::Alphavantage => match &self.alphavantage {
                Some(c) => c.bars(&req).await,
                None => {
                    return Err(ToolError::refused(format!(
                        "alphavantage is not configured: {}",
                        self.alphavantage_error.clone().unwrap_or_default()
                    )));
                }
            },
        }
        .map_err(|e| tool_error(under(e, field)))?;
        if series.is_empty() {
            return Err(ToolError::refused(format!(
                "{} has no bars in that date range",
                series.source
            )));
        }
        Ok(series)
    }
}
