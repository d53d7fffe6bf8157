//! Fund accounting for pooled capital: members hold units; money comes in
//! and goes out at the net asset value per unit (NAV = cash + stakes at
//! risk, at cost). Contributions, withdrawals, bets, settlements and
//! distributions are operations on a [`Syndicate`] that return the ledger
//! [`Entry`]s they make; every amount is exact in cents, so
//! `cash + at_risk = contributed − withdrawn − distributed + realized P&L`
//! holds after any sequence (the property test in `ledger_tests.rs`).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SyndicateError};
use crate::roles::Role;

/// Decimal places units are kept to.
pub const UNIT_DP: u32 = 8;

/// The syndicate's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Share of all units that must vote before a proposal is decided.
    pub quorum_pct: Decimal,
    /// Share of the voting units that must approve.
    pub approve_pct: Decimal,
    /// Bets with a stake above this need a vote.
    pub vote_threshold: Decimal,
    /// Money contributed cannot be withdrawn for this long (ms).
    pub lockup_ms: i64,
    /// Share of a hybrid distribution paid to the leads as a performance fee.
    pub performance_fee_pct: Decimal,
    /// Tiers for tiered distributions, by net contribution.
    pub tiers: Vec<Tier>,
}

/// A distribution tier: members whose net contribution is at least
/// `min_contribution` weigh their units by `weight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tier {
    /// Least net contribution for the tier.
    pub min_contribution: Decimal,
    /// Weight on units (1 = proportional).
    pub weight: Decimal,
}

/// Default tiers: 1.0 from 0, 1.1 from 1 000, 1.25 from 5 000.
pub fn default_tiers() -> Vec<Tier> {
    vec![
        Tier {
            min_contribution: Decimal::ZERO,
            weight: Decimal::ONE,
        },
        Tier {
            min_contribution: Decimal::from(1000),
            weight: Decimal::new(11, 1),
        },
        Tier {
            min_contribution: Decimal::from(5000),
            weight: Decimal::new(125, 2),
        },
    ]
}

/// One member's holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Units held.
    pub units: Decimal,
    /// Money put in.
    pub contributed: Decimal,
    /// Money taken out by withdrawals.
    pub withdrawn: Decimal,
    /// Money received in distributions.
    pub distributed: Decimal,
    /// Withdrawals refused before this time (ms).
    pub locked_until_ms: i64,
    /// Joined at (ms).
    pub joined_ms: i64,
}

/// The pool's money.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fund {
    /// Money not at risk.
    pub cash: Decimal,
    /// Stakes of open bets, at cost.
    pub at_risk: Decimal,
    /// Units outstanding.
    pub units: Decimal,
    /// All contributions.
    pub contributed: Decimal,
    /// All withdrawals.
    pub withdrawn: Decimal,
    /// All distributions.
    pub distributed: Decimal,
    /// Profit of settled bets.
    pub realized_pnl: Decimal,
}

impl Fund {
    /// Net asset value: cash plus stakes at risk.
    pub fn nav(&self) -> Decimal {
        self.cash + self.at_risk
    }

    /// NAV per unit (1 before any unit exists).
    pub fn nav_per_unit(&self) -> Decimal {
        if self.units.is_zero() {
            Decimal::ONE
        } else {
            self.nav() / self.units
        }
    }

    /// Whether the books balance: `cash + at_risk = in − out + P&L`.
    pub fn balances(&self) -> bool {
        self.nav() == self.contributed - self.withdrawn - self.distributed + self.realized_pnl
    }
}

/// A syndicate: rules, pool and members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Syndicate {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Rules.
    pub rules: Rules,
    /// The pool.
    pub fund: Fund,
    /// Members by id.
    pub members: BTreeMap<String, Member>,
}

/// One ledger row an operation makes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The member concerned; `None` for the pool itself.
    pub member: Option<String>,
    /// `contribution`, `withdrawal`, `distribution`, `performance_fee`,
    /// `bet_placed`, `bet_won`, `bet_lost`, `bet_void`.
    pub kind: &'static str,
    /// Money: + into the pool, − out of it (bets: the cash moved).
    pub amount: Decimal,
    /// Units issued (+) or redeemed (−).
    pub units: Decimal,
    /// NAV per unit at the time.
    pub nav_per_unit: Decimal,
}

/// How a withdrawal is sized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Withdrawal {
    /// This much money.
    Amount(Decimal),
    /// These units.
    Units(Decimal),
    /// Every unit the member holds.
    All,
}

/// How profit is shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// By units held.
    Proportional,
    /// A performance fee to the leads, the rest by units.
    Hybrid,
    /// By units weighted by each member's contribution tier.
    Tiered,
}

fn cents_down(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::ToZero)
}

fn check_money(field: &str, x: Decimal) -> Result<()> {
    if x <= Decimal::ZERO {
        return Err(SyndicateError::invalid(field, "must be positive"));
    }
    if x.normalize().scale() > 2 {
        return Err(SyndicateError::invalid(field, "at most 2 decimal places"));
    }
    Ok(())
}

