//! The Odds API client, **v4** (<https://the-odds-api.com/liveapi/guides/v4/>):
//! `GET /v4/sports`, `GET /v4/sports/{sport}/odds`,
//! `GET /v4/sports/{sport}/events/{eventId}/odds` and
//! `GET /v4/sports/{sport}/scores`, authenticated by the `apiKey` query
//! parameter, prices requested as `oddsFormat=decimal`. Used when
//! `ODDS_API_KEY` is set; paced and retried through `nt-venue-http`. The
//! quota headers `x-requests-remaining` / `x-requests-used` are kept.

pub mod types;

use std::sync::Mutex;

use async_trait::async_trait;
use nt_mcp_core::dates::parse_iso_ms;
use nt_venue_http::{Answer, Policy, VenueClient};

use crate::error::{Result, SportsError};
use crate::feed::{BookOdds, Event, EventOdds, Market, OddsFeed, Outcome, Score, Sport};
use types::{ApiEvent, ApiScore, ApiSport};

/// The feed name answers report.
pub const NAME: &str = "the-odds-api";

/// Where and how to reach The Odds API.
#[derive(Debug, Clone)]
pub struct OddsApiConfig {
    /// Base URL (default `https://api.the-odds-api.com`).
    pub base_url: String,
    /// The API key.
    pub api_key: String,
    /// Regions to ask for (`uk`, `us`, `eu`, `au`; comma-separated).
    pub regions: String,
}

impl OddsApiConfig {
    /// From the environment (`ODDS_API_KEY`, `ODDS_API_BASE_URL`,
    /// `ODDS_API_REGIONS`) over the given defaults; `None` without a key.
    pub fn resolve(
        env: impl Fn(&str) -> Option<String>,
        base_url: Option<&str>,
        regions: Option<&str>,
    ) -> Option<Self> {
        let api_key = env("ODDS_API_KEY").filter(|k| !k.trim().is_empty())?;
        Some(Self {
            base_url: env("ODDS_API_BASE_URL")
                .or_else(|| base_url.map(str::to_string))
                .unwrap_or_else(|| "https://api.the-odds-api.com".into())
                .trim_end_matches('/')
                .to_string(),
            api_key,
            regions: env("ODDS_API_REGIONS")
                .or_else(|| regions.map(str::to_string))
                .unwrap_or_else(|| "uk,eu".into()),
        })
    }
}

/// The Odds API client.
#[derive(Debug)]
pub struct OddsApiClient {
    cfg: OddsApiConfig,
    http: VenueClient,
    quota: Mutex<Option<(u64, u64)>>,
}

impl OddsApiClient {
    /// A client for `cfg` with `policy`.
    pub fn new(cfg: OddsApiConfig, policy: Policy) -> Result<Self> {
        Ok(Self {
            http: VenueClient::new(NAME, policy)?,
            cfg,
            quota: Mutex::new(None),
        })
    }

