//! The odds feed every source answers through: sports, events, and the
//! books' prices for an event. The Odds API, Betfair and the simulated book
//! each implement [`OddsFeed`]; the bundle picks one per call.

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A sport the feed covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sport {
    /// Key (`soccer_epl`, `basketball_nba`).
    pub key: String,
    /// Group (`Soccer`).
    pub group: String,
    /// Title (`EPL`).
    pub title: String,
    /// In season now.
    pub active: bool,
}

/// One fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The feed's event id.
    pub id: String,
    /// Sport key.
    pub sport: String,
    /// Home side.
    pub home: String,
    /// Away side.
    pub away: String,
    /// Start, ms since the epoch.
    pub commence_ms: i64,
}

/// One outcome's price in one market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Outcome name (a side, `Draw`, `Over`, `Under`).
    pub name: String,
    /// Decimal odds.
    pub price: Decimal,
    /// Line (handicap or total), when the market has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<Decimal>,
}

/// One market of one book (`h2h`, `spreads`, `totals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Market {
    /// Market key.
    pub key: String,
    /// Prices.
    pub outcomes: Vec<Outcome>,
}

/// One book's prices for an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookOdds {
    /// Book key.
    pub book: String,
    /// When the book last changed these prices, ms since the epoch.
    pub last_update_ms: i64,
    /// Its markets.
    pub markets: Vec<Market>,
}

/// An event with its books' prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOdds {
    /// The event.
    pub event: Event,
    /// Every book's prices.
    pub books: Vec<BookOdds>,
}

impl EventOdds {
    /// The newest price update across books (ms), for the stale-feed check.
    pub fn freshest_ms(&self) -> Option<i64> {
        self.books.iter().map(|b| b.last_update_ms).max()
    }

    /// Every book's quotes in market `key`.
    pub fn quotes(&self, key: &str) -> Vec<crate::odds::Quote> {
        self.books
            .iter()
            .flat_map(|b| {
                b.markets
                    .iter()
                    .filter(|m| m.key == key)
                    .flat_map(move |m| {
                        m.outcomes.iter().map(move |o| crate::odds::Quote {
                            book: b.book.clone(),
                            outcome: o.name.clone(),
                            odds: o.price,
                            point: o.point,
                        })
                    })
            })
            .collect()
    }
}

/// A final or live score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Event id.
    pub event_id: String,
    /// Finished.
    pub completed: bool,
    /// Home score.
    pub home: Option<i64>,
    /// Away score.
    pub away: Option<i64>,
}

/// A source of events and prices.
#[async_trait]
pub trait OddsFeed: Send + Sync {
    /// The feed's name as answers report it (`the-odds-api`, `sim-book`).
    fn name(&self) -> &str;
    /// Sports covered.
    async fn sports(&self) -> Result<Vec<Sport>>;
    /// Upcoming events of `sport` with prices in `markets` (`h2h`, `spreads`, `totals`).
    async fn odds(&self, sport: &str, markets: &[String]) -> Result<Vec<EventOdds>>;
    /// One event's prices.
    async fn event_odds(
        &self,
        sport: &str,
        event_id: &str,
        markets: &[String],
    ) -> Result<EventOdds>;
    /// Scores of `sport`'s recent and live events.
    async fn scores(&self, sport: &str) -> Result<Vec<Score>>;
}
