//! Placing paper orders and bringing resting ones up to date. A paper
//! order placed through the desk ([`PaperBroker::place_reviewed`]) runs in
//! one transaction: the sweep of resting orders, the idempotency look-up,
//! the compliance review, the order row, its fill (cash, position, fill
//! row) and every audit row, with the chain's head read once.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::AnyConnection;

use super::book::{Book, PaperOrder};
use super::{ORDER_COLUMNS, PAPER, PaperBroker, decode_order};
use crate::audit::{AuditEvent, ChainTx};
use crate::broker::OrderUpdate;
use crate::calendar::Session;
use crate::compliance::{self, CheckResult, ComplianceRules, Context, Rate};
use crate::desk::Placed;
use crate::error::{BrokersError, Result};
use crate::types::{
    Instrument, Order, OrderRequest, OrderStatus, OrderType, Quote, Side, TimeInForce,
};
use nt_mcp_core::store::Backend;

impl PaperBroker {
    /// Brings every working order up to now: replays the price steps since
    /// each was last looked at, fills those the price crossed, expires day
    /// orders past their end.
    pub async fn sweep(&self) -> Result<usize> {
        self.ensure_account().await?;
        // Most reads find nothing working: answer those without the lock.
        let working = sqlx::query(
            "SELECT 1 FROM broker_paper_orders WHERE account_id = $1 AND status IN ('open', 'partially_filled') LIMIT 1",
        )
        .bind(&self.cfg.account_id)
        .fetch_optional(self.store.pool())
        .await?;
        if working.is_none() {
            return Ok(0);
        }
        // The chain's lock first: another caller's sweep or order must not
        // fill the same order or move the same cash between our reads and
        // writes.
        let mut w = ChainTx::begin(self.store.pool()).await?;
        let (changed, updates, _) = self.sweep_in(&mut w).await?;
        w.commit().await?;
        self.publish(updates);
        Ok(changed)
    }

