//! The paper venue's order rows, the matching rules (limit, stop,
//! stop-limit, trailing) and the cash and position effect of a fill.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{PAPER, PaperBroker};
use crate::audit::{AuditEvent, ChainTx};
use crate::error::Result;
use crate::sim::price_dp;
use crate::types::{Order, OrderStatus, OrderType, Quote, Side, TimeInForce, dec, opt_dec};

/// An order with the paper venue's working state.
#[derive(Debug, Clone)]
pub(super) struct PaperOrder {
    pub(super) order: Order,
    pub(super) extreme: Option<Decimal>,
    pub(super) triggered: bool,
    pub(super) checked_step: i64,
    pub(super) expires_ms: Option<i64>,
}

pub(super) const ORDER_COLUMNS: &str = "id, account_id, client_order_id, symbol, currency, side, order_type, tif, qty, \
    limit_price, stop_price, trail_amount, trail_percent, extreme_price, triggered, status, filled_qty, \
    avg_fill_price, commission, reason, checked_step, expires_ms, created_ms, updated_ms";

/// The insert of one order row (all of [`ORDER_COLUMNS`]).
static INSERT_ORDER_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let marks: Vec<String> = (1..=ORDER_COLUMNS.split(',').count())
        .map(|i| format!("${i}"))
        .collect();
    format!(
        "INSERT INTO broker_paper_orders ({ORDER_COLUMNS}) VALUES ({})",
        marks.join(", ")
    )
});

pub(super) fn decode_order(row: &AnyRow) -> Result<PaperOrder> {
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

pub(super) fn ds(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.normalize().to_string())
}

pub(super) fn d(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The cash and position effect of a fill, before it is written.
pub(super) struct Book {
    pub(super) cash: Decimal,
    pub(super) qty: Decimal,
    pub(super) avg: Decimal,
    pub(super) realized: Decimal,
}

impl PaperBroker {
    pub(super) fn trail_stop(&self, order: &Order, extreme: Decimal) -> Decimal {
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
    pub(super) fn evaluate(&self, po: &mut PaperOrder, q: &Quote) -> Option<Decimal> {
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

    pub(super) async fn load_book(
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
    pub(super) fn position_rule(
        side: Side,
        qty: Decimal,
        held: Decimal,
        symbol: &str,
    ) -> Option<String> {
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

    pub(super) async fn audit(
        &self,
        w: &mut ChainTx,
        at_ms: i64,
        kind: &str,
        order: &Order,
        payload: serde_json::Value,
    ) -> Result<()> {
        w.append(&AuditEvent {
            at_ms,
            venue: PAPER,
            account_id: &order.account_id,
            kind,
            order_id: Some(&order.id),
            client_order_id: Some(&order.client_order_id),
            payload: &payload,
        })
        .await?;
        Ok(())
    }

    /// Fills the rest of `po` at `price`, moving cash and position, or rejects
    /// it when cash or position no longer allow it.
    pub(super) async fn apply_fill(
        &self,
        w: &mut ChainTx,
        po: &mut PaperOrder,
        price: Decimal,
        at_ms: i64,
        book: Option<Book>,
    ) -> Result<()> {
        let order = po.order.clone();
        let qty = order.qty - order.filled_qty;
        let book = match book {
            Some(book) => book,
            None => {
                self.load_book(
                    w.conn().await?,
                    &order.account_id,
                    &order.symbol,
                    &order.currency,
                )
                .await?
            }
        };
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
                    w,
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
        w.queue(
            "INSERT INTO broker_paper_cash (account_id, currency, amount) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, currency) DO UPDATE SET amount = excluded.amount",
            vec![(&account).into(), (&order.currency).into(), d(cash).into()],
        );
        w.queue(
            "INSERT INTO broker_paper_positions (account_id, symbol, currency, qty, avg_price, realized_pnl) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account_id, symbol) DO UPDATE SET qty = excluded.qty, avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl",
            vec![
                (&account).into(),
                (&order.symbol).into(),
                (&order.currency).into(),
                d(new_qty).into(),
                d(new_avg).into(),
                d(realized).into(),
            ],
        );
        let fill_id = format!("F-{}", uuid::Uuid::now_v7().simple());
        w.queue(
            "INSERT INTO broker_paper_fills (id, order_id, account_id, symbol, currency, side, qty, price, commission, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            vec![
                (&fill_id).into(),
                (&order.id).into(),
                (&account).into(),
                (&order.symbol).into(),
                (&order.currency).into(),
                order.side.as_str().into(),
                d(qty).into(),
                d(price).into(),
                d(commission).into(),
                at_ms.into(),
            ],
        );
        po.order.status = OrderStatus::Filled;
        po.order.filled_qty = order.qty;
        po.order.avg_fill_price = Some(price);
        po.order.commission += commission;
        po.order.updated_ms = at_ms;
        let snapshot = po.order.clone();
        self.audit(
            w,
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

    /// Queues the insert of `po`'s row in `w`.
    pub(super) fn insert_order(&self, w: &mut ChainTx, po: &PaperOrder) {
        let o = &po.order;
        w.queue(
            INSERT_ORDER_SQL.as_str(),
            vec![
                (&o.id).into(),
                (&o.account_id).into(),
                (&o.client_order_id).into(),
                (&o.symbol).into(),
                (&o.currency).into(),
                o.side.as_str().into(),
                o.order_type.as_str().into(),
                o.time_in_force.as_str().into(),
                d(o.qty).into(),
                ds(o.limit_price).into(),
                ds(o.stop_price).into(),
                ds(o.trail_amount).into(),
                ds(o.trail_percent).into(),
                ds(po.extreme).into(),
                i64::from(po.triggered).into(),
                o.status.as_str().into(),
                d(o.filled_qty).into(),
                ds(o.avg_fill_price).into(),
                d(o.commission).into(),
                o.reason.clone().into(),
                po.checked_step.into(),
                po.expires_ms.into(),
                o.created_ms.into(),
                o.updated_ms.into(),
            ],
        );
    }

    /// Queues the update of `po`'s working state and outcome in `w`.
    pub(super) fn update_order(&self, w: &mut ChainTx, po: &PaperOrder) {
        let o = &po.order;
        w.queue(
            "UPDATE broker_paper_orders SET qty = $2, limit_price = $3, stop_price = $4, extreme_price = $5, triggered = $6, \
             status = $7, filled_qty = $8, avg_fill_price = $9, commission = $10, reason = $11, checked_step = $12, updated_ms = $13 \
             WHERE id = $1",
            vec![
                (&o.id).into(),
                d(o.qty).into(),
                ds(o.limit_price).into(),
                ds(o.stop_price).into(),
                ds(po.extreme).into(),
                i64::from(po.triggered).into(),
                o.status.as_str().into(),
                d(o.filled_qty).into(),
                ds(o.avg_fill_price).into(),
                d(o.commission).into(),
                o.reason.clone().into(),
                po.checked_step.into(),
                o.updated_ms.into(),
            ],
        );
    }

    pub(super) async fn find(
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
}
