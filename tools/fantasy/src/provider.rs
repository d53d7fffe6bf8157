//! A real stats provider: the BALLDONTLIE NBA API.
//!
//! Documentation: <https://docs.balldontlie.io> (NBA API: authentication,
//! cursor pagination, errors, "Get All Stats") and its OpenAPI file
//! <https://www.balldontlie.io/openapi/nba.yml>. What this client relies on:
//!
//! - every request carries the key in the header `Authorization: YOUR_API_KEY`;
//! - `GET /v1/stats` with `dates[]=YYYY-MM-DD` (repeatable), `per_page`
//!   (at most 100) and `cursor`, answering
//!   `{"data": [...], "meta": {"next_cursor": 90, "per_page": 25}}`; the last
//!   page has no `next_cursor`;
//! - each stat row has `min` (a string such as `"36:47"`), `fgm`, `fga`,
//!   `fg3m`, `fg3a`, `ftm`, `fta`, `oreb`, `dreb`, `reb`, `ast`, `stl`,
//!   `blk`, `turnover`, `pf`, `pts`, and the nested `player` (`id`,
//!   `first_name`, `last_name`, `position`), `team` (`id`, `abbreviation`)
//!   and `game` (`id`, `date`, `season`, `home_team_id`, `visitor_team_id`);
//! - errors are HTTP 400/401/404/406/429/500/503, with a JSON body
//!   `{"error": "..."}` (the OpenAPI `Error` schema);
//! - rate limits per key: 30 requests/min (free), 600 (ALL-STAR), 6000 (GOAT).
//!
//! The client spaces requests to the configured rate, retries 429 and 5xx
//! answers (and connection failures) with exponential backoff, honouring
//! `Retry-After`, and reports the provider's own message otherwise.

use std::collections::BTreeMap;
use std::time::Duration;

use nt_venue_http::{Policy, VenueClient};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::data::{StatsProvider, StatsQuery};
use crate::error::{FantasyError, Result};
use crate::model::{GameStat, Player, PlayerStatus, Sport, StatLine};
use crate::stats::ImportBatch;

/// Default API root.
pub const BALLDONTLIE_BASE_URL: &str = "https://api.balldontlie.io";
/// Environment variable holding the API key; the provider is used when it is set.
pub const BALLDONTLIE_API_KEY_ENV: &str = "BALLDONTLIE_API_KEY";
/// Environment variable overriding the API root.
pub const BALLDONTLIE_BASE_URL_ENV: &str = "BALLDONTLIE_BASE_URL";
/// Environment variable overriding the request rate (requests per minute).
pub const BALLDONTLIE_RPM_ENV: &str = "BALLDONTLIE_REQUESTS_PER_MINUTE";

/// Most dates one import may ask for.
pub const MAX_DATES: usize = 14;
/// Most pages one import follows.
const MAX_PAGES: usize = 500;

/// How to reach BALLDONTLIE.
#[derive(Clone)]
pub struct BallDontLieConfig {
    /// API key (sent as the `Authorization` header).
    pub api_key: String,
    /// API root, without a trailing slash (`https://api.balldontlie.io`).
    pub base_url: String,
    /// Requests per minute the client allows itself (the key's tier limit).
    pub requests_per_minute: u32,
    /// Retries of a 429/5xx answer or a failed connection.
    pub max_retries: u32,
    /// First backoff delay; doubles on each retry (capped at 30 s).
    pub backoff: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl std::fmt::Debug for BallDontLieConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BallDontLieConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BallDontLieConfig {
    /// A configuration with the documented defaults: the public API root,
    /// 30 requests/min (the free tier), 4 retries from 500 ms, 30 s timeout.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            base_url: BALLDONTLIE_BASE_URL.to_string(),
            requests_per_minute: 30,
            max_retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
        }
    }

    /// Resolves the configuration: `None` unless `BALLDONTLIE_API_KEY` is
    /// set. The base URL and rate come from the environment
    /// (`BALLDONTLIE_BASE_URL`, `BALLDONTLIE_REQUESTS_PER_MINUTE`), else from
    /// the manifest values given here, else the defaults. `env` looks a
    /// variable up (`std::env::var` in the server).
    pub fn resolve(
        env: impl Fn(&str) -> Option<String>,
        base_url: Option<&str>,
        requests_per_minute: Option<u32>,
    ) -> Result<Option<Self>> {
        let Some(key) = env(BALLDONTLIE_API_KEY_ENV).filter(|k| !k.trim().is_empty()) else {
            return Ok(None);
        };
        let mut cfg = Self::new(key.trim());
        let (base, base_field) = match env(BALLDONTLIE_BASE_URL_ENV).filter(|u| !u.is_empty()) {
            Some(u) => (Some(u), BALLDONTLIE_BASE_URL_ENV.to_string()),
            None => (
                base_url.map(str::to_string),
                "bundle_config.fantasy.balldontlie_base_url".to_string(),
            ),
        };
        if let Some(base) = base {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(FantasyError::invalid(
                    base_field,
                    format!("`{base}` must start with http:// or https://"),
                ));
            }
            cfg.base_url = base.trim_end_matches('/').to_string();
        }
        let rpm = match env(BALLDONTLIE_RPM_ENV) {
            Some(v) => Some(v.trim().parse::<u32>().map_err(|_| {
                FantasyError::invalid(BALLDONTLIE_RPM_ENV, format!("`{v}` is not a whole number"))
            })?),
            None => requests_per_minute,
        };
        if let Some(rpm) = rpm {
            if !(1..=60_000).contains(&rpm) {
                return Err(FantasyError::invalid(
                    "balldontlie_requests_per_minute",
                    "must be 1..=60000",
                ));
            }
            cfg.requests_per_minute = rpm;
        }
        Ok(Some(cfg))
    }
}

