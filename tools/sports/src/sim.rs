//! The embedded simulated book and exchange, the default feed: seeded
//! fixtures in three sports priced by three books with different margins
//! and seeded noise (so books disagree, and arbitrage and middles occur as
//! they do in real markets). The same seed always gives the same events,
//! prices and results.

use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::clock::{Clock, SystemClock};
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
#[derive(Clone)]
pub struct SimBook {
    seed: u64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBook")
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
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
    /// A book whose fixtures, prices and results come from `seed`, on the
    /// system clock.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same book on `clock` (tests move time to see results).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Fixtures of `sport` on UTC day `day` (days since the epoch): the
    /// same seed and day always give the same fixtures.
    fn fixtures(&self, sport: &str, day: i64) -> Result<Vec<Fixture>> {
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
        let mut rng =
            Rng::new(self.seed ^ ((si as u64 + 1) << 32) ^ (day as u64).wrapping_mul(0x9E37_79B9));
        let mut order: Vec<&str> = teams.to_vec();
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let base = day * DAY_MS + 12 * HOUR_MS;
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
                    id: format!("sim-{key}-{day}-{k}"),
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

    /// Upcoming events (not started at `now_ms`: the rest of today's and
    /// tomorrow's) with prices as of `now_ms` (prices move each hour).
    pub fn odds_at(&self, sport: &str, markets: &[String], now_ms: i64) -> Result<Vec<EventOdds>> {
        let markets = check_markets(markets)?;
        let today = now_ms.div_euclid(DAY_MS);
        let mut out = Vec::new();
        for day in [today, today + 1] {
            for f in self.fixtures(sport, day)? {
                if f.event.commence_ms > now_ms {
                    out.push(EventOdds {
                        books: self.book_odds(&f, &markets, now_ms),
                        event: f.event,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The fixture behind an event id (`sim-<sport>-<day>-<n>`), any day.
    fn fixture(&self, sport: &str, event_id: &str) -> Result<Fixture> {
        let missing = || {
            SportsError::NotFound(format!(
                "no event `{event_id}` in {sport} (see odds_events)"
            ))
        };
        let rest = event_id
            .strip_prefix(&format!("sim-{sport}-"))
            .ok_or_else(missing)?;
        let day: i64 = rest
            .split('-')
            .next()
            .and_then(|d| d.parse().ok())
            .ok_or_else(missing)?;
        self.fixtures(sport, day)?
            .into_iter()
            .find(|f| f.event.id == event_id)
            .ok_or_else(missing)
    }

    /// The seeded result of a fixture: the winner drawn by its true
    /// probabilities, then a plausible score for the sport.
    fn result(&self, f: &Fixture) -> (i64, i64) {
        let mut rng = Rng::new(self.seed ^ hash(&f.event.id) ^ 0x5C0E_5C0E);
        let u = rng.unit();
        let mut acc = 0.0;
        let mut winner = f.probs.len() - 1;
        for (i, (_, p)) in f.probs.iter().enumerate() {
            acc += p;
            if u < acc {
                winner = i;
                break;
            }
        }
        let (a, b) = (rng.unit(), rng.unit());
        let (w, l) = if f.event.sport == "soccer_epl" {
            if winner == 2 {
                let g = (a * 3.0) as i64;
                return (g, g);
            }
            let w = 1 + (a * 3.0) as i64;
            (w, (b * w as f64) as i64)
        } else {
            let margin = 1 + (a * 12.0) as i64;
            let w = ((f.total + margin as f64) / 2.0).round() as i64;
            (w, w - margin)
        };
        if winner == 0 { (w, l) } else { (l, w) }
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
        self.odds_at(sport, markets, self.clock.now_ms())
    }

    async fn event_odds(
        &self,
        sport: &str,
        event_id: &str,
        markets: &[String],
    ) -> Result<EventOdds> {
        let markets = check_markets(markets)?;
        let f = self.fixture(sport, event_id)?;
        let now = self.clock.now_ms();
        Ok(EventOdds {
            books: self.book_odds(&f, &markets, now),
            event: f.event,
        })
    }

    async fn scores(&self, sport: &str) -> Result<Vec<Score>> {
        // The last three days' fixtures and today's: finished two hours
        // after the start, with their seeded results.
        let now = self.clock.now_ms();
        let today = now.div_euclid(DAY_MS);
        let mut out = Vec::new();
        for day in (today - 3)..=today {
            for f in self.fixtures(sport, day)? {
                let done = now >= f.event.commence_ms + 2 * HOUR_MS;
                let (home, away) = if done {
                    let (h, a) = self.result(&f);
                    (Some(h), Some(a))
                } else {
                    (None, None)
                };
                out.push(Score {
                    event_id: f.event.id.clone(),
                    completed: done,
                    home,
                    away,
                });
            }
        }
        Ok(out)
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
        // 08:00 UTC: today's four fixtures (12:00 to 21:00) and tomorrow's four.
        assert_eq!(a.len(), 8);
        assert_eq!(a[0].books.len(), 3);
        assert_eq!(a[0].books[0].markets[0].outcomes.len(), 3);
    }

    /// Results appear two hours after the start, are the same on every
    /// call, and a side wins more often the likelier it was (over many
    /// seeded fixtures).
    #[tokio::test]
    async fn results_are_seeded_and_follow_the_probabilities() {
        let clock = Arc::new(nt_mcp_core::clock::ManualClock::new(1_800_000_000_000));
        let book = SimBook::new(7).with_clock(clock.clone());
        let ev = book.odds("soccer_epl", &[]).await.unwrap()[0].event.clone();
        let before = book.scores("soccer_epl").await.unwrap();
        assert!(before.iter().any(|s| s.event_id == ev.id && !s.completed));
        clock.set(ev.commence_ms + 2 * HOUR_MS);
        let after = book.scores("soccer_epl").await.unwrap();
        let done = after.iter().find(|s| s.event_id == ev.id).unwrap();
        assert!(done.completed && done.home.is_some());
        assert_eq!(book.scores("soccer_epl").await.unwrap(), after);
        // Prices of a past event can still be read by id.
        assert_eq!(
            book.event_odds("soccer_epl", &ev.id, &[])
                .await
                .unwrap()
                .event,
            ev
        );

        let (mut fav_wins, mut games) = (0, 0);
        for seed in 0..200u64 {
            let b = SimBook::new(seed);
            for f in b.fixtures("basketball_nba", 20_000).unwrap() {
                let (h, a) = b.result(&f);
                assert_ne!(h, a, "no draws in basketball");
                let home_fav = f.probs[0].1 > 0.5;
                if (h > a) == home_fav {
                    fav_wins += 1;
                }
                games += 1;
            }
        }
        let rate = f64::from(fav_wins) / f64::from(games);
        assert!(rate > 0.55 && rate < 0.75, "favourites won {rate}");
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
