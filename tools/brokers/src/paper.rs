//! The paper broker: a simulated venue whose cash, positions, orders and
//! fills live in the database, so they survive a restart. Market orders
//! fill at the simulated quote with slippage and commission; limit, stop,
//! stop-limit and trailing orders fill when the simulated price crosses
//! them (every step since the order was last looked at is replayed, up to
//! a bound). Every state change appends to the hash-chained audit trail in
//! the same transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::Store;
use nt_mcp_core::bundle::VenueMode;
use nt_mcp_core::clock::Clock;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tokio::sync::OnceCell;

use crate::audit::{self, AuditEvent};
use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};
use crate::calendar::Session;
use crate::compliance::CheckResult;
use crate::error::{BrokersError, Result};
use crate::sim::{SimMarket, price_dp};
use crate::types::{
    Account, Balance, Candle, Execution, Instrument, Order, OrderRequest, OrderStatus, OrderType,
    Position, Quote, Side, TimeInForce, dec, opt_dec,
};

/// The venue name the paper broker reports.
pub const PAPER: &str = "paper";

/// How the paper broker behaves.
#[derive(Debug, Clone)]
pub struct PaperConfig {
    /// The account id.
    pub account_id: String,
    /// Base currency of the account.
    pub base_currency: String,
    /// Cash per currency when the account is first created.
    pub starting_cash: BTreeMap<String, Decimal>,
    /// The simulated market.
    pub market: SimMarket,
    /// Slippage on market and stop fills, in basis points.
    pub slippage_bps: Decimal,
    /// Commission per share (unit).
    pub commission_per_share: Decimal,
    /// Minimum commission per fill.
    pub min_commission: Decimal,
    /// Most price steps replayed for one resting order per look.
    pub max_scan_steps: i64,
}

impl Default for PaperConfig {
    fn default() -> Self {
        let mut cash = BTreeMap::new();
        cash.insert("CAD".to_string(), Decimal::from(100_000));
        cash.insert("USD".to_string(), Decimal::from(100_000));
        Self {
            account_id: "paper-1".into(),
            base_currency: "CAD".into(),
            starting_cash: cash,
            market: SimMarket::default(),
            slippage_bps: Decimal::from(5),
            commission_per_share: Decimal::new(1, 2),
            min_commission: Decimal::ONE,
            max_scan_steps: 20_000,
        }
    }
}

/// The paper broker over a store.
pub struct PaperBroker {
    store: Store,
    clock: Arc<dyn Clock>,
    cfg: Arc<PaperConfig>,
    ready: OnceCell<()>,
    events: tokio::sync::broadcast::Sender<OrderUpdate>,
}

/// How many order updates a slow watcher may fall behind before it is told
/// it missed some.
const EVENT_BUFFER: usize = 1024;

/// Most symbols one paper quote stream follows.
pub const MAX_STREAM_SYMBOLS: usize = 50;

async fn mark_of(conn: &mut AnyConnection, symbol: &str) -> Result<Option<Decimal>> {
    let row = sqlx::query("SELECT price FROM broker_paper_marks WHERE symbol = $1")
        .bind(symbol)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| dec(&r.try_get::<String, _>(0)?)).transpose()
}

/// An order with the paper venue's working state.
#[derive(Debug, Clone)]
struct PaperOrder {
    order: Order,
    extreme: Option<Decimal>,
    triggered: bool,
    checked_step: i64,
    expires_ms: Option<i64>,
}

const ORDER_COLUMNS: &str = "id, account_id, client_order_id, symbol, currency, side, order_type, tif, qty, \
    limit_price, stop_price, trail_amount, trail_percent, extreme_price, triggered, status, filled_qty, \
    avg_fill_price, commission, reason, checked_step, expires_ms, created_ms, updated_ms";

