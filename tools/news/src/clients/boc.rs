//! Bank of Canada Valet API (keyless): `/valet/observations/<series>/json`
//! with `start_date`/`end_date` (`YYYY-MM-DD`) or `recent=n`, answering
//! `{"seriesDetail":{"FXUSDCAD":{"label":"USD/CAD","description":"..."}},
//! "observations":[{"d":"2026-11-27","FXUSDCAD":{"v":"1.4012"}}]}`; an
//! unknown series is a 404 with `{"message":"Series ... not found."}`.
//! FX series such as `FXUSDCAD` are what the brokers' tax FX table needs.

use serde_json::Value;

use super::Http;
use crate::error::{NewsError, Result};
use crate::rates::{Observation, Series};

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://www.bankofcanada.ca";

/// The Valet client.
#[derive(Debug)]
pub struct Valet {
    http: Http,
}

impl Valet {
    /// A client at `base`.
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("Bank of Canada Valet", base, 2, None)?,
        })
    }

    /// Observations of `id` between the dates, or the `recent` latest.
    pub async fn series(
        &self,
        id: &str,
        start: Option<&str>,
        end: Option<&str>,
        recent: Option<u32>,
    ) -> Result<Series> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(NewsError::invalid(
                "series",
                "a Valet series name such as FXUSDCAD",
            ));
        }
        let mut q = Vec::new();
        if let Some(s) = start {
            q.push(("start_date", s.to_string()));
        }
        if let Some(e) = end {
            q.push(("end_date", e.to_string()));
        }
        if let (None, None, Some(n)) = (start, end, recent) {
            q.push(("recent", n.to_string()));
        }
        let v: Value = self
            .http
            .get_json(&format!("/valet/observations/{id}/json"), &q, &[])
            .await?;
        let obs = v
            .get("observations")
            .and_then(Value::as_array)
            .ok_or_else(|| NewsError::parse("Bank of Canada Valet", "no `observations`"))?;
        let label = v
            .pointer(&format!("/seriesDetail/{id}/label"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Series {
            id: id.to_string(),
            provider: "bank-of-canada".into(),
            label,
            observations: obs
                .iter()
                .filter_map(|o| {
                    Some(Observation {
                        date: o.get("d")?.as_str()?.to_string(),
                        value: o
                            .pointer(&format!("/{id}/v"))
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse().ok()),
                    })
                })
                .collect(),
        })
    }
}
