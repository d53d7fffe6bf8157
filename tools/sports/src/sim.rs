//! The embedded simulated book and exchange, the default feed: seeded
//! fixtures in three sports priced by three books with different margins
//! and seeded noise (so books disagree, and arbitrage and middles occur as
//! they do in real markets). The same seed always gives the same events,
//! prices and results.

use async_trait::async_trait;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use crate::error::{Result, SportsError};
use crate::feed::{BookOdds, Event, EventOdds, Market, OddsFeed, Outcome, Score, Sport};

/// The feed name answers report.
pub const SIM_NAME: &str = "sim-book";

/// SplitMix64: a small, seedable generator (Steele et al., 2014).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SPORTS: &[(&str, &str, &str, &[&str])] = &[
    (
        "soccer_epl",
        "Soccer",
        "EPL",
        &[
            "Arsenal",
            "Chelsea",
            "Liverpool",
            "Everton",
            "Fulham",
            "Brentford",
            "Newcastle",
            "Brighton",
        ],
    ),
    (
        "basketball_nba",
        "Basketball",
        "NBA",
        &["Celtics", "Lakers", "Knicks", "Bulls", "Heat", "Suns"],
    ),
    (
        "americanfootball_nfl",
        "American Football",
        "NFL",
        &["Chiefs", "Eagles", "Bills", "Ravens", "Lions", "49ers"],
    ),
];

/// Books and their margins (overround).
const BOOKS: &[(&str, f64)] = &[
    ("sim-book-a", 0.045),
    ("sim-book-b", 0.065),
    ("sim-book-c", 0.03),
];

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The simulated book.
#[derive(Debug, Clone)]
pub struct SimBook {
    seed: u64,
}

/// One simulated fixture with its true probabilities and lines.
#[derive(Debug, Clone)]
struct Fixture {
    event: Event,
    /// True probabilities: home, away, and draw for soccer.
    probs: Vec<(String, f64)>,
    total: f64,
    spread: f64,
}

impl SimBook {
    /// A book whose fixtures and prices come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn day_start(now_ms: i64) -> i64 {
        now_ms - now_ms.rem_euclid(DAY_MS)
    }

    fn fixtures(&self, sport: &str, now_ms: i64) -> Result<Vec<Fixture>> {
        let (si, (key, _, _, teams)) = SPORTS
            .iter()
            .enumerate()
            .find(|(_, s)| s.0 == sport)
            .ok_or_else(|| {
                SportsError::NotFound(format!(
                    "unknown sport `{sport}` (simulated sports: {})",
                    SPORTS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
                ))
            })?;
        let mut rng = Rng::new(self.seed ^ ((si as u64 + 1) << 32));
        let mut order: Vec<&str> = teams.to_vec();
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let base = Self::day_start(now_ms) + DAY_MS;
        let mut out = Vec::new();
        for (k, pair) in order.chunks(2).enumerate() {
            let (home, away) = (pair[0], pair[1]);
            let strength = 0.25 + 0.5 * rng.unit();
            let probs = if *key == "soccer_epl" {
                let draw = 0.22 + 0.08 * rng.unit();
                vec![
                    (home.to_string(), (1.0 - draw) * strength),
                    (away.to_string(), (1.0 - draw) * (1.0 - strength)),
                    ("Draw".to_string(), draw),
                ]
            } else {
                vec![
                    (home.to_string(), strength),
                    (away.to_string(), 1.0 - strength),
                ]
            };
            let (total, spread) = match *key {
                "soccer_epl" => (2.5, 0.5),
                "basketball_nba" => (
                    210.5 + (20.0 * rng.unit()).round(),
                    ((strength - 0.5) * 24.0).round() + 0.5,
                ),
                _ => (
                    40.5 + (10.0 * rng.unit()).round(),
                    ((strength - 0.5) * 14.0).round() + 0.5,
                ),
            };
            out.push(Fixture {
                event: Event {
                    id: format!("sim-{key}-{k}-{:x}", self.seed & 0xffff),
                    sport: key.to_string(),
                    home: home.into(),
                    away: away.into(),
                    commence_ms: base + (k as i64) * 3 * HOUR_MS,
                },
                probs,
                total,
                spread,
            });
        }
        Ok(out)
    }

    fn price(p: f64, margin: f64, noise: f64) -> Decimal {
        // Proportional margin, then the book's noise; two decimals, at least 1.01.
        let d = (1.0 / (p * (1.0 + margin)) * (1.0 + noise)).max(1.01);
        Decimal::from_f64((d * 100.0).round() / 100.0)
            .unwrap_or(Decimal::TWO)
            .round_dp(2)
    }

    fn book_odds(&self, f: &Fixture, markets: &[String], now_ms: i64) -> Vec<BookOdds> {
        let hour = now_ms.div_euclid(HOUR_MS) as u64;
        BOOKS
            .iter()
            .enumerate()
            .map(|(bi, (book, margin))| {
                let mut rng =
                    Rng::new(self.seed ^ hash(&f.event.id) ^ ((bi as u64 + 1) << 48) ^ hour);
                let mut noise = || (rng.unit() - 0.5) * 0.08;
                let mut ms = Vec::new();
                for key in markets {
                    let outcomes = match key.as_str() {
                        "h2h" => f
                            .probs
                            .iter()
                            .map(|(n, p)| Outcome {
                                name: n.clone(),
                                price: Self::price(*p, *margin, noise()),
                                point: None,
                            })
                            .collect(),
                        "totals" => {
                            let shift = ((noise() * 25.0).round()).clamp(-1.0, 1.0);
                            let line = Decimal::from_f64(f.total + shift).unwrap_or_default();
                            vec![
                                Outcome {
                                    name: "Over".into(),
                                    price: Self::price(0.5, *margin, noise()),
                                    point: Some(line),
                                },
                                Outcome {
                                    name: "Under".into(),
                                    price: Self::price(0.5, *margin, noise()),
                                    point: Some(line),
                                },
                            ]
                        }
                        "spreads" => {
                            let shift = ((noise() * 25.0).round()).clamp(-1.0, 1.0);
                            let line = Decimal::from_f64(f.spread + shift).unwrap_or_default();
                            vec![
                                Outcome {
                                    name: f.event.home.clone(),
                                    price: Self::price(0.5, *margin, noise()),
                                    point: Some(-line),
                                },
                                Outcome {
                                    name: f.event.away.clone(),
                                    price: Self::price(0.5, *margin, noise()),
                                    point: Some(line),
                                },
                            ]
                        }
                        _ => continue,
                    };
                    ms.push(Market {
                        key: key.clone(),
                        outcomes,
                    });
                }
                BookOdds {
                    book: (*book).into(),
                    last_update_ms: now_ms - (bi as i64) * 20_000,
                    markets: ms,
                }
            })
            .collect()
    }

    /// Sports, events and prices as of `now_ms` (prices move each hour).
    pub fn odds_at(&self, sport: &str, markets: &[String], now_ms: i64) -> Result<Vec<EventOdds>> {
        let markets = check_markets(markets)?;
        Ok(self
            .fixtures(sport, now_ms)?
            .iter()
            .map(|f| EventOdds {
                event: f.event.clone(),
                books: self.book_odds(f, &markets, now_ms),
            })
            .collect())
    }

    /// The sport an event id belongs to.
    pub fn sport_of(event_id: &str) -> Option<&'static str> {
        SPORTS
            .iter()
            .map(|s| s.0)
            .find(|k| event_id.starts_with(&format!("sim-{k}-")))
    }
}