fn decode_order(row: &AnyRow) -> Result<PaperOrder> {
    let s = |i: usize| -> Result<String> { Ok(row.try_get::<String, _>(i)?) };
    let o = |i: usize| -> Result<Option<String>> { Ok(row.try_get::<Option<String>, _>(i)?) };
    Ok(PaperOrder {
        order: Order {
            id: s(0)?,
            account_id: s(1)?,
            client_order_id: s(2)?,
            symbol: s(3)?,
            currency: s(4)?,
            side: Side::parse(&s(5)?)?,
            order_type: OrderType::parse(&s(6)?)?,
            time_in_force: TimeInForce::parse(&s(7)?)?,
            qty: dec(&s(8)?)?,
            limit_price: opt_dec(o(9)?)?,
            stop_price: opt_dec(o(10)?)?,
            trail_amount: opt_dec(o(11)?)?,
            trail_percent: opt_dec(o(12)?)?,
            status: OrderStatus::parse(&s(15)?)?,
            filled_qty: dec(&s(16)?)?,
            avg_fill_price: opt_dec(o(17)?)?,
            commission: dec(&s(18)?)?,
            reason: o(19)?,
            created_ms: row.try_get(22)?,
            updated_ms: row.try_get(23)?,
        },
        extreme: opt_dec(o(13)?)?,
        triggered: row.try_get::<i64, _>(14)? != 0,
        checked_step: row.try_get(20)?,
        expires_ms: row.try_get(21)?,
    })
}

fn ds(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.normalize().to_string())
}