/// The BALLDONTLIE NBA stats client.
#[derive(Debug)]
pub struct BallDontLie {
    config: BallDontLieConfig,
    http: VenueClient,
}

impl BallDontLie {
    /// Builds the client.
    pub fn new(config: BallDontLieConfig) -> Result<Self> {
        let policy = Policy {
            min_interval: Policy::gap_per_minute(config.requests_per_minute.max(1)),
            attempts: config.max_retries.saturating_add(1),
            base_backoff: config.backoff,
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            // A provider that keeps failing is left alone for a while
            // rather than hammered by every import.
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            timeout: config.timeout,
        };
        let http = VenueClient::new("balldontlie", policy)
            .map_err(|e| FantasyError::Upstream(e.to_string()))?;
        Ok(Self { config, http })
    }

    /// The configuration in use.
    pub fn config(&self) -> &BallDontLieConfig {
        &self.config
    }

    /// One GET with retries; returns the body of a 2xx answer.
    async fn get(&self, path: &str, query: &[(String, String)]) -> Result<String> {
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let url = if qs.is_empty() {
            format!("{}{path}", self.config.base_url)
        } else {
            format!("{}{path}?{}", self.config.base_url, qs.join("&"))
        };
        let answer = self
            .http
            .send(|h| {
                h.get(&url)
                    .header("Authorization", self.config.api_key.as_str())
            })
            .await
            .map_err(|e| FantasyError::Upstream(format!("{e} (on {path})")))?;
        if answer.is_success() {
            return Ok(answer.text());
        }
        let message = format!(
            "balldontlie answered {} on {path}: {}",
            answer.status,
            answer.message()
        );
        let gave_up = answer.status == 429 || answer.status >= 500;
        let tries = self.http.policy().attempts;
        Err(FantasyError::Upstream(if gave_up {
            format!(
                "{message} (gave up after {tries} tr{})",
                if tries == 1 { "y" } else { "ies" }
            )
        } else {
            message
        }))
    }

    /// Every stat row for the given dates (all pages).
    async fn stats_for_dates(&self, dates: &[String]) -> Result<Vec<BdlStat>> {
        let mut rows = Vec::new();
        let mut cursor: Option<i64> = None;
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(String, String)> = dates
                .iter()
                .map(|d| ("dates[]".to_string(), d.clone()))
                .collect();
            query.push(("per_page".into(), "100".into()));
            if let Some(c) = cursor {
                query.push(("cursor".into(), c.to_string()));
            }
            let body = self.get("/v1/stats", &query).await?;
            let page: BdlPage = serde_json::from_str(&body).map_err(|e| {
                FantasyError::Upstream(format!("balldontlie: unexpected /v1/stats answer: {e}"))
            })?;
            let empty = page.data.is_empty();
            rows.extend(page.data);
            match page.meta.and_then(|m| m.next_cursor) {
                Some(next) if !empty && Some(next) != cursor => cursor = Some(next),
                _ => return Ok(rows),
            }
        }
        Err(FantasyError::Upstream(format!(
            "balldontlie: more than {MAX_PAGES} pages of stats; ask for fewer dates"
        )))
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Deserialize)]
struct BdlPage {
    #[serde(default)]
    data: Vec<BdlStat>,
    meta: Option<BdlMeta>,
}

