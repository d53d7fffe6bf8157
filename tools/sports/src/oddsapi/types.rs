//! The Odds API v4 JSON shapes (from the OpenAPI schema at
//! <https://the-odds-api.com/api-reference/v4/schema.yml>, version 4).

use rust_decimal::Decimal;
use serde::Deserialize;

/// `GET /v4/sports` item.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiSport {
    /// Sport key.
    pub key: String,
    /// Group.
    pub group: String,
    /// Title.
    pub title: String,
    /// In season.
    #[serde(default)]
    pub active: bool,
}

/// One outcome.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiOutcome {
    /// Outcome name.
    pub name: String,
    /// Price (decimal, as requested with `oddsFormat=decimal`).
    pub price: Decimal,
    /// Line for spreads and totals.
    #[serde(default)]
    pub point: Option<Decimal>,
}

/// One market.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiMarket {
    /// `h2h`, `spreads`, `totals`, ...
    pub key: String,
    /// Outcomes.
    pub outcomes: Vec<ApiOutcome>,
}

/// One bookmaker.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiBookmaker {
    /// Bookmaker key.
    pub key: String,
    /// ISO 8601 time of its last update.
    pub last_update: String,
    /// Markets.
    #[serde(default)]
    pub markets: Vec<ApiMarket>,
}

/// An event with odds (`/odds` items and `/events/{id}/odds`).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiEvent {
    /// Event id.
    pub id: String,
    /// Sport key.
    pub sport_key: String,
    /// ISO 8601 start.
    pub commence_time: String,
    /// Home team.
    #[serde(default)]
    pub home_team: Option<String>,
    /// Away team.
    #[serde(default)]
    pub away_team: Option<String>,
    /// Bookmakers.
    #[serde(default)]
    pub bookmakers: Vec<ApiBookmaker>,
}

/// One side's score.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiTeamScore {
    /// Team.
    pub name: String,
    /// Score, as text.
    pub score: String,
}

/// `GET /v4/sports/{sport}/scores` item.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiScore {
    /// Event id.
    pub id: String,
    /// Finished.
    #[serde(default)]
    pub completed: bool,
    /// Home team.
    #[serde(default)]
    pub home_team: Option<String>,
    /// Away team.
    #[serde(default)]
    pub away_team: Option<String>,
    /// Scores; null before the start.
    #[serde(default)]
    pub scores: Option<Vec<ApiTeamScore>>,
}
