//! A finance-aware lexicon sentiment scorer: word and phrase valences for
//! market news, negation that flips and damps the next few words' valence,
//! intensifiers and dampeners that scale it, and a normalisation of the sum
//! to (-1, 1).
//!
//! The lexicon ([`LEXICON`], [`PHRASES`]) was written for this project and
//! is distributed under the workspace's licence; no third-party word list
//! is included. The shape follows VADER (Hutto & Gilbert, ICWSM 2014):
//! a negator within three words before a term multiplies it by -0.74, and
//! the sum `s` is normalised as `s / sqrt(s² + 15)`. Intensifiers here
//! multiply (×1.3 to ×1.5) instead of VADER's additive 0.293.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::symbols::words;

/// Single-word valences (-3 to +3).
pub const LEXICON: &[(&str, f64)] = &[
    // results and guidance
    ("beat", 2.0),
    ("beats", 2.0),
    ("tops", 1.8),
    ("topped", 1.8),
    ("exceeds", 1.8),
    ("exceeded", 1.8),
    ("surpasses", 1.8),
    ("miss", -2.0),
    ("misses", -2.0),
    ("missed", -2.0),
    ("disappoint", -2.0),
    ("disappoints", -2.0),
    ("disappointing", -2.0),
    ("disappointed", -1.8),
    ("shortfall", -1.8),
    ("record", 1.2),
    ("profit", 0.8),
    ("profits", 0.8),
    ("profitable", 1.2),
    ("loss", -1.5),
    ("losses", -1.5),
    ("raises", 1.0),
    ("raised", 1.0),
    ("lifts", 1.2),
    ("lifted", 1.2),
    ("boosts", 1.5),
    ("boosted", 1.5),
    ("cuts", -1.2),
    ("cut", -1.2),
    ("slashes", -1.8),
    ("slashed", -1.8),
    ("lowers", -1.3),
    ("lowered", -1.3),
    ("trims", -0.8),
    ("trim", -0.8),
    ("reduces", -0.8),
    ("withdraws", -1.5),
    ("suspends", -1.5),
    ("suspended", -1.5),
    ("upgrade", 1.8),
    ("upgrades", 1.8),
    ("upgraded", 1.8),
    ("downgrade", -1.8),
    ("downgrades", -1.8),
    ("downgraded", -1.8),
    ("outperform", 1.5),
    ("underperform", -1.5),
    ("overweight", 1.2),
    ("underweight", -1.2),
    ("buy", 0.8),
    ("sell", -0.8),
    // moves
    ("surge", 2.0),
    ("surges", 2.0),
    ("surged", 2.0),
    ("soar", 2.2),
    ("soars", 2.2),
    ("soared", 2.2),
    ("jump", 1.5),
    ("jumps", 1.5),
    ("jumped", 1.5),
    ("rally", 1.8),
    ("rallies", 1.8),
    ("rallied", 1.8),
    ("climb", 1.2),
    ("climbs", 1.2),
    ("climbed", 1.2),
    ("gain", 1.2),
    ("gains", 1.2),
    ("gained", 1.2),
    ("rise", 1.0),
    ("rises", 1.0),
    ("rose", 1.0),
    ("rising", 0.8),
    ("up", 0.5),
    ("higher", 0.7),
    ("rebound", 1.5),
    ("rebounds", 1.5),
    ("recovers", 1.3),
    ("recovery", 1.2),
    ("recover", 1.2),
    ("plunge", -2.5),
    ("plunges", -2.5),
    ("plunged", -2.5),
    ("plummet", -2.5),
    ("plummets", -2.5),
    ("tumble", -2.0),
    ("tumbles", -2.0),
    ("tumbled", -2.0),
    ("slump", -2.0),
    ("slumps", -2.0),
    ("slumped", -2.0),
    ("sink", -1.8),
    ("sinks", -1.8),
    ("sank", -1.8),
    ("drop", -1.3),
    ("drops", -1.3),
    ("dropped", -1.3),
    ("fall", -1.2),
    ("falls", -1.2),
    ("fell", -1.2),
    ("falling", -1.0),
    ("decline", -1.2),
    ("declines", -1.2),
    ("declined", -1.2),
    ("slide", -1.3),
    ("slides", -1.3),
    ("slid", -1.3),
    ("slip", -0.8),
    ("slips", -0.8),
    ("slipped", -0.8),
    ("down", -0.5),
    ("lower", -0.7),
    ("crash", -3.0),
    ("crashes", -3.0),
    ("selloff", -2.0),
    // conditions
    ("strong", 1.5),
    ("stronger", 1.5),
    ("strength", 1.3),
    ("robust", 1.5),
    ("resilient", 1.4),
    ("solid", 1.2),
    ("weak", -1.5),
    ("weaker", -1.5),
    ("weakness", -1.5),
    ("weakens", -1.3),
    ("soft", -1.0),
    ("softer", -1.0),
    ("sluggish", -1.3),
    ("slowdown", -1.5),
    ("slowing", -1.2),
    ("slows", -1.0),
    ("stalls", -1.3),
    ("growth", 1.0),
    ("grows", 1.0),
    ("grew", 1.0),
    ("expands", 1.0),
    ("expansion", 0.8),
    ("improved", 1.2),
    ("improves", 1.2),
    ("improvement", 1.2),
    ("upbeat", 1.8),
    ("optimistic", 1.6),
    ("confidence", 1.2),
    ("confident", 1.2),
    ("bullish", 1.8),
    ("bearish", -1.8),
    ("pessimistic", -1.6),
    ("gloomy", -1.8),
    ("underappreciated", 1.0),
    ("momentum", 0.5),
    ("outperformed", 1.5),
    ("accelerates", 1.2),
    ("recession", -2.0),
    ("inflation", -0.6),
    ("uncertainty", -1.2),
    ("volatile", -0.8),
    ("volatility", -0.8),
    ("headwinds", -1.3),
    ("tailwinds", 1.3),
    ("elevated", -0.6),
    ("pressure", -0.8),
    ("squeeze", -1.0),
    // events
    ("probe", -1.8),
    ("investigation", -1.6),
    ("lawsuit", -1.8),
    ("sued", -1.8),
    ("sues", -1.5),
    ("fine", -1.2),
    ("fined", -1.8),
    ("penalty", -1.6),
    ("fraud", -3.0),
    ("scandal", -2.5),
    ("charges", -1.2),
    ("recall", -1.8),
    ("recalls", -1.8),
    ("recalling", -1.8),
    ("defect", -1.8),
    ("breach", -2.0),
    ("bankruptcy", -3.0),
    ("default", -2.5),
    ("defaults", -2.5),
    ("layoffs", -1.6),
    ("lay", -0.3),
    ("restructuring", -0.8),
    ("resigns", -1.2),
    ("resigned", -1.2),
    ("ousted", -1.8),
    ("departure", -0.8),
    ("unexpectedly", -0.5),
    ("unsettling", -1.5),
    ("worried", -1.3),
    ("worries", -1.3),
    ("fears", -1.2),
    ("warns", -1.6),
    ("warned", -1.6),
    ("warning", -1.6),
    ("concerns", -1.2),
    ("concern", -1.0),
    ("downturn", -1.8),
    ("strike", -1.0),
    ("halts", -1.3),
    ("delay", -1.0),
    ("delays", -1.0),
    ("delayed", -1.0),
    ("buyback", 1.4),
    ("repurchase", 1.2),
    ("dividend", 0.8),
    ("approval", 1.4),
    ("approved", 1.3),
    ("approves", 1.3),
    ("wins", 1.5),
    ("win", 1.2),
    ("awarded", 1.3),
    ("launch", 0.6),
    ("launches", 0.6),
    ("breakthrough", 2.0),
    ("partnership", 0.8),
    ("acquire", 0.5),
    ("deal", 0.4),
    ("premium", 0.3),
    ("hike", 0.3),
    ("eased", 0.8),
    ("eases", 0.8),
    ("easing", 0.6),
    ("steady", 0.3),
    ("stable", 0.5),
];

