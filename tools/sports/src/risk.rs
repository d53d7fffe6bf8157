//! Betting risk and compliance: the limits and flags a bet must pass, as
//! configuration ([`RiskConfig`]), and the check ([`check`]) over the
//! account's betting so far ([`Usage`]). Every refusal names its rule.
//!
//! Rules, in the order they are checked: `self_exclusion`, `jurisdiction`,
//! `age_verification`, `minimum_age`, `loss_streak_breaker`,
//! `daily_loss_limit`, `stale_feed`, `min_stake`, `max_stake_per_bet`,
//! `max_stake_per_event`, `max_stake_per_day`, `max_exposure_per_sport`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{Result, SportsError};

/// The limits and compliance flags (manifest `[bundle_config.sports]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskConfig {
    /// Least stake of one bet.
    pub min_stake: Decimal,
    /// Largest stake of one bet.
    pub max_stake_per_bet: Decimal,
    /// Largest total staked on one event.
    pub max_stake_per_event: Decimal,
    /// Largest total staked in one UTC day.
    pub max_stake_per_day: Decimal,
    /// Largest net loss settled in one UTC day before betting stops for the day.
    pub daily_loss_limit: Decimal,
    /// Largest open (unsettled) stake in one sport.
    pub max_exposure_per_sport: Decimal,
    /// Where the bettor is (`GB`, `US-NJ`); `None` = not declared.
    pub jurisdiction: Option<String>,
    /// Jurisdictions betting is allowed in; empty = any.
    pub allowed_jurisdictions: Vec<String>,
    /// The bettor's verified age, when known.
    pub bettor_age: Option<u32>,
    /// Least age to bet.
    pub minimum_age: u32,
    /// Refuse bets until an age is verified (`bettor_age` set).
    pub require_age_verification: bool,
    /// Self-excluded until this time (ms since the epoch).
    pub self_excluded_until_ms: Option<i64>,
    /// Consecutive lost bets that open the circuit breaker (0 = off).
    pub loss_streak_limit: u32,
    /// How long the loss-streak breaker stays open after the last loss (ms).
    pub breaker_cooldown_ms: i64,
    /// Prices older than this (ms) are stale and refused (0 = off).
    pub stale_feed_ms: i64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            min_stake: Decimal::ONE,
            max_stake_per_bet: Decimal::from(100),
            max_stake_per_event: Decimal::from(250),
            max_stake_per_day: Decimal::from(1000),
            daily_loss_limit: Decimal::from(500),
            max_exposure_per_sport: Decimal::from(1000),
            jurisdiction: None,
            allowed_jurisdictions: Vec::new(),
            bettor_age: None,
            minimum_age: 18,
            require_age_verification: false,
            self_excluded_until_ms: None,
            loss_streak_limit: 5,
            breaker_cooldown_ms: 24 * 3_600_000,
            stale_feed_ms: 5 * 60_000,
        }
    }
}

/// The account's betting so far, as the rules need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Staked today (UTC), all bets.
    pub staked_today: Decimal,
    /// Net profit of bets settled today (negative = loss).
    pub settled_pnl_today: Decimal,
    /// Staked per event (all bets, open or settled).
    pub staked_by_event: BTreeMap<String, Decimal>,
    /// Open stake per sport.
    pub open_by_sport: BTreeMap<String, Decimal>,
    /// Consecutive losses among the latest settled bets.
    pub loss_streak: u32,
    /// When the latest loss settled (ms).
    pub last_loss_ms: Option<i64>,
}

/// A bet about to be placed.
#[derive(Debug, Clone)]
pub struct Proposed<'a> {
    /// Sport key.
    pub sport: &'a str,
    /// Event id.
    pub event_id: &'a str,
    /// Stake.
    pub stake: Decimal,
    /// When the prices were last updated (ms), when known.
    pub prices_at_ms: Option<i64>,
}

/// Whether the loss-streak breaker is open at `now_ms`, and until when.
pub fn breaker_open_until(cfg: &RiskConfig, u: &Usage, now_ms: i64) -> Option<i64> {
    if cfg.loss_streak_limit == 0 || u.loss_streak < cfg.loss_streak_limit {
        return None;
    }
    let until = u.last_loss_ms? + cfg.breaker_cooldown_ms;
    (until > now_ms).then_some(until)
}