fn d(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The cash and position effect of a fill, before it is written.
struct Book {
    cash: Decimal,
    qty: Decimal,
    avg: Decimal,
    realized: Decimal,
}

impl PaperBroker {
    /// A paper broker over `store`, with time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, cfg: PaperConfig) -> Self {
        Self {
            store,
            clock,
            cfg: Arc::new(cfg),
            ready: OnceCell::new(),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PaperConfig {
        &self.cfg
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.cfg.account_id
    }

    async fn ensure_account(&self) -> Result<()> {
        self.ready
            .get_or_try_init(|| async {
                let mut tx = audit::begin(self.store.pool()).await?;
                let exists = sqlx::query("SELECT 1 FROM broker_paper_accounts WHERE account_id = $1")
                    .bind(&self.cfg.account_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if !exists {
                    let now = self.clock.now_ms();
                    sqlx::query("INSERT INTO broker_paper_accounts (account_id, base_currency, created_ms) VALUES ($1, $2, $3)")
                        .bind(&self.cfg.account_id)
                        .bind(&self.cfg.base_currency)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    for (currency, amount) in &self.cfg.starting_cash {
                        sqlx::query("INSERT INTO broker_paper_cash (account_id, currency, amount) VALUES ($1, $2, $3)")
                            .bind(&self.cfg.account_id)
                            .bind(currency)
                            .bind(d(*amount))
                            .execute(&mut *tx)
                            .await?;
                    }
                    let payload = json!({"starting_cash": self.cfg.starting_cash});
                    audit::append(
                        &mut tx,
                        &AuditEvent {
                            at_ms: now,
                            venue: PAPER,
                            account_id: &self.cfg.account_id,
                            kind: "account_opened",
                            order_id: None,
                            client_order_id: None,
                            payload: &payload,
                        },
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok::<(), BrokersError>(())
            })
            .await?;
        Ok(())
    }

    async fn mark(&self, conn: &mut AnyConnection, symbol: &str) -> Result<Option<Decimal>> {
        mark_of(conn, symbol).await
    }

    /// Tells watchers (`order_updates`) about committed order changes.
    fn publish(&self, updates: impl IntoIterator<Item = OrderUpdate>) {
        for u in updates {
            // No receiver is not an error: nobody is watching.
            let _ = self.events.send(u);
        }
    }

    /// Pins the simulated price of `symbol` at `price` (or releases it back
    /// to the simulated process with `None`), then lets resting orders react.
    pub async fn set_mark(&self, symbol: &str, price: Option<Decimal>) -> Result<Quote> {
        self.ensure_account().await?;
        let symbol = symbol.to_ascii_uppercase();
        if let Some(p) = price
            && p <= Decimal::ZERO
        {
            return Err(BrokersError::invalid("price", "must be greater than zero"));
        }
        let now = self.clock.now_ms();
        match price {
            Some(p) => {
                sqlx::query(
                    "INSERT INTO broker_paper_marks (symbol, price, at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, at_ms = excluded.at_ms",
                )
                .bind(&symbol)
                .bind(d(p))
                .bind(now)
                .execute(self.store.pool())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM broker_paper_marks WHERE symbol = $1")
                    .bind(&symbol)
                    .execute(self.store.pool())
                    .await?;
            }
        }
        self.sweep().await?;
        self.quote(&symbol).await
    }

    async fn quote_now(&self, conn: &mut AnyConnection, symbol: &str) -> Result<Quote> {
        let mark = self.mark(conn, symbol).await?;
        let step = self.cfg.market.step_of(self.clock.now_ms());
        Ok(self.cfg.market.quote_at(symbol, step, mark))
    }

    fn trail_stop(&self, order: &Order, extreme: Decimal) -> Decimal {
        let dp = price_dp(&order.symbol);
        let buy = order.side.is_buy();
        let stop = match (order.trail_amount, order.trail_percent) {
            (Some(amount), _) => {
                if buy {
                    extreme + amount
                } else {
                    extreme - amount
                }
            }
            (None, Some(pct)) => {
                let f = pct / Decimal::ONE_HUNDRED;
                if buy {
                    extreme * (Decimal::ONE + f)
                } else {
                    extreme * (Decimal::ONE - f)
                }
            }
            (None, None) => extreme,
        };
        stop.round_dp(dp)
    }

    /// The fill price for `po` at quote `q`, if it trades there; updates the
    /// trailing extreme and the stop-limit trigger as a side effect.
    fn evaluate(&self, po: &mut PaperOrder, q: &Quote) -> Option<Decimal> {
        let order = &po.order;
        let buy = order.side.is_buy();
        let dp = price_dp(&order.symbol);
        let slip = self.cfg.slippage_bps / Decimal::from(10_000);
        let market_px = if buy {
            (q.ask * (Decimal::ONE + slip)).round_dp(dp)
        } else {
            (q.bid * (Decimal::ONE - slip)).round_dp(dp)
        };
        let touch = if buy { q.ask } else { q.bid };
        let limit_ok = |limit: Decimal| if buy { q.ask <= limit } else { q.bid >= limit };
        let stop_hit = |stop: Decimal| if buy { q.last >= stop } else { q.last <= stop };
        match order.order_type {
            OrderType::Market => Some(market_px),
            OrderType::Limit => order.limit_price.filter(|l| limit_ok(*l)).map(|_| touch),
            OrderType::Stop => order.stop_price.filter(|s| stop_hit(*s)).map(|_| market_px),
            OrderType::StopLimit => {
                if !po.triggered {
                    if order.stop_price.is_some_and(stop_hit) {
                        po.triggered = true;
                    } else {
                        return None;
                    }
                }
                po.order.limit_price.filter(|l| limit_ok(*l)).map(|_| touch)
            }
            OrderType::TrailingStop => {
                let extreme = po.extreme.unwrap_or(q.last);
                let stop = self.trail_stop(order, extreme);
                if stop_hit(stop) {
                    po.order.stop_price = Some(stop);
                    return Some(market_px);
                }
                let extreme = if buy {
                    extreme.min(q.last)
                } else {
                    extreme.max(q.last)
                };
                po.extreme = Some(extreme);
                po.order.stop_price = Some(self.trail_stop(&po.order, extreme));
                None
            }
        }
    }

    async fn load_book(
        &self,
        conn: &mut AnyConnection,
        account: &str,
        symbol: &str,
        currency: &str,
    ) -> Result<Book> {
        let cash = sqlx::query(
            "SELECT amount FROM broker_paper_cash WHERE account_id = $1 AND currency = $2",
        )
        .bind(account)
        .bind(currency)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| dec(&r.try_get::<String, _>(0)?))
        .transpose()?
        .unwrap_or(Decimal::ZERO);
        let pos = sqlx::query("SELECT qty, avg_price, realized_pnl FROM broker_paper_positions WHERE account_id = $1 AND symbol = $2")
            .bind(account)
            .bind(symbol)
            .fetch_optional(&mut *conn)
            .await?;
        let (qty, avg, realized) = match pos {
            Some(r) => (
                dec(&r.try_get::<String, _>(0)?)?,
                dec(&r.try_get::<String, _>(1)?)?,
                dec(&r.try_get::<String, _>(2)?)?,
            ),
            None => (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
        };
        Ok(Book {
            cash,
            qty,
            avg,
            realized,
        })
    }

    /// Why `side` for `qty` cannot trade against position `held`, if it cannot.
    fn position_rule(side: Side, qty: Decimal, held: Decimal, symbol: &str) -> Option<String> {
        match side {
            Side::Sell if held < qty => Some(format!(
                "selling {qty} {symbol} needs a long position of at least {qty} (held {held}); use sell_short to go short"
            )),
            Side::BuyToCover if -held < qty => Some(format!(
                "buying to cover {qty} {symbol} needs a short position of at least {qty} (held {held})"
            )),
            Side::SellShort if held > Decimal::ZERO => Some(format!(
                "cannot sell short {symbol} while holding a long position of {held}; sell it first"
            )),
            Side::Buy if held < Decimal::ZERO => {
                Some(format!("{symbol} is held short ({held}); use buy_to_cover"))
            }
            _ => None,
        }
    }

    async fn audit(
        &self,
        conn: &mut AnyConnection,
        at_ms: i64,
        kind: &str,
        order: &Order,
        payload: serde_json::Value,
    ) -> Result<()> {
        audit::append(
            conn,
            &AuditEvent {
                at_ms,
                venue: PAPER,
                account_id: &order.account_id,
                kind,
                order_id: Some(&order.id),
                client_order_id: Some(&order.client_order_id),
                payload: &payload,
            },
        )
        .await?;
        Ok(())
    }

    /// Fills the rest of `po` at `price`, moving cash and position, or rejects
    /// it when cash or position no longer allow it.
    async fn apply_fill(
        &self,
        conn: &mut AnyConnection,
        po: &mut PaperOrder,
        price: Decimal,
        at_ms: i64,
    ) -> Result<()> {
        let order = po.order.clone();
        let qty = order.qty - order.filled_qty;
        let book = self
            .load_book(conn, &order.account_id, &order.symbol, &order.currency)
            .await?;
        let commission = crate::money::round_cents(
            (qty * self.cfg.commission_per_share).max(self.cfg.min_commission),
        );
        let value = qty * price;
        let buy = order.side.is_buy();
        let mut problem = Self::position_rule(order.side, qty, book.qty, &order.symbol);
        if problem.is_none() && buy && book.cash < value + commission {
            problem = Some(format!(
                "insufficient {} cash: {} needed, {} available",
                order.currency,
                (value + commission).round_dp(2),
                book.cash
            ));
        }
        if let Some(reason) = problem {
            po.order.status = OrderStatus::Rejected;
            po.order.reason = Some(reason.clone());
            po.order.updated_ms = at_ms;
            let snapshot = po.order.clone();
            return self
                .audit(
                    conn,
                    at_ms,
                    "order_rejected",
                    &snapshot,
                    json!({"reason": reason}),
                )
                .await;
        }
        let cash = if buy {
            book.cash - value - commission
        } else {
            book.cash + value - commission
        };
        let signed = if buy { qty } else { -qty };
        let (new_qty, new_avg, realized) =
            if book.qty.is_zero() || (book.qty > Decimal::ZERO) == (signed > Decimal::ZERO) {
                let held = book.qty.abs();
                let avg = (held * book.avg + qty * price) / (held + qty);
                (book.qty + signed, avg.round_dp(8), book.realized)
            } else {
                let direction = if book.qty > Decimal::ZERO {
                    Decimal::ONE
                } else {
                    Decimal::NEGATIVE_ONE
                };
                let realized = book.realized + (price - book.avg) * qty * direction;
                let q = book.qty + signed;
                (
                    q,
                    if q.is_zero() { Decimal::ZERO } else { book.avg },
                    realized,
                )
            };
        let account = order.account_id.clone();
        sqlx::query(
            "INSERT INTO broker_paper_cash (account_id, currency, amount) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, currency) DO UPDATE SET amount = excluded.amount",
        )
        .bind(&account)
        .bind(&order.currency)
        .bind(d(cash))
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO broker_paper_positions (account_id, symbol, currency, qty, avg_price, realized_pnl) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account_id, symbol) DO UPDATE SET qty = excluded.qty, avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl",
        )
        .bind(&account)
        .bind(&order.symbol)
        .bind(&order.currency)
        .bind(d(new_qty))
        .bind(d(new_avg))
        .bind(d(realized))
        .execute(&mut *conn)
        .await?;
        let fill_id = format!("F-{}", uuid::Uuid::now_v7().simple());
        sqlx::query(
            "INSERT INTO broker_paper_fills (id, order_id, account_id, symbol, currency, side, qty, price, commission, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&fill_id)
        .bind(&order.id)
        .bind(&account)
        .bind(&order.symbol)
        .bind(&order.currency)
        .bind(order.side.as_str())
        .bind(d(qty))
        .bind(d(price))
        .bind(d(commission))
        .bind(at_ms)
        .execute(&mut *conn)
        .await?;
        po.order.status = OrderStatus::Filled;
        po.order.filled_qty = order.qty;
        po.order.avg_fill_price = Some(price);
        po.order.commission += commission;
        po.order.updated_ms = at_ms;
        let snapshot = po.order.clone();
        self.audit(
            conn,
            at_ms,
            "fill",
            &snapshot,
            json!({
                "fill_id": fill_id, "symbol": snapshot.symbol, "side": snapshot.side, "qty": qty, "price": price,
                "commission": commission, "currency": snapshot.currency, "cash_after": cash, "position_after": new_qty,
            }),
        )
        .await
    }

    async fn insert_order(&self, conn: &mut AnyConnection, po: &PaperOrder) -> Result<()> {
        let o = &po.order;
        sqlx::query(&format!(
            "INSERT INTO broker_paper_orders ({ORDER_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
        ))
        .bind(&o.id)
        .bind(&o.account_id)
        .bind(&o.client_order_id)
        .bind(&o.symbol)
        .bind(&o.currency)
        .bind(o.side.as_str())
        .bind(o.order_type.as_str())
        .bind(o.time_in_force.as_str())
        .bind(d(o.qty))
        .bind(ds(o.limit_price))
        .bind(ds(o.stop_price))
        .bind(ds(o.trail_amount))
        .bind(ds(o.trail_percent))
        .bind(ds(po.extreme))
        .bind(i64::from(po.triggered))
        .bind(o.status.as_str())
        .bind(d(o.filled_qty))
        .bind(ds(o.avg_fill_price))
        .bind(d(o.commission))
        .bind(o.reason.as_deref())
        .bind(po.checked_step)
        .bind(po.expires_ms)
        .bind(o.created_ms)
        .bind(o.updated_ms)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn update_order(&self, conn: &mut AnyConnection, po: &PaperOrder) -> Result<()> {
        let o = &po.order;
        sqlx::query(
            "UPDATE broker_paper_orders SET qty = $2, limit_price = $3, stop_price = $4, extreme_price = $5, triggered = $6, \
             status = $7, filled_qty = $8, avg_fill_price = $9, commission = $10, reason = $11, checked_step = $12, updated_ms = $13 \
             WHERE id = $1",
        )
        .bind(&o.id)
        .bind(d(o.qty))
        .bind(ds(o.limit_price))
        .bind(ds(o.stop_price))
        .bind(ds(po.extreme))
        .bind(i64::from(po.triggered))
        .bind(o.status.as_str())
        .bind(d(o.filled_qty))
        .bind(ds(o.avg_fill_price))
        .bind(d(o.commission))
        .bind(o.reason.as_deref())
        .bind(po.checked_step)
        .bind(o.updated_ms)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn find(
        &self,
        conn: &mut AnyConnection,
        id_or_client: &str,
    ) -> Result<Option<PaperOrder>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM broker_paper_orders WHERE account_id = $1 AND (id = $2 OR client_order_id = $2)"
        ))
        .bind(&self.cfg.account_id)
        .bind(id_or_client)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(decode_order).transpose()
    }

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
        let mut tx = audit::begin(self.store.pool()).await?;
        let now = self.clock.now_ms();
        let now_step = self.cfg.market.step_of(now);
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM broker_paper_orders WHERE account_id = $1 AND status IN ('open', 'partially_filled') ORDER BY created_ms, id"
        ))
        .bind(&self.cfg.account_id)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut changed = 0;
        let mut updates = Vec::new();
        for row in &rows {
            let mut po = decode_order(row)?;
            let mark = self.mark(&mut tx, &po.order.symbol).await?;
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
                    self.apply_fill(&mut tx, &mut po, px, at).await?;
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
                    &mut tx,
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
                self.update_order(&mut tx, &po).await?;
                changed += 1;
            }
            if filled || po.order.status == OrderStatus::Expired {
                updates.push(OrderUpdate::from_status(po.order.clone()));
            }
        }
        tx.commit().await?;
        self.publish(updates);
        Ok(changed)
    }

    async fn place(&self, req: &OrderRequest, checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        self.ensure_account().await?;
        self.sweep().await?;
        let symbol = req.symbol.trim().to_ascii_uppercase();
        let mut tx = audit::begin(self.store.pool()).await?;
        if let Some(existing) = self.find(&mut tx, req.client_order_id.trim()).await? {
            return same_request(existing.order, req, &symbol);
        }
        let now = self.clock.now_ms();
        let instrument = Instrument::paper(&symbol);
        let book = self
            .load_book(&mut tx, &self.cfg.account_id, &symbol, &instrument.currency)
            .await?;
        if let Some(reason) = Self::position_rule(req.side, req.qty, book.qty, &symbol) {
            return Err(BrokersError::refused("position", reason));
        }
        let step = self.cfg.market.step_of(now);
        let quote = self.quote_now(&mut tx, &symbol).await?;
        let expires_ms = match req.time_in_force {
            // The close of the symbol's market (16:00 New York for US and
            // Canadian equities, 13:00 on early-close days; 17:00 New York
            // for currency pairs), not UTC midnight.
            TimeInForce::Day => Some(Session::of_symbol(&symbol).day_order_end(now)),
            _ => None,
        };
        let mut po = PaperOrder {
            order: Order {
                id: format!("P-{}", uuid::Uuid::now_v7().simple()),
                client_order_id: req.client_order_id.trim().to_string(),
                account_id: self.cfg.account_id.clone(),
                symbol: symbol.clone(),
                currency: instrument.currency,
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
        let fill = self.evaluate(&mut po, &quote);
        if let Err(err) = self.insert_order(&mut tx, &po).await {
            // A concurrent call with the same client id won the insert.
            drop(tx);
            let mut conn = self.store.pool().acquire().await?;
            return match self.find(&mut conn, req.client_order_id.trim()).await? {
                Some(existing) => same_request(existing.order, req, &symbol),
                None => Err(err),
            };
        }
        let accepted = po.order.clone();
        if !checks.is_empty() {
            self.audit(
                &mut tx,
                now,
                "checks_passed",
                &accepted,
                json!({"checks": checks}),
            )
            .await?;
        }
        self.audit(
            &mut tx,
            now,
            "order_accepted",
            &accepted,
            json!({"request": req, "quote": quote}),
        )
        .await?;
        match fill {
            Some(px) => self.apply_fill(&mut tx, &mut po, px, now).await?,
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
                    &mut tx,
                    now,
                    "order_cancelled",
                    &snapshot,
                    json!({"reason": snapshot.reason}),
                )
                .await?;
            }
            None => {}
        }
        if po.order != accepted || po.extreme.is_some() {
            self.update_order(&mut tx, &po).await?;
        }
        tx.commit().await?;
        let mut updates = vec![OrderUpdate::from_status(accepted.clone())];
        if po.order != accepted {
            updates.push(OrderUpdate::from_status(po.order.clone()));
        }
        self.publish(updates);
        Ok(po.order)
    }
}

