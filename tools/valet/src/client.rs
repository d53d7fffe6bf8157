//! [`Valet`]: `GET /valet/observations/<series>/json` and
//! `GET /valet/observations/group/<group>/json`, with `start_date` /
//! `end_date` (`YYYY-MM-DD`) or `recent=n`. The Bank answers
//! `{"seriesDetail":{"FXUSDCAD":{"label":"USD/CAD",...}},
//! "observations":[{"d":"2026-11-27","FXUSDCAD":{"v":"1.4012"}}]}`; a group
//! answer carries one key per member series in each observation. An unknown
//! series is a 404 with `{"message":"Series ... not found."}`.

use std::time::Duration;

use nt_venue_http::{Policy, VenueClient, reqwest, venue_message};
use serde_json::Value;

use crate::error::{Result, ValetError};

/// The Bank's API host.
pub const DEFAULT_BASE: &str = "https://www.bankofcanada.ca";

/// One dated value, as the Bank wrote it (decimal text, so nothing is
/// lost before the caller picks `f64` or a decimal type); `None` where the
/// Bank published no value that day.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Day, `YYYY-MM-DD`.
    pub date: String,
    /// The value's text.
    pub value: Option<String>,
}

/// A series' observations, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Series name (`FXUSDCAD`).
    pub id: String,
    /// The Bank's label (`USD/CAD`).
    pub label: Option<String>,
    /// Observations, oldest first.
    pub observations: Vec<Observation>,
}

/// Which observations to ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// First day, `YYYY-MM-DD`.
    pub start: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub end: Option<String>,
    /// The latest `n` observations (only when no date is given).
    pub recent: Option<u32>,
}

/// The Valet client.
#[derive(Debug)]
pub struct Valet {
    base: String,
    http: VenueClient,
}

/// Whether `s` is a `YYYY-MM-DD` day.
fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Checks a series or group name: letters, digits, `.`, `_`, `-`.
fn check_name(field: &'static str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ValetError::invalid(
            field,
            format!("`{name}` is not a Valet name (such as FXUSDCAD or FX_RATES_DAILY)"),
        ));
    }
    Ok(())
}

impl Window {
    /// The query parameters, after checking the dates.
    fn query(&self) -> Result<Vec<(&'static str, String)>> {
        let mut q = Vec::new();
        for (field, key, day) in [
            ("start", "start_date", &self.start),
            ("end", "end_date", &self.end),
        ] {
            if let Some(d) = day {
                if !is_day(d) {
                    return Err(ValetError::invalid(field, "must be a day YYYY-MM-DD"));
                }
                q.push((key, d.clone()));
            }
        }
        if let (Some(s), Some(e)) = (&self.start, &self.end)
            && s > e
        {
            return Err(ValetError::invalid("start", "must not be after end"));
        }
        if q.is_empty()
            && let Some(n) = self.recent
        {
            q.push(("recent", n.max(1).to_string()));
        }
        Ok(q)
    }
}

impl Valet {
    /// A client at `base` (the Bank's host, or a fake in tests), at most two
    /// requests a second.
    pub fn new(base: &str) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ValetError::Config(format!(
                "base URL `{base}` must start with http:// or https://"
            )));
        }
        let policy = Policy {
            min_interval: Policy::gap_per_second(2),
            attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(20),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        };
        let http = VenueClient::new("Bank of Canada Valet", policy)?;
        Ok(Self { base, http })
    }

    /// Replaces the retry and breaker policy (tests shorten it).
    pub fn set_policy(&mut self, policy: Policy) {
        self.http.set_policy(policy);
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The observations of one series.
    pub async fn series(&self, id: &str, window: &Window) -> Result<Series> {
        check_name("series", id)?;
        let v = self
            .get(&format!("/valet/observations/{id}/json"), window)
            .await?;
        let mut all = parse(&v, &[id.to_string()])?;
        Ok(all.remove(0))
    }

    /// The observations of every series in a group (`FX_RATES_DAILY`), in
    /// one request.
    pub async fn group(&self, group: &str, window: &Window) -> Result<Vec<Series>> {
        check_name("group", group)?;
        let v = self
            .get(&format!("/valet/observations/group/{group}/json"), window)
            .await?;
        let ids: Vec<String> = v
            .get("seriesDetail")
            .and_then(Value::as_object)
            .ok_or_else(|| ValetError::Parse("no `seriesDetail`".into()))?
            .keys()
            .cloned()
            .collect();
        parse(&v, &ids)
    }

    async fn get(&self, path: &str, window: &Window) -> Result<Value> {
        let query = window.query()?;
        let raw = format!("{}{path}", self.base);
        let url = if query.is_empty() {
            reqwest::Url::parse(&raw)
        } else {
            reqwest::Url::parse_with_params(&raw, &query)
        }
        .map_err(|e| ValetError::Config(format!("URL: {e}")))?;
        let answer = self.http.send(|c| c.get(url.clone())).await?;
        if !answer.is_success() {
            return Err(ValetError::Upstream {
                status: answer.status,
                message: venue_message(&answer.body),
            });
        }
        answer
            .json()
            .map_err(|e| ValetError::Parse(format!("not JSON: {e}")))
    }
}

