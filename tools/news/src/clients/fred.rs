//! FRED API (`https://api.stlouisfed.org/fred`, key in `api_key`):
//! `/series/observations?series_id=DGS10&file_type=json&observation_start=&observation_end=&sort_order=asc`
//! answering `{"observations":[{"realtime_start","realtime_end","date":"2026-11-27","value":"4.05"}]}`
//! with `"."` for a missing value; errors `{"error_code":400,"error_message":"..."}`.

use serde::Deserialize;

use super::Http;
use crate::error::{NewsError, Result};
use crate::rates::{Observation, Series};

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://api.stlouisfed.org";

#[derive(Deserialize)]
struct Answer {
    observations: Option<Vec<Obs>>,
    error_message: Option<String>,
}

#[derive(Deserialize)]
struct Obs {
    date: String,
    value: String,
}

/// The FRED client.
#[derive(Debug)]
pub struct Fred {
    http: Http,
    key: String,
}

impl Fred {
    /// A client at `base` with `key`.
    pub fn new(base: &str, key: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("FRED", base, 2, None)?,
            key: key.to_string(),
        })
    }

    /// Observations of `id` between the dates (`YYYY-MM-DD`, inclusive).
    pub async fn series(&self, id: &str, start: Option<&str>, end: Option<&str>) -> Result<Series> {
        let mut q = vec![
            ("series_id", id.to_string()),
            ("file_type", "json".to_string()),
            ("sort_order", "asc".to_string()),
            ("api_key", self.key.clone()),
        ];
        if let Some(s) = start {
            q.push(("observation_start", s.to_string()));
        }
        if let Some(e) = end {
            q.push(("observation_end", e.to_string()));
        }
        let a: Answer = self
            .http
            .get_json("/fred/series/observations", &q, &[])
            .await?;
        let Some(obs) = a.observations else {
            return Err(NewsError::upstream(
                "FRED",
                a.error_message.unwrap_or_else(|| "no observations".into()),
            ));
        };
        Ok(Series {
            id: id.to_string(),
            provider: "fred".into(),
            label: None,
            observations: obs
                .into_iter()
                .map(|o| Observation {
                    value: o.value.trim().parse().ok(),
                    date: o.date,
                })
                .collect(),
        })
    }
}