    /// The sweep inside `w`: how many orders changed, the updates to
    /// publish once committed, and the orders still working.
    async fn sweep_in(&self, w: &mut ChainTx) -> Result<(usize, Vec<OrderUpdate>, Vec<Order>)> {
        let now = self.clock.now_ms();
        let now_step = self.cfg.market.step_of(now);
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM broker_paper_orders WHERE account_id = $1 AND status IN ('open', 'partially_filled') ORDER BY created_ms, id"
        ))
        .bind(&self.cfg.account_id)
        .fetch_all(w.conn().await?)
        .await?;
        let mut changed = 0;
        let mut updates = Vec::new();
        let mut working = Vec::new();
        for row in &rows {
            let mut po = decode_order(row)?;
            let mark = self.mark(w.conn().await?, &po.order.symbol).await?;
            let last_step = match po.expires_ms {
                Some(e) => now_step.min(self.cfg.market.step_of(e - 1)),
                None => now_step,
            };
            let from = (po.checked_step + 1).max(last_step - self.cfg.max_scan_steps + 1);
            let before = (po.checked_step, po.extreme, po.triggered);
            let mut filled = false;
            // A pinned price is the same at every step: look once, at the
            // last step, even one already looked at: the pin may have moved
            // within it (set twice in one step).
            let first = if mark.is_some() { last_step } else { from };
            for step in first..=last_step {
                let q = self.cfg.market.quote_at(&po.order.symbol, step, mark);
                if let Some(px) = self.evaluate(&mut po, &q) {
                    let at = (step * self.cfg.market.step_ms).max(po.order.created_ms);
                    self.apply_fill(w, &mut po, px, at, None).await?;
                    filled = true;
                    break;
                }
            }
            po.checked_step = po.checked_step.max(last_step);
            if !filled && po.expires_ms.is_some_and(|e| e <= now) {
                po.order.status = OrderStatus::Expired;
                po.order.reason = Some(format!(
                    "time in force `day` ended at {} ({})",
                    Session::of_symbol(&po.order.symbol).describe(),
                    crate::dates::format_iso_ms(po.expires_ms.unwrap_or(now))
                ));
                po.order.updated_ms = now;
                let snapshot = po.order.clone();
                self.audit(
                    w,
                    now,
                    "order_expired",
                    &snapshot,
                    json!({"expires_ms": po.expires_ms}),
                )
                .await?;
            }
            if filled
                || po.order.status == OrderStatus::Expired
                || before != (po.checked_step, po.extreme, po.triggered)
            {
                self.update_order(w, &po);
                changed += 1;
            }
            if filled || po.order.status == OrderStatus::Expired {
                updates.push(OrderUpdate::from_status(po.order.clone()));
            }
            if po.order.status.is_working() {
                working.push(po.order);
            }
        }
        Ok((changed, updates, working))
    }

    /// Places `req` as the Broker trait asks (`checks` already run by the
    /// caller): a repeated client id answers the stored order when the
    /// request matches it.
    pub(super) async fn place(&self, req: &OrderRequest, checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        self.ensure_account().await?;
        let symbol = req.symbol.trim().to_ascii_uppercase();
        let mut w = ChainTx::begin(self.store.pool()).await?;
        let (_, mut updates, _) = self.sweep_in(&mut w).await?;
        if let Some(existing) = self
            .find(w.conn().await?, req.client_order_id.trim())
            .await?
        {
            w.commit().await?;
            self.publish(updates);
            return same_request(existing.order, req, &symbol);
        }
        let currency = Instrument::paper(&symbol).currency;
        let book = self
            .load_book(w.conn().await?, &self.cfg.account_id, &symbol, &currency)
            .await?;
        if let Some(reason) = Self::position_rule(req.side, req.qty, book.qty, &symbol) {
            w.commit().await?;
            self.publish(updates);
            return Err(BrokersError::refused("position", reason));
        }
        let quote = self.quote_now(w.conn().await?, &symbol).await?;
        let po = self
            .open_order(&mut w, req, &symbol, checks, book, &quote, &mut updates)
            .await?;
        self.insert_order(&mut w, &po);
        let placed = Placed {
            order: po.order,
            new: true,
            checks: checks.to_vec(),
            reduced_from: None,
        };
        let step = Step::answer(Ok(placed), updates);
        self.finish(w, step, false).await.map(|p| p.order)
    }

    /// Places `req` through the desk's steps in one transaction: a known
    /// client id answers the order already placed; the account's `rules`
    /// run against the paper quote, the working orders, the position and
    /// the base currency; a refusal is audited and names its rule; an
    /// allowed order (reduced to the position when asked) is placed, filled
    /// when marketable, and audited. The served call's own audit row
    /// commits with the placed (or repeated) order. On SQLite, orders
    /// placed at the same time commit together ([`super::group`]).
    pub async fn place_reviewed(
        &self,
        req: &OrderRequest,
        rules: &ComplianceRules,
    ) -> Result<Placed> {
        req.validate()?;
        self.ensure_account().await?;
        if self.store.backend() == Backend::Sqlite {
            return self.place_grouped(req, rules).await;
        }
        let mut w = ChainTx::begin(self.store.pool()).await?;
        let step = self.review_in(&mut w, req, rules).await?;
        self.finish(w, step, true).await
    }

    /// Commits one order's transaction, with the served call's audit row
    /// when `record_call` and the order was placed or repeated, and
    /// publishes its updates. A concurrent call with the same client id that
    /// won the insert (another connection, PostgreSQL) answers its order
    /// instead.
    async fn finish(&self, mut w: ChainTx, step: Step, record_call: bool) -> Result<Placed> {
        if record_call && step.answer.is_ok() {
            w.record_call();
        }
        if let Err(err) = w.commit().await {
            if let Ok(placed) = &step.answer
                && placed.new
            {
                let mut conn = self.store.pool().acquire().await?;
                if let Some(existing) = self.find(&mut conn, &placed.order.client_order_id).await? {
                    return same_order(existing.order, &placed.order).map(Placed::repeat);
                }
            }
            return Err(err);
        }
        self.publish(step.updates);
        step.answer
    }

    /// The desk's steps for `req` inside `w` (see
    /// [`PaperBroker::place_reviewed`]), without the commit: what the order
    /// came to and the updates to publish once committed. An `Err` is a
    /// failure whose writes must not be kept; a refusal is an `Ok` step
    /// whose answer is the refusal, its audit row kept.
    pub(super) async fn review_in(
        &self,
        w: &mut ChainTx,
        req: &OrderRequest,
        rules: &ComplianceRules,
    ) -> Result<Step> {
        let cid = req.client_order_id.trim();
        let symbol = req.symbol.trim().to_ascii_uppercase();
        let currency = Instrument::paper(&symbol).currency;
        let snap = self.snapshot(w, cid, &symbol, &currency).await?;
        // Working orders are rare on the way in (market orders fill at
        // once): only then replay the price path, and read the book again
        // after the sweep's fills.
        let (mut updates, resting, book) = if snap.working {
            let (_, updates, resting) = self.sweep_in(w).await?;
            let book = self
                .load_book(w.conn().await?, &self.cfg.account_id, &symbol, &currency)
                .await?;
            (updates, resting, book)
        } else {
            (Vec::new(), Vec::new(), snap.book)
        };
        if snap.known
            && let Some(existing) = self.find(w.conn().await?, cid).await?
        {
            return Ok(Step::answer(Ok(Placed::repeat(existing.order)), updates));
        }
        let now = self.clock.now_ms();
        let step = self.cfg.market.step_of(now);
        let quote = self.cfg.market.quote_at(&symbol, step, snap.mark);
        let held = if matches!(req.side, Side::Sell | Side::SellShort) {
            book.qty
        } else {
            Decimal::ZERO
        };
        let account_currency = rules
            .max_order_value
            .map(|_| self.cfg.base_currency.to_ascii_uppercase());
        let quote_currency = quote.currency.to_ascii_uppercase();
        let pair_on_account = symbol.split_once('_').is_some_and(|(base, q)| {
            Some(base) == account_currency.as_deref() && q == quote_currency
        });
        let fx = match &account_currency {
            Some(acct) if *acct != quote_currency && !pair_on_account => {
                self.rate_in(w.conn().await?, &quote_currency, acct, now)
                    .await?
            }
            _ => None,
        };
        let mut review = compliance::review(
            rules,
            req,
            &Context {
                quote: &quote,
                resting: &resting,
                held,
                account_currency: account_currency.as_deref(),
                rate: fx.as_ref(),
            },
        );
        if let Some(check) = self
            .kill_check(w.conn().await?, &review.order, held, &resting)
            .await?
        {
            compliance::insert_check(&mut review.checks, check);
        }
        if let Some(refusal) = compliance::refusal(&review.checks) {
            let payload = json!({"request": req, "checks": review.checks});
            w.append(&AuditEvent {
                at_ms: now,
                venue: PAPER,
                account_id: &self.cfg.account_id,
                kind: "check_failed",
                order_id: None,
                client_order_id: Some(cid),
                payload: &payload,
            })
            .await?;
            return Ok(Step::answer(Err(refusal), updates));
        }
        let order_req = &review.order;
        if let Some(reason) = Self::position_rule(order_req.side, order_req.qty, book.qty, &symbol)
        {
            return Ok(Step::answer(
                Err(BrokersError::refused("position", reason)),
                updates,
            ));
        }
        let po = self
            .open_order(
                w,
                order_req,
                &symbol,
                &review.checks,
                book,
                &quote,
                &mut updates,
            )
            .await?;
        self.insert_order(w, &po);
        Ok(Step::answer(
            Ok(Placed {
                order: po.order,
                new: true,
                checks: review.checks,
                reduced_from: review.reduced_from,
            }),
            updates,
        ))
    }

    /// The rate from `from` to `to` for the order value limit: the stored
    /// daily CAD rates, else the paper market's quote of the pair.
    async fn rate_in(
        &self,
        conn: &mut AnyConnection,
        from: &str,
        to: &str,
        now_ms: i64,
    ) -> Result<Option<Rate>> {
        if let Some(r) = crate::desk::stored_rate_on(conn, from, to, now_ms).await? {
            return Ok(Some(r));
        }
        for (pair, invert) in [
            (format!("{from}_{to}"), false),
            (format!("{to}_{from}"), true),
        ] {
            let q = self.quote_now(conn, &pair).await?;
            if q.last > Decimal::ZERO {
                let value = if invert {
                    Decimal::ONE / q.last
                } else {
                    q.last
                };
                return Ok(Some(Rate {
                    value: value.round_dp(10),
                    source: format!("{PAPER} quote of {pair} at {}", q.last),
                }));
            }
        }
        Ok(None)
    }

    /// Writes a new order in `w`: its audit rows, its fill when marketable
    /// (with the `book` already read), or its end when IOC/FOK and not
    /// marketable; the order row is inserted once, in its final state.
    #[allow(clippy::too_many_arguments)]
    async fn open_order(
        &self,
        w: &mut ChainTx,
        req: &OrderRequest,
        symbol: &str,
        checks: &[CheckResult],
        book: Book,
        quote: &Quote,
        updates: &mut Vec<OrderUpdate>,
    ) -> Result<PaperOrder> {
        let now = self.clock.now_ms();
        let step = self.cfg.market.step_of(now);
        let expires_ms = match req.time_in_force {
            // The close of the symbol's market (16:00 New York for US and
            // Canadian equities, 13:00 on early-close days; 17:00 New York
            // for currency pairs), not UTC midnight.
            TimeInForce::Day => Some(Session::of_symbol(symbol).day_order_end(now)),
            _ => None,
        };
        let mut po = PaperOrder {
            order: Order {
                id: format!("P-{}", uuid::Uuid::now_v7().simple()),
                client_order_id: req.client_order_id.trim().to_string(),
                account_id: self.cfg.account_id.clone(),
                symbol: symbol.to_string(),
                currency: Instrument::paper(symbol).currency,
                side: req.side,
                order_type: req.order_type,
                time_in_force: req.time_in_force,
                qty: req.qty,
                limit_price: req.limit_price,
                stop_price: req.stop_price,
                trail_amount: req.trail_amount,
                trail_percent: req.trail_percent,
                status: OrderStatus::Open,
                filled_qty: Decimal::ZERO,
                avg_fill_price: None,
                commission: Decimal::ZERO,
                reason: None,
                created_ms: now,
                updated_ms: now,
            },
            extreme: None,
            triggered: false,
            checked_step: step,
            expires_ms,
        };
        let fill = self.evaluate(&mut po, quote);
        let accepted = po.order.clone();
        if !checks.is_empty() {
            self.audit(
                w,
                now,
                "checks_passed",
                &accepted,
                json!({"checks": checks}),
            )
            .await?;
        }
        self.audit(
            w,
            now,
            "order_accepted",
            &accepted,
            json!({"request": req, "quote": quote}),
        )
        .await?;
        match fill {
            Some(px) => self.apply_fill(w, &mut po, px, now, Some(book)).await?,
            None if matches!(req.time_in_force, TimeInForce::Ioc | TimeInForce::Fok) => {
                po.order.status = OrderStatus::Cancelled;
                po.order.reason = Some(format!(
                    "time in force `{}`: not marketable at bid {} / ask {}",
                    req.time_in_force.as_str(),
                    quote.bid,
                    quote.ask
                ));
                let snapshot = po.order.clone();
                self.audit(
                    w,
                    now,
                    "order_cancelled",
                    &snapshot,
                    json!({"reason": snapshot.reason}),
                )
                .await?;
            }
            None => {}
        }
        updates.push(OrderUpdate::from_status(accepted.clone()));
        if po.order != accepted {
            updates.push(OrderUpdate::from_status(po.order.clone()));
        }
        Ok(po)
    }
}