/// The stored order for a repeated client id, when the request matches it.
fn same_request(existing: Order, req: &OrderRequest, symbol: &str) -> Result<Order> {
    let same = existing.symbol == symbol
        && existing.side == req.side
        && existing.qty == req.qty
        && existing.order_type == req.order_type
        && existing.limit_price == req.limit_price
        && existing.time_in_force == req.time_in_force;
    if same {
        Ok(existing)
    } else {
        Err(BrokersError::invalid(
            "client_order_id",
            format!(
                "`{}` was already used for a different order ({}); choose a new id",
                req.client_order_id, existing.id
            ),
        ))
    }
}

#[async_trait]
impl Broker for PaperBroker {
    fn venue(&self) -> &str {
        PAPER
    }

    fn mode(&self) -> VenueMode {
        VenueMode::Paper
    }

    fn records_own_audit(&self) -> bool {
        true
    }

    async fn account(&self) -> Result<Account> {
        self.sweep().await?;
        let mut conn = self.store.pool().acquire().await?;
        let cash = sqlx::query("SELECT currency, amount FROM broker_paper_cash WHERE account_id = $1 ORDER BY currency")
            .bind(&self.cfg.account_id)
            .fetch_all(&mut *conn)
            .await?;
        drop(conn);
        let positions = self.positions().await?;
        let mut balances = Vec::new();
        for row in &cash {
            let currency: String = row.try_get(0)?;
            let amount = dec(&row.try_get::<String, _>(1)?)?;
            let held: Decimal = positions
                .iter()
                .filter(|p| p.currency == currency)
                .map(|p| p.qty * p.market_price.unwrap_or(p.avg_price))
                .sum();
            balances.push(Balance {
                currency,
                cash: amount,
                equity: Some((amount + held).round_dp(2)),
                buying_power: Some(amount),
            });
        }
        Ok(Account {
            id: self.cfg.account_id.clone(),
            venue: PAPER.into(),
            currency: self.cfg.base_currency.clone(),
            balances,
        })
    }