/// Splits `amount` over `weights` to the cent with the pools' exact
/// largest-remainder split (`nt-pool`, the fantasy collectives' too): the
/// parts sum to `amount` exactly, each within a cent of its share. Nothing
/// to split over (no positive weight) gives no parts.
pub fn allocate(amount: Decimal, weights: &[(String, Decimal)]) -> Vec<(String, Decimal)> {
    if weights.iter().all(|w| w.1 <= Decimal::ZERO) {
        return Vec::new();
    }
    nt_pool::split_by_stake(amount, weights)
}

impl Syndicate {
    /// A member by id.
    pub fn member(&self, id: &str) -> Result<&Member> {
        self.members.get(id).ok_or_else(|| {
            SyndicateError::NotFound(format!("`{id}` is not a member of syndicate {}", self.id))
        })
    }

    /// Adds a member with no units.
    pub fn add_member(&mut self, id: &str, role: Role, now_ms: i64) -> Result<()> {
        let id = id.trim();
        if id.is_empty() || id.len() > 64 {
            return Err(SyndicateError::invalid("member_id", "1 to 64 characters"));
        }
        if self.members.contains_key(id) {
            return Err(SyndicateError::invalid(
                "member_id",
                format!("`{id}` is already a member"),
            ));
        }
        self.members.insert(
            id.to_string(),
            Member {
                id: id.into(),
                role,
                units: Decimal::ZERO,
                contributed: Decimal::ZERO,
                withdrawn: Decimal::ZERO,
                distributed: Decimal::ZERO,
                locked_until_ms: 0,
                joined_ms: now_ms,
            },
        );
        Ok(())
    }

    /// `member` puts `amount` in: units issued at the NAV per unit; the
    /// money is locked up for the syndicate's lock-up.
    pub fn contribute(&mut self, member: &str, amount: Decimal, now_ms: i64) -> Result<Entry> {
        check_money("amount", amount)?;
        self.member(member)?;
        if !self.fund.units.is_zero() && self.fund.nav() <= Decimal::ZERO {
            return Err(SyndicateError::rule(
                "nav_positive",
                "the pool has no net asset value; new units cannot be priced",
            ));
        }
        let npu = self.fund.nav_per_unit();
        let units = (amount / npu).round_dp_with_strategy(UNIT_DP, RoundingStrategy::ToZero);
        if units.is_zero() {
            return Err(SyndicateError::invalid(
                "amount",
                format!("too small to buy a unit fraction at NAV {npu}"),
            ));
        }
        let lock = self.rules.lockup_ms;
        let m = self
            .members
            .get_mut(member)
            .ok_or_else(|| SyndicateError::NotFound(member.into()))?;
        m.units += units;
        m.contributed += amount;
        m.locked_until_ms = m.locked_until_ms.max(now_ms + lock);
        self.fund.units += units;
        self.fund.cash += amount;
        self.fund.contributed += amount;
        Ok(Entry {
            member: Some(member.into()),
            kind: "contribution",
            amount,
            units,
            nav_per_unit: npu,
        })
    }

    /// `member` takes money out at the NAV per unit, from cash only
    /// (stakes at risk stay in), after the lock-up.
    pub fn withdraw(&mut self, member: &str, how: Withdrawal, now_ms: i64) -> Result<Entry> {
        let m = self.member(member)?.clone();
        if now_ms < m.locked_until_ms {
            return Err(SyndicateError::rule(
                "lockup",
                format!(
                    "`{member}`'s money is locked up until {}",
                    nt_mcp_core::dates::format_iso_ms(m.locked_until_ms)
                ),
            ));
        }
        if m.units.is_zero() {
            return Err(SyndicateError::rule(
                "units_held",
                format!("`{member}` holds no units"),
            ));
        }
        let npu = self.fund.nav_per_unit();
        let (units, amount) = match how {
            Withdrawal::All => (m.units, self.value_of(m.units)),
            Withdrawal::Units(u) => {
                if u <= Decimal::ZERO || u > m.units {
                    return Err(SyndicateError::invalid(
                        "units",
                        format!("between 0 and the {} units held", m.units),
                    ));
                }
                (u, self.value_of(u))
            }
            Withdrawal::Amount(a) => {
                check_money("amount", a)?;
                let u = (a / npu).round_dp_with_strategy(UNIT_DP, RoundingStrategy::AwayFromZero);
                if u > m.units {
                    return Err(SyndicateError::rule(
                        "units_held",
                        format!(
                            "{a} is more than `{member}`'s holding worth {}",
                            self.value_of(m.units)
                        ),
                    ));
                }
                (u, a)
            }
        };
        if amount > self.fund.cash {
            return Err(SyndicateError::rule(
                "cash_available",
                format!(
                    "{amount} asked but only {} is not at risk in open bets",
                    self.fund.cash
                ),
            ));
        }
        let m = self
            .members
            .get_mut(member)
            .ok_or_else(|| SyndicateError::NotFound(member.into()))?;
        m.units -= units;
        m.withdrawn += amount;
        self.fund.units -= units;
        self.fund.cash -= amount;
        self.fund.withdrawn += amount;
        Ok(Entry {
            member: Some(member.into()),
            kind: "withdrawal",
            amount: -amount,
            units: -units,
            nav_per_unit: npu,
        })
    }