fn check_markets(markets: &[String]) -> Result<Vec<String>> {
    if markets.is_empty() {
        return Ok(vec!["h2h".into()]);
    }
    for (i, m) in markets.iter().enumerate() {
        if !["h2h", "spreads", "totals"].contains(&m.as_str()) {
            return Err(SportsError::invalid(
                format!("markets[{i}]"),
                "one of h2h, spreads, totals",
            ));
        }
    }
    Ok(markets.to_vec())
}

fn hash(s: &str) -> u64 {
    // FNV-1a.
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3)
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl OddsFeed for SimBook {
    fn name(&self) -> &str {
        SIM_NAME
    }

    async fn sports(&self) -> Result<Vec<Sport>> {
        Ok(SPORTS
            .iter()
            .map(|(k, g, t, _)| Sport {
                key: (*k).into(),
                group: (*g).into(),
                title: (*t).into(),
                active: true,
            })
            .collect())
    }

    async fn odds(&self, sport: &str, markets: &[String]) -> Result<Vec<EventOdds>> {
        self.odds_at(sport, markets, now_ms())
    }

    async fn event_odds(
        &self,
        sport: &str,
        event_id: &str,
        markets: &[String],
    ) -> Result<EventOdds> {
        self.odds(sport, markets)
            .await?
            .into_iter()
            .find(|e| e.event.id == event_id)
            .ok_or_else(|| {
                SportsError::NotFound(format!(
                    "no event `{event_id}` in {sport} (see odds_events)"
                ))
            })
    }

    async fn scores(&self, sport: &str) -> Result<Vec<Score>> {
        // Simulated fixtures start tomorrow: none has a score yet.
        Ok(self
            .fixtures(sport, now_ms())?
            .iter()
            .map(|f| Score {
                event_id: f.event.id.clone(),
                completed: false,
                home: None,
                away: None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odds::{MarginMethod, remove_margin};
    use rust_decimal::prelude::ToPrimitive;

    #[test]
    fn the_same_seed_gives_the_same_book() {
        let m = vec!["h2h".to_string(), "totals".to_string()];
        let a = SimBook::new(7)
            .odds_at("soccer_epl", &m, 1_800_000_000_000)
            .unwrap();
        let b = SimBook::new(7)
            .odds_at("soccer_epl", &m, 1_800_000_000_000)
            .unwrap();
        let c = SimBook::new(8)
            .odds_at("soccer_epl", &m, 1_800_000_000_000)
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 4);
        assert_eq!(a[0].books.len(), 3);
        assert_eq!(a[0].books[0].markets[0].outcomes.len(), 3);
    }

    #[test]
    fn books_carry_their_margins() {
        let m = vec!["h2h".to_string()];
        let mut seen = 0.0;
        let mut n = 0.0;
        for ev in SimBook::new(42)
            .odds_at("basketball_nba", &m, 1_800_000_000_000)
            .unwrap()
        {
            for b in &ev.books {
                let ds: Vec<f64> = b.markets[0]
                    .outcomes
                    .iter()
                    .map(|o| o.price.to_f64().unwrap())
                    .collect();
                let fair = remove_margin(&ds, MarginMethod::Proportional).unwrap();
                seen += fair.overround;
                n += 1.0;
            }
        }
        let mean = seen / n;
        assert!(mean > 0.0 && mean < 0.12, "mean overround {mean}");
    }

    #[test]
    fn unknown_sport_and_market_are_named() {
        assert!(matches!(
            SimBook::new(1).odds_at("curling", &[], 0),
            Err(SportsError::NotFound(_))
        ));
        assert!(matches!(
            SimBook::new(1).odds_at("soccer_epl", &["props".into()], 0),
            Err(SportsError::Invalid { .. })
        ));
    }
}