/// The series `ids` out of a Valet answer, observations oldest first.
fn parse(v: &Value, ids: &[String]) -> Result<Vec<Series>> {
    let obs = v
        .get("observations")
        .and_then(Value::as_array)
        .ok_or_else(|| ValetError::Parse("no `observations`".into()))?;
    let mut out: Vec<Series> = ids
        .iter()
        .map(|id| Series {
            id: id.clone(),
            label: v
                .get("seriesDetail")
                .and_then(|d| d.get(id))
                .and_then(|d| d.get("label"))
                .and_then(Value::as_str)
                .map(str::to_string),
            observations: Vec::with_capacity(obs.len()),
        })
        .collect();
    for o in obs {
        let Some(date) = o.get("d").and_then(Value::as_str) else {
            return Err(ValetError::Parse("an observation without `d`".into()));
        };
        if !is_day(date) {
            return Err(ValetError::Parse(format!("observation day `{date}`")));
        }
        for s in &mut out {
            // A member with no key that day published nothing: no row.
            let Some(cell) = o.get(&s.id) else { continue };
            let value = cell
                .get("v")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            s.observations.push(Observation {
                date: date.to_string(),
                value,
            });
        }
    }
    for s in &mut out {
        s.observations.sort_by(|a, b| a.date.cmp(&b.date));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_names_are_checked() {
        assert!(is_day("2026-11-27"));
        assert!(!is_day("2026-11-7"));
        assert!(!is_day("2026/11/27"));
        assert!(check_name("series", "FXUSDCAD").is_ok());
        assert!(check_name("series", "FX USD").is_err());
        assert!(check_name("series", "../x").is_err());
        let w = Window {
            start: Some("2026-11-30".into()),
            end: Some("2026-11-01".into()),
            recent: None,
        };
        assert!(w.query().is_err());
        let w = Window {
            recent: Some(5),
            ..Window::default()
        };
        assert_eq!(w.query().unwrap(), vec![("recent", "5".to_string())]);
    }

    #[test]
    fn a_group_answer_splits_into_series_and_keeps_gaps() {
        let v: Value = serde_json::from_str(
            r#"{"seriesDetail":{"FXUSDCAD":{"label":"USD/CAD"},"FXEURCAD":{"label":"EUR/CAD"}},
                "observations":[
                  {"d":"2026-11-27","FXUSDCAD":{"v":"1.4012"},"FXEURCAD":{"v":"1.4550"}},
                  {"d":"2026-11-26","FXUSDCAD":{"v":"1.4020"},"FXEURCAD":{"v":""}}]}"#,
        )
        .unwrap();
        let s = parse(&v, &["FXUSDCAD".into(), "FXEURCAD".into()]).unwrap();
        assert_eq!(s[0].label.as_deref(), Some("USD/CAD"));
        assert_eq!(s[0].observations[0].date, "2026-11-26");
        assert_eq!(s[0].observations[1].value.as_deref(), Some("1.4012"));
        assert_eq!(s[1].observations[0].value, None);
        assert!(parse(&serde_json::json!({}), &[]).is_err());
    }
}
