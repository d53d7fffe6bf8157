//! The paper account's kill-rule figures ([`AccountRisk`]) from the
//! database: the fills replayed in time order (the position book's own
//! average-price arithmetic) give each currency's starting cash and the
//! realized P&L of each closing fill; cash and positions at the current
//! marks give the equity. See [`crate::compliance::kill`](crate::compliance)
//! for what each figure means.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use sqlx::{AnyConnection, Row};

use super::PaperBroker;
use crate::compliance::{self, AccountRisk, CheckResult, CurrencyRisk};
use crate::error::Result;
use crate::types::{Order, OrderRequest, Side, dec};

impl PaperBroker {
    /// The account's kill-rule figures as of now.
    pub(crate) async fn account_risk(&self, conn: &mut AnyConnection) -> Result<AccountRisk> {
        let account = &self.cfg.account_id;
        let today = crate::dates::day_of_ms(self.clock.now_ms());
        let fills = sqlx::query(
            "SELECT symbol, currency, side, qty, price, commission, at_ms FROM broker_paper_fills WHERE account_id = $1 ORDER BY at_ms, id",
        )
        .bind(account)
        .fetch_all(&mut *conn)
        .await?;
        // Per symbol: signed quantity and average price, as the book keeps them.
        let mut book: HashMap<String, (Decimal, Decimal)> = HashMap::new();
        // Per currency: cash flow of the fills, realized before and today.
        let mut flow: BTreeMap<String, (Decimal, Decimal, Decimal)> = BTreeMap::new();
        let mut streak = 0u32;
        for row in &fills {
            let symbol: String = row.try_get(0)?;
            let currency: String = row.try_get(1)?;
            let buy = Side::parse(&row.try_get::<String, _>(2)?)?.is_buy();
            let qty = dec(&row.try_get::<String, _>(3)?)?;
            let price = dec(&row.try_get::<String, _>(4)?)?;
            let commission = dec(&row.try_get::<String, _>(5)?)?;
            let at_ms: i64 = row.try_get(6)?;
            let value = qty * price;
            let entry = flow.entry(currency).or_default();
            entry.0 += if buy { -value } else { value } - commission;
            let (held, avg) = book.entry(symbol).or_default();
            let signed = if buy { qty } else { -qty };
            if held.is_zero() || (*held > Decimal::ZERO) == (signed > Decimal::ZERO) {
                let h = held.abs();
                *avg = ((h * *avg + qty * price) / (h + qty)).round_dp(8);
                *held += signed;
            } else {
                let direction = if *held > Decimal::ZERO {
                    Decimal::ONE
                } else {
                    Decimal::NEGATIVE_ONE
                };
                let realized = (price - *avg) * qty * direction - commission;
                if crate::dates::day_of_ms(at_ms) == today {
                    entry.2 += realized;
                } else {
                    entry.1 += realized;
                }
                streak = if realized < Decimal::ZERO {
                    streak + 1
                } else {
                    0
                };
                *held += signed;
                if held.is_zero() {
                    *avg = Decimal::ZERO;
                }
            }
        }
        let cash =
            sqlx::query("SELECT currency, amount FROM broker_paper_cash WHERE account_id = $1")
                .bind(account)
                .fetch_all(&mut *conn)
                .await?;
        let positions = sqlx::query(
            "SELECT symbol, currency, qty FROM broker_paper_positions WHERE account_id = $1",
        )
        .bind(account)
        .fetch_all(&mut *conn)
        .await?;
        let mut held_value: HashMap<String, Decimal> = HashMap::new();
        for row in &positions {
            let symbol: String = row.try_get(0)?;
            let currency: String = row.try_get(1)?;
            let qty = dec(&row.try_get::<String, _>(2)?)?;
            if qty.is_zero() {
                continue;
            }
            let last = self.quote_now(conn, &symbol).await?.last;
            *held_value.entry(currency).or_default() += qty * last;
        }
        let mut currencies = Vec::new();
        for row in &cash {
            let currency: String = row.try_get(0)?;
            let amount = dec(&row.try_get::<String, _>(1)?)?;
            let (f, before, today) = flow.get(&currency).copied().unwrap_or_default();
            let starting_cash = amount - f;
            if starting_cash <= Decimal::ZERO {
                continue;
            }
            currencies.push(CurrencyRisk {
                equity: amount + held_value.get(&currency).copied().unwrap_or_default(),
                currency,
                starting_cash,
                realized_before_today: before,
                realized_today: today,
            });
        }
        Ok(AccountRisk {
            currencies,
            losing_streak: streak,
        })
    }

    /// The `kill_rule` check of `req` when the kill rule is configured
    /// (`None` otherwise): `held` is the position in the symbol and
    /// `resting` the working orders, to tell a closing sell from a short one.
    pub(crate) async fn kill_check(
        &self,
        conn: &mut AnyConnection,
        req: &OrderRequest,
        held: Decimal,
        resting: &[Order],
    ) -> Result<Option<CheckResult>> {
        let Some(rule) = &self.cfg.kill_rule else {
            return Ok(None);
        };
        let risk = self.account_risk(conn).await?;
        let adds = compliance::adds_risk(req, held, resting);
        Ok(Some(compliance::kill_check(rule, &risk, adds)))
    }
}