    /// Requests remaining and used, from the last answer's headers.
    pub fn quota(&self) -> Option<(u64, u64)> {
        *self.quota.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Answer> {
        let url = format!("{}{path}", self.cfg.base_url);
        let mut q: Vec<(&str, String)> = vec![("apiKey", self.cfg.api_key.clone())];
        q.extend(query.iter().cloned());
        let answer = self.http.send(|c| c.get(&url).query(&q)).await?;
        let header = |k: &str| {
            answer
                .headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        if let (Some(rem), Some(used)) = (header("x-requests-remaining"), header("x-requests-used"))
        {
            *self.quota.lock().unwrap_or_else(|e| e.into_inner()) = Some((rem as u64, used as u64));
        }
        if !answer.is_success() {
            let hint = match answer.status {
                401 => " (check ODDS_API_KEY)",
                404 => " (unknown sport or event)",
                422 => " (a parameter was refused)",
                429 => " (quota or rate limit reached)",
                _ => "",
            };
            return Err(SportsError::Upstream(format!(
                "{NAME}: HTTP {}: {}{hint}",
                answer.status,
                answer.message()
            )));
        }
        Ok(answer)
    }

    fn decode<T: serde::de::DeserializeOwned>(answer: &Answer, what: &str) -> Result<T> {
        answer
            .json()
            .map_err(|e| SportsError::Upstream(format!("{NAME}: unexpected {what} JSON: {e}")))
    }
}

fn to_event_odds(e: ApiEvent) -> Result<EventOdds> {
    let commence_ms = parse_iso_ms(&e.commence_time).ok_or_else(|| {
        SportsError::Upstream(format!("{NAME}: bad commence_time `{}`", e.commence_time))
    })?;
    Ok(EventOdds {
        event: Event {
            id: e.id,
            sport: e.sport_key,
            home: e.home_team.unwrap_or_default(),
            away: e.away_team.unwrap_or_default(),
            commence_ms,
        },
        books: e
            .bookmakers
            .into_iter()
            .map(|b| BookOdds {
                last_update_ms: parse_iso_ms(&b.last_update).unwrap_or(0),
                book: b.key,
                markets: b
                    .markets
                    .into_iter()
                    .map(|m| Market {
                        key: m.key,
                        outcomes: m
                            .outcomes
                            .into_iter()
                            .map(|o| Outcome {
                                name: o.name,
                                price: o.price,
                                point: o.point,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn markets_param(markets: &[String]) -> String {
    if markets.is_empty() {
        "h2h".into()
    } else {
        markets.join(",")
    }
}

#[async_trait]
impl OddsFeed for OddsApiClient {
    fn name(&self) -> &str {
        NAME
    }

    async fn sports(&self) -> Result<Vec<Sport>> {
        let list: Vec<ApiSport> = Self::decode(&self.get("/v4/sports", &[]).await?, "sports")?;
        Ok(list
            .into_iter()
            .map(|s| Sport {
                key: s.key,
                group: s.group,
                title: s.title,
                active: s.active,
            })
            .collect())
    }

    async fn odds(&self, sport: &str, markets: &[String]) -> Result<Vec<EventOdds>> {
        let q = [
            ("regions", self.cfg.regions.clone()),
            ("markets", markets_param(markets)),
            ("oddsFormat", "decimal".to_string()),
            ("dateFormat", "iso".to_string()),
        ];
        let list: Vec<ApiEvent> = Self::decode(
            &self.get(&format!("/v4/sports/{sport}/odds"), &q).await?,
            "odds",
        )?;
        list.into_iter().map(to_event_odds).collect()
    }

    async fn event_odds(
        &self,
        sport: &str,
        event_id: &str,
        markets: &[String],
    ) -> Result<EventOdds> {
        let q = [
            ("regions", self.cfg.regions.clone()),
            ("markets", markets_param(markets)),
            ("oddsFormat", "decimal".to_string()),
            ("dateFormat", "iso".to_string()),
        ];
        let e: ApiEvent = Self::decode(
            &self
                .get(&format!("/v4/sports/{sport}/events/{event_id}/odds"), &q)
                .await?,
            "event odds",
        )?;
        to_event_odds(e)
    }

    async fn scores(&self, sport: &str) -> Result<Vec<Score>> {
        let list: Vec<ApiScore> = Self::decode(
            &self
                .get(
                    &format!("/v4/sports/{sport}/scores"),
                    &[
                        ("daysFrom", "3".to_string()),
                        ("dateFormat", "iso".to_string()),
                    ],
                )
                .await?,
            "scores",
        )?;
        Ok(list
            .into_iter()
            .map(|s| {
                let pick = |team: &Option<String>| {
                    s.scores
                        .as_ref()
                        .and_then(|v| v.iter().find(|t| Some(&t.name) == team.as_ref()))
                        .and_then(|t| t.score.trim().parse::<i64>().ok())
                };
                Score {
                    home: pick(&s.home_team),
                    away: pick(&s.away_team),
                    event_id: s.id.clone(),
                    completed: s.completed,
                }
            })
            .collect())
    }
}