/// Phrases (matched before single words; valence replaces the words').
pub const PHRASES: &[(&str, f64)] = &[
    ("beat estimates", 2.2),
    ("beats estimates", 2.2),
    ("tops estimates", 2.0),
    ("above estimates", 1.8),
    ("above expectations", 1.8),
    ("below estimates", -1.8),
    ("below expectations", -1.8),
    ("short of", -1.5),
    ("more than expected", 0.0),
    ("less than expected", 0.0),
    ("raises guidance", 2.0),
    ("raises outlook", 2.0),
    ("raises forecast", 2.0),
    ("cuts guidance", -2.2),
    ("cuts forecast", -2.2),
    ("cuts outlook", -2.2),
    ("price target raised", 1.5),
    ("price target cut", -1.5),
    ("cut costs", 0.6),
    ("cuts costs", 0.6),
    ("cut rates", 0.6),
    ("cuts rates", 0.6),
    ("rate cut", 0.6),
    ("cuts key rate", 0.6),
    ("rate hike", -0.8),
    ("raises rates", -0.8),
    ("raises concerns", -1.5),
    ("lay off", -1.6),
    ("job cuts", -1.6),
    ("steps down", -1.0),
    ("no injuries", 0.3),
    ("all-time high", 1.8),
    ("record high", 1.8),
    ("record low", -1.8),
    ("record loss", -2.2),
    ("going concern", -2.5),
    ("profit warning", -2.5),
    ("sell rating", -1.5),
    ("buy rating", 1.5),
    ("to sell from", -1.5),
    ("to buy from", 1.5),
    ("recession fears", -1.0),
];

/// Words that negate what follows within three words.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "without", "neither", "nor", "fail", "fails", "failed", "cannot",
    "hardly", "barely", "despite",
];

