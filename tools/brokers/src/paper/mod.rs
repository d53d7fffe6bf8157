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

use sqlx::{AnyConnection, Row};
use tokio::sync::OnceCell;

use crate::audit::{self, AuditEvent, ChainTx};
use crate::broker::{Broker, EventStream, Granularity, OrderChange, OrderUpdate};

use crate::compliance::CheckResult;
use crate::error::{BrokersError, Result};
use crate::sim::SimMarket;
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side, dec,
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
    /// The emergency kill rule, when configured (`kill_*` / `NT_KILL_*`):
    /// orders that add risk are refused once the account's losses reach it.
    pub kill_rule: Option<nt_quant::risk::adaptive::KillRule>,
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
            kill_rule: None,
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
    /// Orders waiting to be committed together (SQLite).
    group: group::OrderGroup,
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

mod book;
mod group;
mod kill;
mod place;
mod snapshot;

use book::{ORDER_COLUMNS, d, decode_order};

impl PaperBroker {
    /// A paper broker over `store`, with time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, cfg: PaperConfig) -> Self {
        Self {
            store,
            clock,
            cfg: Arc::new(cfg),
            ready: OnceCell::new(),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
            group: group::OrderGroup::default(),
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

    fn as_paper(&self) -> Option<&PaperBroker> {
        Some(self)
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
        let mut w = ChainTx::begin(self.store.pool()).await?;
        let mut po = self
            .find(w.conn().await?, order_id)
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
            &mut w,
            now,
            "order_replaced",
            &snapshot,
            json!({"change": change}),
        )
        .await?;
        self.update_order(&mut w, &po);
        w.commit().await?;
        self.publish([OrderUpdate {
            event: "replaced".into(),
            ..OrderUpdate::from_status(po.order.clone())
        }]);
        Ok(po.order)
    }

    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        self.sweep().await?;
        let mut w = ChainTx::begin(self.store.pool()).await?;
        let mut po = self
            .find(w.conn().await?, order_id.trim())
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
            &mut w,
            now,
            "order_cancelled",
            &snapshot,
            json!({"reason": "user"}),
        )
        .await?;
        self.update_order(&mut w, &po);
        w.commit().await?;
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