/// Checks `bet` against every rule; the first that refuses is named.
pub fn check(cfg: &RiskConfig, u: &Usage, bet: &Proposed<'_>, now_ms: i64) -> Result<()> {
    if let Some(until) = cfg.self_excluded_until_ms.filter(|t| *t > now_ms) {
        return Err(SportsError::rule(
            "self_exclusion",
            format!(
                "the account is self-excluded until {}",
                nt_mcp_core::dates::format_iso_ms(until)
            ),
        ));
    }
    if !cfg.allowed_jurisdictions.is_empty() {
        match &cfg.jurisdiction {
            None => {
                return Err(SportsError::rule(
                    "jurisdiction",
                    "no jurisdiction is declared and betting is limited to listed jurisdictions",
                ));
            }
            Some(j)
                if !cfg
                    .allowed_jurisdictions
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(j)) =>
            {
                return Err(SportsError::rule(
                    "jurisdiction",
                    format!(
                        "betting is not allowed in `{j}` (allowed: {})",
                        cfg.allowed_jurisdictions.join(", ")
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    match cfg.bettor_age {
        None if cfg.require_age_verification => {
            return Err(SportsError::rule(
                "age_verification",
                "the bettor's age is not verified (set bettor_age)",
            ));
        }
        Some(age) if age < cfg.minimum_age => {
            return Err(SportsError::rule(
                "minimum_age",
                format!("bettor age {age} is under the minimum {}", cfg.minimum_age),
            ));
        }
        _ => {}
    }
    if let Some(until) = breaker_open_until(cfg, u, now_ms) {
        return Err(SportsError::rule(
            "loss_streak_breaker",
            format!(
                "{} losses in a row; betting resumes at {}",
                u.loss_streak,
                nt_mcp_core::dates::format_iso_ms(until)
            ),
        ));
    }
    if -u.settled_pnl_today >= cfg.daily_loss_limit {
        return Err(SportsError::rule(
            "daily_loss_limit",
            format!(
                "today's settled loss {} has reached the limit {}",
                -u.settled_pnl_today, cfg.daily_loss_limit
            ),
        ));
    }
    if cfg.stale_feed_ms > 0 {
        match bet.prices_at_ms {
            Some(at) if now_ms - at > cfg.stale_feed_ms => {
                return Err(SportsError::rule(
                    "stale_feed",
                    format!(
                        "prices are {} s old (limit {} s)",
                        (now_ms - at) / 1000,
                        cfg.stale_feed_ms / 1000
                    ),
                ));
            }
            None => {
                return Err(SportsError::rule(
                    "stale_feed",
                    "the feed gave no update time for these prices",
                ));
            }
            _ => {}
        }
    }
    if bet.stake < cfg.min_stake {
        return Err(SportsError::rule(
            "min_stake",
            format!("stake {} is below the minimum {}", bet.stake, cfg.min_stake),
        ));
    }
    if bet.stake > cfg.max_stake_per_bet {
        return Err(SportsError::rule(
            "max_stake_per_bet",
            format!(
                "stake {} is over the per-bet limit {}",
                bet.stake, cfg.max_stake_per_bet
            ),
        ));
    }
    let on_event = u
        .staked_by_event
        .get(bet.event_id)
        .copied()
        .unwrap_or_default();
    if on_event + bet.stake > cfg.max_stake_per_event {
        return Err(SportsError::rule(
            "max_stake_per_event",
            format!(
                "{on_event} already on event {}; {} more would pass the per-event limit {}",
                bet.event_id, bet.stake, cfg.max_stake_per_event
            ),
        ));
    }
    if u.staked_today + bet.stake > cfg.max_stake_per_day {
        return Err(SportsError::rule(
            "max_stake_per_day",
            format!(
                "{} staked today; {} more would pass the daily limit {}",
                u.staked_today, bet.stake, cfg.max_stake_per_day
            ),
        ));
    }
    let open = u.open_by_sport.get(bet.sport).copied().unwrap_or_default();
    if open + bet.stake > cfg.max_exposure_per_sport {
        return Err(SportsError::rule(
            "max_exposure_per_sport",
            format!(
                "{open} open in {}; {} more would pass the exposure limit {}",
                bet.sport, bet.stake, cfg.max_exposure_per_sport
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const NOW: i64 = 1_800_000_000_000;

    fn bet(stake: Decimal) -> Proposed<'static> {
        Proposed {
            sport: "soccer_epl",
            event_id: "e1",
            stake,
            prices_at_ms: Some(NOW - 1000),
        }
    }

    fn rule_of(r: Result<()>) -> String {
        match r {
            Err(SportsError::Rule { rule, .. }) => rule,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn each_rule_refuses_by_name() {
        let c = RiskConfig::default();
        let u = Usage::default();
        assert!(check(&c, &u, &bet(dec!(50)), NOW).is_ok());
        assert_eq!(
            rule_of(check(&c, &u, &bet(dec!(101)), NOW)),
            "max_stake_per_bet"
        );
        assert_eq!(rule_of(check(&c, &u, &bet(dec!(0.5)), NOW)), "min_stake");
        let mut u2 = u.clone();
        u2.staked_by_event.insert("e1".into(), dec!(200));
        assert_eq!(
            rule_of(check(&c, &u2, &bet(dec!(60)), NOW)),
            "max_stake_per_event"
        );
        let mut u3 = u.clone();
        u3.staked_today = dec!(950);
        assert_eq!(
            rule_of(check(&c, &u3, &bet(dec!(60)), NOW)),
            "max_stake_per_day"
        );
        let mut u4 = u.clone();
        u4.open_by_sport.insert("soccer_epl".into(), dec!(990));
        assert_eq!(
            rule_of(check(&c, &u4, &bet(dec!(20)), NOW)),
            "max_exposure_per_sport"
        );
        let mut u5 = u.clone();
        u5.settled_pnl_today = dec!(-500);
        assert_eq!(
            rule_of(check(&c, &u5, &bet(dec!(5)), NOW)),
            "daily_loss_limit"
        );
        let mut u6 = u.clone();
        u6.loss_streak = 5;
        u6.last_loss_ms = Some(NOW - 3_600_000);
        assert_eq!(
            rule_of(check(&c, &u6, &bet(dec!(5)), NOW)),
            "loss_streak_breaker"
        );
        u6.last_loss_ms = Some(NOW - 25 * 3_600_000);
        assert!(
            check(&c, &u6, &bet(dec!(5)), NOW).is_ok(),
            "the breaker closes after its cooldown"
        );
        let stale = Proposed {
            prices_at_ms: Some(NOW - 600_000),
            ..bet(dec!(5))
        };
        assert_eq!(rule_of(check(&c, &u, &stale, NOW)), "stale_feed");
    }

    #[test]
    fn compliance_flags() {
        let u = Usage::default();
        let c = RiskConfig {
            self_excluded_until_ms: Some(NOW + 1),
            ..RiskConfig::default()
        };
        assert_eq!(rule_of(check(&c, &u, &bet(dec!(5)), NOW)), "self_exclusion");
        let c = RiskConfig {
            allowed_jurisdictions: vec!["GB".into()],
            jurisdiction: Some("US-UT".into()),
            ..RiskConfig::default()
        };
        assert_eq!(rule_of(check(&c, &u, &bet(dec!(5)), NOW)), "jurisdiction");
        let c = RiskConfig {
            allowed_jurisdictions: vec!["GB".into()],
            jurisdiction: Some("gb".into()),
            ..RiskConfig::default()
        };
        assert!(check(&c, &u, &bet(dec!(5)), NOW).is_ok());
        let c = RiskConfig {
            bettor_age: Some(17),
            ..RiskConfig::default()
        };
        assert_eq!(rule_of(check(&c, &u, &bet(dec!(5)), NOW)), "minimum_age");
        let c = RiskConfig {
            require_age_verification: true,
            ..RiskConfig::default()
        };
        assert_eq!(
            rule_of(check(&c, &u, &bet(dec!(5)), NOW)),
            "age_verification"
        );
    }
}