/// Words that scale what follows (within two words); adverbs in `-ly`
/// also scale the term right before them.
const SCALERS: &[(&str, f64)] = &[
    ("very", 1.3),
    ("sharply", 1.5),
    ("sharp", 1.4),
    ("significantly", 1.4),
    ("significant", 1.3),
    ("substantially", 1.4),
    ("strongly", 1.3),
    ("deeply", 1.4),
    ("steep", 1.4),
    ("steeply", 1.4),
    ("massive", 1.5),
    ("huge", 1.4),
    ("biggest", 1.4),
    ("dramatically", 1.5),
    ("extremely", 1.5),
    ("slightly", 0.5),
    ("slight", 0.5),
    ("marginally", 0.5),
    ("modestly", 0.6),
    ("modest", 0.6),
    ("somewhat", 0.6),
    ("mildly", 0.6),
    ("little", 0.6),
];

/// Multiplier on a negated valence (VADER's constant).
pub const NEGATION: f64 = -0.74;
/// The normalisation constant.
pub const ALPHA: f64 = 15.0;

struct Lex {
    words: HashMap<&'static str, f64>,
    phrases: HashMap<&'static str, Vec<(Vec<String>, f64)>>,
}

fn lex() -> &'static Lex {
    static LEX: OnceLock<Lex> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut phrases: HashMap<&'static str, Vec<(Vec<String>, f64)>> = HashMap::new();
        for (p, v) in PHRASES {
            let w = words(p);
            let first: &'static str = p.split(' ').next().unwrap_or(p);
            phrases.entry(first).or_default().push((w, *v));
        }
        for list in phrases.values_mut() {
            list.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
        Lex {
            words: LEXICON.iter().copied().collect(),
            phrases,
        }
    })
}

/// One scored term.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// The word or phrase.
    pub term: String,
    /// Its lexicon valence.
    pub valence: f64,
    /// After negation and scaling.
    pub adjusted: f64,
}

/// A text's sentiment.
#[derive(Debug, Clone, Serialize)]
pub struct Sentiment {
    /// Normalised score in (-1, 1).
    pub score: f64,
    /// `positive` (> 0.05), `negative` (< -0.05) or `neutral`.
    pub label: &'static str,
    /// The raw sum of adjusted valences.
    pub raw: f64,
    /// Terms that counted.
    pub hits: Vec<Hit>,
}

fn is_negator(w: &str) -> bool {
    NEGATORS.contains(&w) || w.ends_with("n't")
}

/// Scores `text`.
pub fn score(text: &str) -> Sentiment {
    let lex = lex();
    let w = words(text);
    let mut hits = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let mut found: Option<(String, f64, usize)> = None;
        if let Some(list) = lex.phrases.get(w[i].as_str()) {
            for (p, v) in list {
                if w.len() - i >= p.len() && w[i..i + p.len()] == p[..] {
                    found = Some((p.join(" "), *v, p.len()));
                    break;
                }
            }
        }
        if found.is_none()
            && let Some(v) = lex.words.get(w[i].as_str())
        {
            found = Some((w[i].clone(), *v, 1));
        }
        let Some((term, valence, len)) = found else {
            i += 1;
            continue;
        };
        let mut adjusted = valence;
        let lo = i.saturating_sub(3);
        if w[lo..i].iter().any(|x| is_negator(x)) {
            adjusted *= NEGATION;
        }
        for x in &w[i.saturating_sub(2)..i] {
            if let Some((_, m)) = SCALERS.iter().find(|(s, _)| s == x) {
                adjusted *= m;
            }
        }
        // An adverb right after the term scales it too ("fell sharply").
        if let Some(next) = w.get(i + len)
            && next.ends_with("ly")
            && let Some((_, m)) = SCALERS.iter().find(|(s, _)| s == next)
        {
            adjusted *= m;
        }
        if valence != 0.0 {
            hits.push(Hit {
                term,
                valence,
                adjusted,
            });
        }
        i += len;
    }
    let raw: f64 = hits.iter().map(|h| h.adjusted).sum();
    let score = raw / (raw * raw + ALPHA).sqrt();
    Sentiment {
        score,
        label: if score > 0.05 {
            "positive"
        } else if score < -0.05 {
            "negative"
        } else {
            "neutral"
        },
        raw,
        hits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_intensifiers_and_normalisation() {
        let s = score("Apple beats estimates");
        assert_eq!(s.hits.len(), 1, "{:?}", s.hits);
        assert!((s.raw - 2.2).abs() < 1e-12);
        assert!((s.score - 2.2 / (2.2f64 * 2.2 + 15.0).sqrt()).abs() < 1e-12);
        let n = score("Apple did not beat expectations");
        assert!((n.raw - 2.0 * NEGATION).abs() < 1e-12, "{:?}", n.hits);
        let sh = score("shares fell sharply");
        let pl = score("shares fell");
        assert!((sh.raw - pl.raw * 1.5).abs() < 1e-12);
        assert_eq!(score("The meeting is on Tuesday").label, "neutral");
    }
}