    /// What `units` are worth now, in cents (rounded down; all outstanding
    /// units are worth the whole NAV).
    pub fn value_of(&self, units: Decimal) -> Decimal {
        if units.is_zero() {
            Decimal::ZERO
        } else if units == self.fund.units {
            self.fund.nav()
        } else {
            cents_down(units * self.fund.nav_per_unit())
        }
    }

    /// Pays `amount` of the pool's cash out to members by `method`; units
    /// stay, so the NAV per unit falls by the amount paid.
    pub fn distribute(&mut self, amount: Decimal, method: Method) -> Result<Vec<Entry>> {
        check_money("amount", amount)?;
        if amount > self.fund.cash {
            return Err(SyndicateError::rule(
                "cash_available",
                format!("{amount} asked but only {} is not at risk", self.fund.cash),
            ));
        }
        let holders: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.units > Decimal::ZERO)
            .collect();
        if holders.is_empty() {
            return Err(SyndicateError::rule("units_held", "no member holds units"));
        }
        let npu = self.fund.nav_per_unit();
        let mut pay: Vec<(String, Decimal, &'static str)> = Vec::new();
        let rest = match method {
            Method::Hybrid => {
                let leads: Vec<(String, Decimal)> = self
                    .members
                    .values()
                    .filter(|m| m.role == Role::Lead)
                    .map(|m| (m.id.clone(), Decimal::ONE))
                    .collect();
                let fee = cents_down(amount * self.rules.performance_fee_pct);
                if leads.is_empty() || fee.is_zero() {
                    amount
                } else {
                    for (id, v) in allocate(fee, &leads) {
                        pay.push((id, v, "performance_fee"));
                    }
                    amount - fee
                }
            }
            _ => amount,
        };
        let weights: Vec<(String, Decimal)> = holders
            .iter()
            .map(|m| {
                let w = match method {
                    Method::Tiered => {
                        let net = m.contributed - m.withdrawn;
                        self.rules
                            .tiers
                            .iter()
                            .filter(|t| net >= t.min_contribution)
                            .map(|t| t.weight)
                            .max()
                            .unwrap_or(Decimal::ONE)
                    }
                    _ => Decimal::ONE,
                };
                (m.id.clone(), m.units * w)
            })
            .collect();
        for (id, v) in allocate(rest, &weights) {
            pay.push((id, v, "distribution"));
        }
        let mut entries = Vec::new();
        for (id, v, kind) in pay {
            if v.is_zero() {
                continue;
            }
            if let Some(m) = self.members.get_mut(&id) {
                m.distributed += v;
            }
            entries.push(Entry {
                member: Some(id),
                kind,
                amount: -v,
                units: Decimal::ZERO,
                nav_per_unit: npu,
            });
        }
        self.fund.cash -= amount;
        self.fund.distributed += amount;
        Ok(entries)
    }

    /// Moves `stake` from cash to at risk for a bet.
    pub fn place_bet(&mut self, stake: Decimal) -> Result<Entry> {
        check_money("stake", stake)?;
        if stake > self.fund.cash {
            return Err(SyndicateError::rule(
                "cash_available",
                format!(
                    "stake {stake} is more than the {} not at risk",
                    self.fund.cash
                ),
            ));
        }
        let npu = self.fund.nav_per_unit();
        self.fund.cash -= stake;
        self.fund.at_risk += stake;
        Ok(Entry {
            member: None,
            kind: "bet_placed",
            amount: -stake,
            units: Decimal::ZERO,
            nav_per_unit: npu,
        })
    }

    /// Settles a bet of `stake` at decimal `odds`: `won` returns
    /// `stake × odds` (cents), `lost` nothing, `void` the stake. Returns
    /// the entry and the bet's profit.
    pub fn settle_bet(
        &mut self,
        stake: Decimal,
        odds: Decimal,
        result: &str,
    ) -> Result<(Entry, Decimal)> {
        if stake > self.fund.at_risk {
            return Err(SyndicateError::Corrupt(format!(
                "stake {stake} is more than the {} at risk",
                self.fund.at_risk
            )));
        }
        let (kind, back) = match result {
            "won" => ("bet_won", (stake * odds).round_dp(2)),
            "lost" => ("bet_lost", Decimal::ZERO),
            "void" => ("bet_void", stake),
            other => {
                return Err(SyndicateError::invalid(
                    "result",
                    format!("`{other}`: one of won, lost, void"),
                ));
            }
        };
        self.fund.at_risk -= stake;
        self.fund.cash += back;
        let pnl = back - stake;
        self.fund.realized_pnl += pnl;
        Ok((
            Entry {
                member: None,
                kind,
                amount: back,
                units: Decimal::ZERO,
                nav_per_unit: self.fund.nav_per_unit(),
            },
            pnl,
        ))
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