/// What placing one order inside a shared transaction came to: the answer
/// (the order, or a refusal whose audit row is kept) and the order updates
/// to publish once the transaction commits.
pub(super) struct Step {
    /// The caller's answer.
    pub(super) answer: Result<Placed>,
    /// Updates to publish after the commit.
    pub(super) updates: Vec<OrderUpdate>,
}

impl Step {
    fn answer(answer: Result<Placed>, updates: Vec<OrderUpdate>) -> Self {
        Self { answer, updates }
    }
}

/// What makes two orders with one client id the same order.
type OrderKey<'a> = (
    &'a str,
    Side,
    Decimal,
    OrderType,
    Option<Decimal>,
    TimeInForce,
);

fn key_of(o: &Order) -> OrderKey<'_> {
    (
        &o.symbol,
        o.side,
        o.qty,
        o.order_type,
        o.limit_price,
        o.time_in_force,
    )
}

/// The stored order for a client id that another call placed first, when it
/// is the same order as `ours`.
fn same_order(existing: Order, ours: &Order) -> Result<Order> {
    reuse(existing, &ours.client_order_id, key_of(ours))
}

/// The stored order for a repeated client id, when the request matches it.
fn same_request(existing: Order, req: &OrderRequest, symbol: &str) -> Result<Order> {
    let ours = (
        symbol,
        req.side,
        req.qty,
        req.order_type,
        req.limit_price,
        req.time_in_force,
    );
    reuse(existing, &req.client_order_id, ours)
}

/// `existing` when it is the order `ours` describes, else the error for a
/// client id used twice.
fn reuse(existing: Order, cid: &str, ours: OrderKey<'_>) -> Result<Order> {
    if key_of(&existing) == ours {
        return Ok(existing);
    }
    Err(BrokersError::invalid(
        "client_order_id",
        format!(
            "`{cid}` was already used for a different order ({}); choose a new id",
            existing.id
        ),
    ))
}