#[derive(Debug, Deserialize)]
struct BdlMeta {
    next_cursor: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct BdlStat {
    min: Option<serde_json::Value>,
    fgm: Option<Decimal>,
    fga: Option<Decimal>,
    fg3m: Option<Decimal>,
    ftm: Option<Decimal>,
    fta: Option<Decimal>,
    reb: Option<Decimal>,
    ast: Option<Decimal>,
    stl: Option<Decimal>,
    blk: Option<Decimal>,
    turnover: Option<Decimal>,
    pts: Option<Decimal>,
    player: BdlPlayer,
    team: BdlTeam,
    game: BdlGame,
}

#[derive(Debug, Deserialize)]
struct BdlPlayer {
    id: i64,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    position: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BdlTeam {
    id: i64,
    abbreviation: String,
}

#[derive(Debug, Deserialize)]
struct BdlGame {
    id: i64,
    date: Option<String>,
    season: i64,
    home_team_id: i64,
    visitor_team_id: i64,
}

/// Minutes played from `"36:47"`, `"36"` or a number; `None` when absent.
fn minutes(value: &serde_json::Value) -> Option<Decimal> {
    match value {
        serde_json::Value::Number(n) => n.to_string().parse().ok(),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            match s.split_once(':') {
                Some((m, sec)) => {
                    let m: Decimal = m.trim().parse().ok()?;
                    let sec: Decimal = sec.trim().parse().ok()?;
                    Some((m + sec / Decimal::from(60)).round_dp(2))
                }
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}

/// Our NBA positions for BALLDONTLIE's `G`, `F`, `C`, `G-F`, `F-C`, ...
fn positions(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in raw.split(['-', '/']) {
        let ours: &[&str] = match part.trim().to_ascii_uppercase().as_str() {
            "G" => &["PG", "SG"],
            "F" => &["SF", "PF"],
            "C" => &["C"],
            p @ ("PG" | "SG" | "SF" | "PF") => {
                if !out.iter().any(|o| o == p) {
                    out.push(p.to_string());
                }
                &[]
            }
            _ => &[],
        };
        for p in ours {
            if !out.iter().any(|o| o == p) {
                out.push((*p).to_string());
            }
        }
    }
    out
}

/// Our player id for a BALLDONTLIE player id.
pub fn player_id(bdl_id: i64) -> String {
    format!("nba-bdl-{bdl_id}")
}

/// Maps stat rows to one line per player for fantasy week `week`: the
/// player's games on the asked dates are summed; rows without minutes
/// (did not play) are left out; players without a position are reported in
/// `notes` and left out.
fn to_batch(rows: Vec<BdlStat>, week: i64) -> ImportBatch {
    let mut abbr: BTreeMap<i64, String> = BTreeMap::new();
    for r in &rows {
        abbr.insert(r.team.id, r.team.abbreviation.to_ascii_uppercase());
    }
    let mut players: BTreeMap<String, Player> = BTreeMap::new();
    // (player, season) -> (first game date, line, opponent)
    let mut lines: BTreeMap<(String, i64), (String, StatLine, Option<String>)> = BTreeMap::new();
    let mut notes = Vec::new();
    let mut rows = rows;
    rows.sort_by(|a, b| {
        (a.game.date.as_deref(), a.game.id).cmp(&(b.game.date.as_deref(), b.game.id))
    });
    for r in rows {
        let Some(min) = r
            .min
            .as_ref()
            .and_then(minutes)
            .filter(|m| *m > Decimal::ZERO)
        else {
            continue;
        };
        let id = player_id(r.player.id);
        let name = format!(
            "{} {}",
            r.player.first_name.trim(),
            r.player.last_name.trim()
        )
        .trim()
        .to_string();
        let pos = positions(r.player.position.as_deref().unwrap_or(""));
        if pos.is_empty() {
            notes.push(format!(
                "{name} ({id}) left out: no position given by balldontlie (`{}`)",
                r.player.position.as_deref().unwrap_or("")
            ));
            continue;
        }
        players.entry(id.clone()).or_insert_with(|| Player {
            id: id.clone(),
            name: if name.is_empty() { id.clone() } else { name },
            sport: Sport::Nba,
            team: r.team.abbreviation.to_ascii_uppercase(),
            positions: pos,
            status: PlayerStatus::Active,
            salary: None,
        });
        let other = if r.game.home_team_id == r.team.id {
            r.game.visitor_team_id
        } else {
            r.game.home_team_id
        };
        let entry = lines.entry((id.clone(), r.game.season)).or_insert_with(|| {
            (
                r.game.date.clone().unwrap_or_default(),
                StatLine::new(),
                abbr.get(&other).cloned(),
            )
        });
        let mut add = |key: &str, v: Option<Decimal>| {
            if let Some(v) = v.filter(|v| *v != Decimal::ZERO) {
                *entry.1.entry(key.to_string()).or_insert(Decimal::ZERO) += v;
            }
        };
        add("min", Some(min));
        add("pts", r.pts);
        add("reb", r.reb);
        add("ast", r.ast);
        add("stl", r.stl);
        add("blk", r.blk);
        add("tov", r.turnover);
        add("fgm", r.fgm);
        add("fga", r.fga);
        add("ftm", r.ftm);
        add("fta", r.fta);
        add("tpm", r.fg3m);
    }
    ImportBatch {
        players: players.into_values().collect(),
        stats: lines
            .into_iter()
            .map(|((player_id, season), (_, stats, opponent))| GameStat {
                player_id,
                season,
                week,
                opponent,
                stats,
            })
            .collect(),
        notes,
        games: Vec::new(),
    }
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && d[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && d[8..10].parse::<u32>().is_ok_and(|x| (1..=31).contains(&x))
}

#[async_trait::async_trait]
impl StatsProvider for BallDontLie {
    fn name(&self) -> &str {
        "balldontlie"
    }

    async fn fetch(&self, sport: Sport, query: &StatsQuery) -> Result<ImportBatch> {
        if sport != Sport::Nba {
            return Err(FantasyError::invalid(
                "sport",
                format!("the balldontlie provider serves nba stats, not {sport}"),
            ));
        }
        let week = query.week.ok_or_else(|| {
            FantasyError::invalid("week", "the fantasy week to file the stats under (1..=60)")
        })?;
        if !(1..=60).contains(&week) {
            return Err(FantasyError::invalid("week", "must be 1..=60"));
        }
        if query.dates.is_empty() || query.dates.len() > MAX_DATES {
            return Err(FantasyError::invalid(
                "dates",
                format!("1..={MAX_DATES} game dates (YYYY-MM-DD) whose games make up the week"),
            ));
        }
        for (i, d) in query.dates.iter().enumerate() {
            if !valid_date(d) {
                return Err(FantasyError::invalid(
                    format!("dates[{i}]"),
                    format!("`{d}` is not a date YYYY-MM-DD"),
                ));
            }
        }
        let rows = self.stats_for_dates(&query.dates).await?;
        let mut batch = to_batch(rows, week);
        if let Some(season) = query.season {
            batch.stats.retain(|s| s.season == season);
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn minutes_and_positions_parse() {
        assert_eq!(minutes(&serde_json::json!("36:47")), Some(dec!(36.78)));
        assert_eq!(minutes(&serde_json::json!("12")), Some(dec!(12)));
        assert_eq!(minutes(&serde_json::json!(7)), Some(dec!(7)));
        assert_eq!(minutes(&serde_json::json!("")), None);
        assert_eq!(positions("G-F"), vec!["PG", "SG", "SF", "PF"]);
        assert_eq!(positions("C"), vec!["C"]);
        assert!(positions("").is_empty());
        assert!(valid_date("2024-12-25"));
        assert!(!valid_date("2024-13-01") && !valid_date("24-12-25") && !valid_date("2024/12/25"));
    }

    #[test]
    fn config_needs_a_key_and_takes_env_over_manifest() {
        let none = |_: &str| None::<String>;
        assert!(
            BallDontLieConfig::resolve(none, Some("http://x"), None)
                .unwrap()
                .is_none()
        );
        let env = |k: &str| match k {
            BALLDONTLIE_API_KEY_ENV => Some("k1".to_string()),
            BALLDONTLIE_BASE_URL_ENV => Some("http://127.0.0.1:9/".to_string()),
            _ => None,
        };
        let cfg = BallDontLieConfig::resolve(env, Some("http://manifest"), Some(600))
            .unwrap()
            .unwrap();
        assert_eq!(cfg.base_url, "http://127.0.0.1:9");
        assert_eq!(cfg.requests_per_minute, 600);
        assert!(
            !format!("{cfg:?}").contains("k1"),
            "the key stays out of logs"
        );
        let key_only = |k: &str| (k == BALLDONTLIE_API_KEY_ENV).then(|| "k".to_string());
        let cfg = BallDontLieConfig::resolve(key_only, Some("ftp://bad"), None);
        assert!(
            matches!(cfg, Err(FantasyError::Invalid { field, .. }) if field == "bundle_config.fantasy.balldontlie_base_url")
        );
        let cfg = BallDontLieConfig::resolve(key_only, None, None)
            .unwrap()
            .unwrap();
        assert_eq!(cfg.base_url, BALLDONTLIE_BASE_URL);
        assert_eq!(cfg.requests_per_minute, 30);
    }
}
