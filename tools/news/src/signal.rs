//! News trading signals (seed §8): per ticker, the volume of news and its
//! sentiment in the last 24 hours against the days before.
//!
//! * `volume_z = (n_today − mean(n_day)) / max(sd(n_day), 0.5)` over the
//!   `lookback` earlier 24-hour windows (sample standard deviation; the
//!   floor keeps one story after a silent month from reading as infinity);
//! * `sentiment_shock = (mean(s_today) − mean(s_base)) / max(sd(s_base), 0.25)`
//!   over the per-story sentiment scores (0 when nothing today);
//! * the signal is `long` when `volume_z ≥ z_threshold` and the shock is at
//!   least +1, `short` when the shock is at most −1, else `none`, with a
//!   suggested paper order and its reason that another tool or an agent may
//!   act on (nothing is placed here).

use serde::Serialize;

/// One 24-hour window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Its end, ms.
    pub end_ms: i64,
    /// Stories in it.
    pub stories: usize,
    /// Their mean sentiment.
    pub mean_sentiment: Option<f64>,
}

/// A suggested paper order.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// `buy` or `sell`.
    pub side: &'static str,
    /// The ticker.
    pub symbol: String,
    /// Why.
    pub reason: String,
}

/// A ticker's news signal.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    /// The ticker.
    pub ticker: String,
    /// Stories in the last 24 hours.
    pub today: usize,
    /// Mean stories per earlier window.
    pub baseline_mean: f64,
    /// Their sample standard deviation.
    pub baseline_sd: f64,
    /// Volume z-score.
    pub volume_z: f64,
    /// Mean sentiment today.
    pub today_sentiment: Option<f64>,
    /// Mean sentiment of the earlier stories.
    pub baseline_sentiment: Option<f64>,
    /// Sentiment shock.
    pub sentiment_shock: f64,
    /// `long`, `short` or `none`.
    pub direction: &'static str,
    /// The suggestion, when there is a direction.
    pub suggestion: Option<Suggestion>,
    /// Every window, newest first (today first).
    pub windows: Vec<Window>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// The signal of `ticker` from its stories' `(published_ms, sentiment)` at
/// `as_of_ms` over `lookback` earlier days.
pub fn signal(
    ticker: &str,
    stories: &[(i64, f64)],
    as_of_ms: i64,
    lookback: usize,
    z_threshold: f64,
) -> Signal {
    const DAY: i64 = 86_400_000;
    let mut windows = Vec::with_capacity(lookback + 1);
    let mut per_window: Vec<Vec<f64>> = Vec::with_capacity(lookback + 1);
    for k in 0..=lookback as i64 {
        let end = as_of_ms - k * DAY;
        let s: Vec<f64> = stories
            .iter()
            .filter(|(t, _)| *t > end - DAY && *t <= end)
            .map(|(_, s)| *s)
            .collect();
        windows.push(Window {
            end_ms: end,
            stories: s.len(),
            mean_sentiment: mean(&s),
        });
        per_window.push(s);
    }
    let counts: Vec<f64> = per_window[1..].iter().map(|w| w.len() as f64).collect();
    let base_s: Vec<f64> = per_window[1..].iter().flatten().copied().collect();
    let today = &per_window[0];
    let baseline_mean = mean(&counts).unwrap_or(0.0);
    let baseline_sd = sd(&counts);
    let volume_z = (today.len() as f64 - baseline_mean) / baseline_sd.max(0.5);
    let today_sentiment = mean(today);
    let baseline_sentiment = mean(&base_s);
    let sentiment_shock = match today_sentiment {
        Some(t) => (t - baseline_sentiment.unwrap_or(0.0)) / sd(&base_s).max(0.25),
        None => 0.0,
    };
    let direction = if volume_z >= z_threshold && sentiment_shock >= 1.0 {
        "long"
    } else if volume_z >= z_threshold && sentiment_shock <= -1.0 {
        "short"
    } else {
        "none"
    };
    let suggestion = (direction != "none").then(|| Suggestion {
        side: if direction == "long" { "buy" } else { "sell" },
        symbol: ticker.to_string(),
        reason: format!(
            "{} stories in 24 h against {baseline_mean:.2}/day (z {volume_z:.2}), sentiment {:+.3} against {:+.3} (shock {sentiment_shock:+.2})",
            today.len(),
            today_sentiment.unwrap_or(0.0),
            baseline_sentiment.unwrap_or(0.0)
        ),
    });
    Signal {
        ticker: ticker.to_string(),
        today: today.len(),
        baseline_mean,
        baseline_sd,
        volume_z,
        today_sentiment,
        baseline_sentiment,
        sentiment_shock,
        direction,
        suggestion,
        windows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_scores_match_a_hand_computation() {
        let day = 86_400_000;
        let now = 100 * day;
        // Earlier windows: counts 1, 0, 2, 1 (sentiments -0.1; ; 0.1, 0.0; 0.2).
        // Today: 4 stories at 0.6.
        let mut s = vec![
            (now - day - 10, -0.1),
            (now - 3 * day - 10, 0.1),
            (now - 3 * day - 20, 0.0),
            (now - 4 * day - 5, 0.2),
        ];
        s.extend((0..4).map(|i| (now - 1000 * (i + 1), 0.6)));
        let g = signal("AAPL", &s, now, 4, 2.0);
        // counts 1,0,2,1: mean 1, sample sd sqrt(2/3) = 0.8165
        assert!((g.baseline_mean - 1.0).abs() < 1e-12);
        assert!((g.baseline_sd - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((g.volume_z - 3.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // base sentiments -0.1, 0.1, 0.0, 0.2: mean 0.05, sd 0.1291 -> floor 0.25
        assert!((g.sentiment_shock - (0.6 - 0.05) / 0.25).abs() < 1e-12);
        assert_eq!(g.direction, "long");
        assert_eq!(g.suggestion.as_ref().map(|s| s.side), Some("buy"));
        let quiet = signal("AAPL", &s[..4], now, 4, 2.0);
        assert_eq!(
            (quiet.today, quiet.direction, quiet.sentiment_shock),
            (0, "none", 0.0)
        );
    }
}