    async fn positions(&self) -> Result<Vec<Position>> {
        self.sweep().await?;
        let mut conn = self.store.pool().acquire().await?;
        let rows = sqlx::query("SELECT symbol, currency, qty, avg_price FROM broker_paper_positions WHERE account_id = $1 ORDER BY symbol")
            .bind(&self.cfg.account_id)
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let symbol: String = row.try_get(0)?;
            let qty = dec(&row.try_get::<String, _>(2)?)?;
            if qty.is_zero() {
                continue;
            }
            let avg = dec(&row.try_get::<String, _>(3)?)?;
            let q = self.quote_now(&mut conn, &symbol).await?;
            out.push(Position {
                currency: row.try_get(1)?,
                unrealized_pnl: Some(((q.last - avg) * qty).round_dp(2)),
                market_price: Some(q.last),
                symbol,
                qty,
                avg_price: avg,
            });
        }
        Ok(out)
    }

    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() {
            return Err(BrokersError::invalid("symbol", "must not be empty"));
        }
        let mut conn = self.store.pool().acquire().await?;
        self.quote_now(&mut conn, &symbol).await
    }

    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let mut conn = self.store.pool().acquire().await?;
        let mark = self.mark(&mut conn, &symbol).await?;
        Ok(self.cfg.market.candles(
            &symbol,
            self.clock.now_ms(),
            granularity.millis(),
            count.min(1000),
            mark,
        ))
    }

    async fn place_order(&self, req: &OrderRequest, checks: &[CheckResult]) -> Result<Order> {
        self.place(req, checks).await
    }

    async fn find_by_client_id(&self, client_order_id: &str) -> Result<Option<Order>> {
        self.ensure_account().await?;
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM broker_paper_orders WHERE account_id = $1 AND client_order_id = $2"
        ))
        .bind(&self.cfg.account_id)
        .bind(client_order_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref()
            .map(|r| decode_order(r).map(|po| po.order))
            .transpose()
    }

    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        self.sweep().await?;
        let mut tx = audit::begin(self.store.pool()).await?;
        let mut po = self
            .find(&mut tx, order_id)
            .await?
            .ok_or_else(|| BrokersError::NotFound(format!("no paper order {order_id}")))?;
        if !po.order.status.is_working() {
            return Err(BrokersError::refused(
                "order_state",
                format!(
                    "order {} is {} and cannot be replaced",
                    po.order.id,
                    po.order.status.as_str()
                ),
            ));
        }
        if let Some(q) = change.qty {
            if q <= po.order.filled_qty || q <= Decimal::ZERO {
                return Err(BrokersError::invalid(
                    "qty",
                    "must be positive and above the filled quantity",
                ));
            }
            po.order.qty = q;
        }
        if let Some(p) = change.limit_price {
            if po.order.limit_price.is_none() || p <= Decimal::ZERO {
                return Err(BrokersError::invalid(
                    "limit_price",
                    "only a positive price on an order that has one",
                ));
            }
            po.order.limit_price = Some(p);
        }
        if let Some(p) = change.stop_price {
            if !matches!(po.order.order_type, OrderType::Stop | OrderType::StopLimit)
                || p <= Decimal::ZERO
            {
                return Err(BrokersError::invalid(
                    "stop_price",
                    "only a positive price on a stop or stop-limit order",
                ));
            }
            po.order.stop_price = Some(p);
        }
        let now = self.clock.now_ms();
        po.order.updated_ms = now;
        let snapshot = po.order.clone();
        self.audit(
            &mut tx,
            now,
            "order_replaced",
            &snapshot,
            json!({"change": change}),
        )
        .await?;
        self.update_order(&mut tx, &po).await?;
        tx.commit().await?;
        self.publish([OrderUpdate {
            event: "replaced".into(),
            ..OrderUpdate::from_status(po.order.clone())
        }]);
        Ok(po.order)
    }

    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        self.sweep().await?;
        let mut tx = audit::begin(self.store.pool()).await?;
        let mut po = self
            .find(&mut tx, order_id.trim())
            .await?
            .ok_or_else(|| BrokersError::NotFound(format!("no paper order {order_id}")))?;
        if !po.order.status.is_working() {
            return Err(BrokersError::refused(
                "order_state",
                format!(
                    "order {} is already {}",
                    po.order.id,
                    po.order.status.as_str()
                ),
            ));
        }
        let now = self.clock.now_ms();
        po.order.status = OrderStatus::Cancelled;
        po.order.reason = Some("cancelled by the user".into());
        po.order.updated_ms = now;
        let snapshot = po.order.clone();
        self.audit(
            &mut tx,
            now,
            "order_cancelled",
            &snapshot,
            json!({"reason": "user"}),
        )
        .await?;
        self.update_order(&mut tx, &po).await?;
        tx.commit().await?;
        self.publish([OrderUpdate::from_status(po.order.clone())]);
        Ok(po.order)
    }

    /// Order events of this paper account as they are committed (placed,
    /// filled, replaced, cancelled, expired). Resting orders fill when the
    /// broker next looks at them (any call, or a pinned price); a watcher
    /// that falls more than 1024 updates behind gets an error naming how
    /// many it missed.
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        self.ensure_account().await?;
        let rx = self.events.subscribe();
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            use tokio::sync::broadcast::error::RecvError;
            match rx.recv().await {
                Ok(u) => Some((Ok(u), rx)),
                Err(RecvError::Lagged(n)) => Some((
                    Err(BrokersError::upstream(
                        PAPER,
                        None,
                        format!("the watcher fell behind and missed {n} order updates"),
                    )),
                    rx,
                )),
                Err(RecvError::Closed) => None,
            }
        })))
    }

    /// Simulated quotes for `symbols`, one per symbol at every step of the
    /// simulated market (clamped to 50 ms .. 5 s), at pinned prices where
    /// a symbol has one.
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        let symbols: Vec<String> = symbols
            .iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect();
        if symbols.is_empty() || symbols.len() > MAX_STREAM_SYMBOLS {
            return Err(BrokersError::invalid(
                "symbols",
                format!("give 1 to {MAX_STREAM_SYMBOLS} symbols to stream quotes for"),
            ));
        }
        let period = std::time::Duration::from_millis(
            self.cfg.market.step_ms.clamp(50, 5_000).unsigned_abs(),
        );
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let state = (
            self.store.clone(),
            self.clock.clone(),
            self.cfg.clone(),
            symbols,
            ticker,
            std::collections::VecDeque::<Quote>::new(),
        );
        Ok(Box::pin(futures::stream::unfold(
            state,
            |(store, clock, cfg, symbols, mut ticker, mut pending)| async move {
                if pending.is_empty() {
                    ticker.tick().await;
                    let step = cfg.market.step_of(clock.now_ms());
                    let mut conn = match store.pool().acquire().await {
                        Ok(c) => c,
                        Err(e) => {
                            return Some((
                                Err(e.into()),
                                (store, clock, cfg, Vec::new(), ticker, pending),
                            ));
                        }
                    };
                    for symbol in &symbols {
                        let mark = match mark_of(&mut conn, symbol).await {
                            Ok(m) => m,
                            Err(e) => {
                                drop(conn);
                                return Some((
                                    Err(e),
                                    (store, clock, cfg, Vec::new(), ticker, pending),
                                ));
                            }
                        };
                        pending.push_back(cfg.market.quote_at(symbol, step, mark));
                    }
                }
                let q = pending.pop_front()?;
                Some((Ok(q), (store, clock, cfg, symbols, ticker, pending)))
            },
        )))
    }

    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        self.sweep().await?;
        let filter = if open_only {
            "AND status IN ('open', 'partially_filled')"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM broker_paper_orders WHERE account_id = $1 {filter} ORDER BY created_ms DESC, id DESC LIMIT 500"
        ))
        .bind(&self.cfg.account_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| decode_order(r).map(|po| po.order))
            .collect()
    }

    async fn executions(&self) -> Result<Vec<Execution>> {
        self.sweep().await?;
        let rows = sqlx::query(
            "SELECT id, order_id, account_id, symbol, currency, side, qty, price, commission, at_ms \
             FROM broker_paper_fills WHERE account_id = $1 ORDER BY at_ms DESC, id DESC LIMIT 1000",
        )
        .bind(&self.cfg.account_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Execution {
                    id: r.try_get(0)?,
                    order_id: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    symbol: r.try_get(3)?,
                    currency: r.try_get(4)?,
                    side: Side::parse(&r.try_get::<String, _>(5)?)?,
                    qty: dec(&r.try_get::<String, _>(6)?)?,
                    price: dec(&r.try_get::<String, _>(7)?)?,
                    commission: dec(&r.try_get::<String, _>(8)?)?,
                    at_ms: r.try_get(9)?,
                })
            })
            .collect()
    }
}
