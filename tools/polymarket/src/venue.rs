//! [`LocalClob`]: the embedded simulated venue. It wraps the [`Engine`],
//! seeds its own markets and house liquidity on first use, and persists
//! every change (orders, fills, balances, positions, resolutions) to the
//! store in the same transaction as the matching `audit_log` row.

use std::collections::BTreeSet;
use std::str::FromStr;

use nt_mcp_core::Migration;
use nt_mcp_core::bundle::ToolCtx;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::engine::Resolution;
use crate::engine::{
    Account, Engine, Fill, MarketSpec, NewOrder, OrderRecord, OrderStatus, PlaceOutcome, Position,
};
use crate::error::{PolymarketError, Result};
use crate::fees::FeeSchedule;
use crate::types::{OrderType, Outcome, Side, TickSize};

/// The paper account the agent trades with.
pub const PAPER: &str = "paper";
/// The account that supplies the seeded liquidity.
pub const HOUSE: &str = "house";

/// The bundle's migrations: one text that runs on SQLite and PostgreSQL.
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::portable(
            "polymarket/0001_local_clob",
            include_str!("../../../migrations/polymarket/0001_local_clob.sql"),
        ),
        Migration::portable(
            "polymarket/0002_live_orders",
            include_str!("../../../migrations/polymarket/0002_live_orders.sql"),
        ),
        Migration::portable(
            "polymarket/0003_fill_fees",
            include_str!("../../../migrations/polymarket/0003_fill_fees.sql"),
        ),
        Migration::portable(
            "polymarket/0004_live_fills",
            include_str!("../../../migrations/polymarket/0004_live_fills.sql"),
        ),
    ]
}

/// Who did what, for the `audit_log` row written with each change.
#[derive(Debug, Clone)]
pub struct AuditInfo {
    /// Variant serving the call.
    pub variant: String,
    /// Tool name.
    pub tool: String,
    /// Caller id.
    pub caller: String,
    /// SHA-256 (hex) of the call's arguments.
    pub args_digest: String,
    /// When (ms).
    pub at_ms: i64,
}

impl AuditInfo {
    /// The audit identity of a call, for rows written after it returns
    /// (the user-channel stream records fills in the background).
    pub fn from_ctx(ctx: &ToolCtx) -> Self {
        Self {
            variant: ctx.variant.to_string(),
            tool: ctx.tool.to_string(),
            caller: ctx.caller.id.clone(),
            args_digest: ctx.args_digest.to_string(),
            at_ms: ctx.clock.now_ms(),
        }
    }

    /// Digests `args` (their JSON text) for the audit row.
    pub fn digest(args: &serde_json::Value) -> String {
        hex::encode(Sha256::digest(args.to_string().as_bytes()))
    }
}

/// The embedded local CLOB with its store.
pub struct LocalClob {
    engine: Mutex<Option<Engine>>,
    paper_usdc: Decimal,
    fees: FeeSchedule,
}

fn dec(row: &sqlx::any::AnyRow, col: &str) -> Result<Decimal> {
    let text: String = row.try_get(col)?;
    Decimal::from_str(&text)
        .map_err(|_| PolymarketError::Config(format!("stored {col} `{text}` is not a decimal")))
}

fn seq_of(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl LocalClob {
    /// A local CLOB whose paper account starts with `paper_usdc`.
    pub fn new(paper_usdc: Decimal) -> Self {
        Self {
            engine: Mutex::new(None),
            paper_usdc,
            fees: crate::engine::DEFAULT_LOCAL_FEES,
        }
    }

    /// The same, charging `fees` on markets without a schedule of their own.
    pub fn with_fees(mut self, fees: FeeSchedule) -> Self {
        self.fees = fees;
        self
    }

    /// The engine, loaded from the store (and seeded on first use).
    pub async fn engine(
        &self,
        pool: &sqlx::AnyPool,
        now_ms: i64,
    ) -> Result<MutexGuard<'_, Option<Engine>>> {
        let mut guard = self.engine.lock().await;
        if guard.is_none() {
            let loaded = load(pool).await?;
            let mut engine = match loaded {
                Some(engine) => engine,
                None => {
                    let engine = seed(self.paper_usdc, now_ms)?;
                    let mut tx = pool.begin().await?;
                    persist_all(&mut tx, &engine, now_ms).await?;
                    tx.commit().await?;
                    engine
                }
            };
            engine.set_default_fees(self.fees);
            *guard = Some(engine);
        }
        Ok(guard)
    }

    /// The engine with `account` open: a caller's own paper wallet is
    /// opened (and persisted) on first use with the starting paper balance.
    pub async fn engine_for(
        &self,
        pool: &sqlx::AnyPool,
        now_ms: i64,
        account: &str,
    ) -> Result<MutexGuard<'_, Option<Engine>>> {
        let mut guard = self.engine(pool, now_ms).await?;
        if let Some(engine) = guard.as_mut()
            && engine.account(account).is_none()
        {
            engine.fund(account, self.paper_usdc, None);
            let mut tx = pool.begin().await?;
            write_account(&mut tx, engine, account, now_ms).await?;
            tx.commit().await?;
        }
        Ok(guard)
    }

    /// Places an order and persists the result with its audit row. A
    /// repeated client order id returns the first order (`duplicate`).
    pub async fn place(&self, ctx: &ToolCtx, order: NewOrder) -> Result<(PlaceOutcome, bool)> {
        self.place_checked(ctx, order, |_| Ok(())).await
    }

    /// Like [`LocalClob::place`], running `check` (risk limits) on the
    /// engine first, under the same lock, unless the client order id was
    /// seen before.
    pub async fn place_checked(
        &self,
        ctx: &ToolCtx,
        order: NewOrder,
        check: impl FnOnce(&Engine) -> Result<()>,
    ) -> Result<(PlaceOutcome, bool)> {
        let (pool, now_ms) = (ctx.store.pool(), ctx.clock.now_ms());
        let mut guard = self.engine_for(pool, now_ms, &order.account).await?;
        let engine = guard
            .as_mut()
            .ok_or_else(|| PolymarketError::Config("local CLOB not loaded".into()))?;
        let seen = order
            .client_order_id
            .as_deref()
            .is_some_and(|cid| engine.order_by_client_id(&order.account, cid).is_some());
        if !seen {
            check(engine)?;
        }
        let before = engine.clone();
        let (outcome, duplicate) = engine.place(order, now_ms)?;
        if duplicate {
            return Ok((outcome, true));
        }
        let mut orders = vec![outcome.order.clone()];
        orders.extend(outcome.touched_makers.iter().cloned());
        let detail = serde_json::json!({
            "venue": "simulated",
            "order_id": outcome.order.order_id,
            "client_order_id": outcome.order.client_order_id,
            "token_id": outcome.order.token_id,
            "side": outcome.order.side,
            "price": outcome.order.price,
            "size": outcome.order.size,
            "filled": outcome.order.filled,
            "status": outcome.order.status,
            "fills": outcome.fills.iter().map(|f| &f.trade_id).collect::<Vec<_>>(),
        });
        let result = async {
            let mut tx = pool.begin().await?;
            write_changes(&mut tx, engine, &orders, &outcome.fills, now_ms).await?;
            ctx.audit(&mut *tx, "order_placed", &detail).await?;
            for fill in &outcome.fills {
                ctx.audit(
                    &mut *tx,
                    "fill",
                    &serde_json::to_value(fill).unwrap_or_default(),
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, PolymarketError>(())
        }
        .await;
        if let Err(err) = result {
            *engine = before;
            return Err(err);
        }
        Ok((outcome, false))
    }

    /// Cancels orders of `account` (the ids given, or all in `market`, or
    /// all) and persists that with an audit row per order.
    pub async fn cancel(
        &self,
        ctx: &ToolCtx,
        account: &str,
        which: CancelWhich<'_>,
    ) -> Result<Vec<OrderRecord>> {
        let (pool, now_ms) = (ctx.store.pool(), ctx.clock.now_ms());
        let mut guard = self.engine(pool, now_ms).await?;
        let engine = guard
            .as_mut()
            .ok_or_else(|| PolymarketError::Config("local CLOB not loaded".into()))?;
        let before = engine.clone();
        let cancelled = match which {
            CancelWhich::Ids(ids) => {
                let mut out = Vec::new();
                for id in ids {
                    match engine.cancel(account, id) {
                        Ok(order) => out.push(order),
                        Err(err) => {
                            *engine = before;
                            return Err(err);
                        }
                    }
                }
                out
            }
            CancelWhich::Market(market) => engine.cancel_all(account, Some(market)),
            CancelWhich::All => engine.cancel_all(account, None),
        };
        let result = async {
            let mut tx = pool.begin().await?;
            write_changes(&mut tx, engine, &cancelled, &[], now_ms).await?;
            for order in &cancelled {
                let detail = serde_json::json!({
                    "venue": "simulated", "order_id": order.order_id,
                    "remaining": order.remaining(), "token_id": order.token_id,
                });
                ctx.audit(&mut *tx, "order_cancelled", &detail).await?;
            }
            tx.commit().await?;
            Ok::<_, PolymarketError>(())
        }
        .await;
        if let Err(err) = result {
            *engine = before;
            return Err(err);
        }
        Ok(cancelled)
    }

    /// Resolves a market and pays out, persisting and auditing the settlement.
    pub async fn resolve(
        &self,
        ctx: &ToolCtx,
        market: &str,
        winner: Outcome,
    ) -> Result<Resolution> {
        let (pool, now_ms) = (ctx.store.pool(), ctx.clock.now_ms());
        let mut guard = self.engine(pool, now_ms).await?;
        let engine = guard
            .as_mut()
            .ok_or_else(|| PolymarketError::Config("local CLOB not loaded".into()))?;
        let before = engine.clone();
        let (cancelled, payouts) = engine.resolve(market, winner)?;
        let result = async {
            let mut tx = pool.begin().await?;
            write_changes(&mut tx, engine, &cancelled, &[], now_ms).await?;
            // Every account holding either token changed.
            let names: Vec<String> = engine.accounts().keys().cloned().collect();
            for name in &names {
                write_account(&mut tx, engine, name, now_ms).await?;
            }
            if let Some(spec) = engine.market(market) {
                write_market(&mut tx, spec, now_ms).await?;
            }
            let detail = serde_json::json!({
                "venue": "simulated", "market": market, "winner": winner,
                "payouts": payouts.iter().map(|(a, p)| serde_json::json!({"account": a, "usdc": p})).collect::<Vec<_>>(),
                "cancelled_orders": cancelled.len(),
            });
            ctx.audit(&mut *tx, "settlement", &detail).await?;
            tx.commit().await?;
            Ok::<_, PolymarketError>(())
        }
        .await;
        if let Err(err) = result {
            *engine = before;
            return Err(err);
        }
        Ok((cancelled, payouts))
    }
}

/// Which orders a cancel covers.
#[derive(Debug, Clone, Copy)]
pub enum CancelWhich<'a> {
    /// These order ids.
    Ids(&'a [String]),
    /// Every live order in this market.
    Market(&'a str),
    /// Every live order.
    All,
}

/// Appends the `audit_log` row of a state change with the call facts in
/// `audit`, through the runtime's one audit insert (the user-stream recorder
/// writes after its call has ended, so it has no `ToolCtx`).
pub(crate) async fn audit_row(
    tx: &mut Transaction<'_, Any>,
    audit: &AuditInfo,
    outcome: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    let detail = detail.to_string();
    nt_mcp_core::middleware::audit::append(
        &mut **tx,
        &nt_mcp_core::middleware::audit::AuditEntry {
            at_ms: audit.at_ms,
            variant: &audit.variant,
            tool: &audit.tool,
            caller: &audit.caller,
            args_digest: &audit.args_digest,
            outcome,
            detail: Some(&detail),
        },
    )
    .await?;
    Ok(())
}

async fn write_market(tx: &mut Transaction<'_, Any>, spec: &MarketSpec, now_ms: i64) -> Result<()> {
    let json = serde_json::to_string(spec).map_err(|e| PolymarketError::Config(e.to_string()))?;
    sqlx::query(
        "INSERT INTO pm_markets (condition_id, spec, resolved, updated_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (condition_id) DO UPDATE SET spec = excluded.spec, resolved = excluded.resolved, \
         updated_ms = excluded.updated_ms",
    )
    .bind(&spec.condition_id)
    .bind(json)
    .bind(spec.resolved.map(|o| o.as_str().to_string()))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_account(
    tx: &mut Transaction<'_, Any>,
    engine: &Engine,
    name: &str,
    now_ms: i64,
) -> Result<()> {
    let Some(account) = engine.account(name) else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO pm_accounts (account, cash, reserved, updated_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account) DO UPDATE SET cash = excluded.cash, reserved = excluded.reserved, \
         updated_ms = excluded.updated_ms",
    )
    .bind(name)
    .bind(account.cash.to_string())
    .bind(account.reserved.to_string())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    for (token, pos) in &account.positions {
        sqlx::query(
            "INSERT INTO pm_positions (account, token_id, shares, reserved, cost, realized, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, token_id) DO UPDATE SET \
             shares = excluded.shares, reserved = excluded.reserved, cost = excluded.cost, \
             realized = excluded.realized, updated_ms = excluded.updated_ms",
        )
        .bind(name)
        .bind(token)
        .bind(pos.shares.to_string())
        .bind(pos.reserved.to_string())
        .bind(pos.cost.to_string())
        .bind(pos.realized.to_string())
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn write_order(tx: &mut Transaction<'_, Any>, o: &OrderRecord, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO pm_orders (order_id, client_order_id, account, market, token_id, outcome, side, \
         price, size, filled, status, order_type, seq, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (order_id) DO UPDATE SET filled = excluded.filled, status = excluded.status, \
         updated_ms = excluded.updated_ms",
    )
    .bind(&o.order_id)
    .bind(o.client_order_id.clone())
    .bind(&o.account)
    .bind(&o.market)
    .bind(&o.token_id)
    .bind(o.outcome.as_str())
    .bind(o.side.as_str())
    .bind(o.price.to_string())
    .bind(o.size.to_string())
    .bind(o.filled.to_string())
    .bind(o.status.as_str())
    .bind(o.order_type.as_str())
    .bind(i64::try_from(o.seq).unwrap_or(i64::MAX))
    .bind(o.created_ms)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_fill(tx: &mut Transaction<'_, Any>, f: &Fill) -> Result<()> {
    sqlx::query(
        "INSERT INTO pm_fills (trade_id, seq, market, yes_price, size, kind, taker_order_id, \
         taker_account, taker_outcome, taker_side, taker_price, maker_order_id, maker_account, \
         maker_outcome, maker_side, maker_price, at_ms, taker_fee) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&f.trade_id)
    .bind(i64::try_from(seq_of(&f.trade_id)).unwrap_or(i64::MAX))
    .bind(&f.market)
    .bind(f.yes_price.to_string())
    .bind(f.size.to_string())
    .bind(f.kind)
    .bind(&f.taker_order_id)
    .bind(&f.taker_account)
    .bind(f.taker_outcome.as_str())
    .bind(f.taker_side.as_str())
    .bind(f.taker_price.to_string())
    .bind(&f.maker_order_id)
    .bind(&f.maker_account)
    .bind(f.maker_outcome.as_str())
    .bind(f.maker_side.as_str())
    .bind(f.maker_price.to_string())
    .bind(f.at_ms)
    .bind(f.taker_fee.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_changes(
    tx: &mut Transaction<'_, Any>,
    engine: &Engine,
    orders: &[OrderRecord],
    fills: &[Fill],
    now_ms: i64,
) -> Result<()> {
    let mut accounts = BTreeSet::new();
    for o in orders {
        write_order(tx, o, now_ms).await?;
        accounts.insert(o.account.clone());
    }
    for f in fills {
        write_fill(tx, f).await?;
        accounts.insert(f.taker_account.clone());
        accounts.insert(f.maker_account.clone());
    }
    for name in accounts {
        write_account(tx, engine, &name, now_ms).await?;
    }
    Ok(())
}

async fn persist_all(tx: &mut Transaction<'_, Any>, engine: &Engine, now_ms: i64) -> Result<()> {
    for spec in engine.markets() {
        write_market(tx, spec, now_ms).await?;
    }
    let names: Vec<String> = engine.accounts().keys().cloned().collect();
    for name in &names {
        write_account(tx, engine, name, now_ms).await?;
        for order in engine.open_orders(name, None) {
            write_order(tx, order, now_ms).await?;
        }
    }
    Ok(())
}

/// Loads the engine from the store; `None` when nothing was stored yet.
pub async fn load(pool: &sqlx::AnyPool) -> Result<Option<Engine>> {
    let markets = sqlx::query("SELECT spec FROM pm_markets ORDER BY condition_id")
        .fetch_all(pool)
        .await?;
    if markets.is_empty() {
        return Ok(None);
    }
    let mut engine = Engine::new();
    for row in &markets {
        let text: String = row.try_get("spec")?;
        let spec: MarketSpec = serde_json::from_str(&text)
            .map_err(|e| PolymarketError::Config(format!("stored market spec: {e}")))?;
        engine.add_market(spec);
    }
    for row in sqlx::query("SELECT account, cash, reserved FROM pm_accounts")
        .fetch_all(pool)
        .await?
    {
        let name: String = row.try_get("account")?;
        let mut account = Account {
            cash: dec(&row, "cash")?,
            reserved: dec(&row, "reserved")?,
            ..Account::default()
        };
        for p in sqlx::query(
            "SELECT token_id, shares, reserved, cost, realized FROM pm_positions WHERE account = $1",
        )
        .bind(&name)
        .fetch_all(pool)
        .await?
        {
            account.positions.insert(
                p.try_get("token_id")?,
                Position {
                    shares: dec(&p, "shares")?,
                    reserved: dec(&p, "reserved")?,
                    cost: dec(&p, "cost")?,
                    realized: dec(&p, "realized")?,
                },
            );
        }
        engine.set_account(&name, account);
    }
    for row in sqlx::query(
        "SELECT order_id, client_order_id, account, market, token_id, outcome, side, price, size, \
         filled, status, order_type, seq, created_ms FROM pm_orders ORDER BY seq",
    )
    .fetch_all(pool)
    .await?
    {
        let text = |c: &str| -> Result<String> { Ok(row.try_get::<String, _>(c)?) };
        let order_type = match text("order_type")?.as_str() {
            "FOK" => OrderType::Fok,
            "FAK" => OrderType::Fak,
            _ => OrderType::Gtc,
        };
        engine.restore_order(OrderRecord {
            order_id: text("order_id")?,
            client_order_id: row.try_get("client_order_id")?,
            account: text("account")?,
            market: text("market")?,
            token_id: text("token_id")?,
            outcome: Outcome::from_str(&text("outcome")?)?,
            side: Side::from_str(&text("side")?)?,
            price: dec(&row, "price")?,
            size: dec(&row, "size")?,
            filled: dec(&row, "filled")?,
            status: OrderStatus::parse(&text("status")?).unwrap_or(OrderStatus::Cancelled),
            order_type,
            seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
            created_ms: row.try_get("created_ms")?,
        });
    }
    if let Some(row) = sqlx::query("SELECT MAX(seq) AS s FROM pm_fills")
        .fetch_optional(pool)
        .await?
    {
        let max: Option<i64> = row.try_get("s").ok().flatten();
        engine.set_trade_seq(u64::try_from(max.unwrap_or(0)).unwrap_or(0));
    }
    let mut fees = Decimal::ZERO;
    for row in sqlx::query("SELECT taker_fee FROM pm_fills")
        .fetch_all(pool)
        .await?
    {
        fees += dec(&row, "taker_fee")?;
    }
    engine.set_fees_collected(fees);
    for row in sqlx::query(
        "SELECT f.market AS market, f.yes_price AS yes_price FROM pm_fills f \
         WHERE f.seq = (SELECT MAX(g.seq) FROM pm_fills g WHERE g.market = f.market)",
    )
    .fetch_all(pool)
    .await?
    {
        let market: String = row.try_get("market")?;
        engine.set_last_trade_yes(&market, dec(&row, "yes_price")?);
    }
    Ok(Some(engine))
}

/// A market the local CLOB seeds, with the fair value its house quotes around.
#[derive(Debug, Clone, Serialize)]
pub struct SeedMarket {
    /// Slug.
    pub slug: &'static str,
    /// Event slug.
    pub event: &'static str,
    /// Outcome label within the event.
    pub label: &'static str,
    /// Question.
    pub question: &'static str,
    /// Fair YES probability the house quotes around.
    pub fair: Decimal,
    /// Half spread of the house's best quotes.
    pub half_spread: Decimal,
    /// Tick size.
    pub tick: TickSize,
    /// Neg-risk event member.
    pub neg_risk: bool,
}

fn d(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

/// The markets the local CLOB seeds: three binary markets and a four-way
/// neg-risk event whose YES asks sum below 1 (an arbitrage to find).
pub fn seed_markets() -> Vec<SeedMarket> {
    vec![
        SeedMarket {
            slug: "fed-cut-next-fomc",
            event: "fed-cut-next-fomc",
            label: "",
            question: "Will the Fed cut rates at the next FOMC meeting?",
            fair: d(62, 2),
            half_spread: d(1, 2),
            tick: TickSize::T0_01,
            neg_risk: false,
        },
        SeedMarket {
            slug: "btc-150k-year-end",
            event: "btc-150k-year-end",
            label: "",
            question: "Will BTC trade above $150,000 before year end?",
            fair: d(18, 2),
            half_spread: d(1, 2),
            tick: TickSize::T0_01,
            neg_risk: false,
        },
        SeedMarket {
            slug: "london-snow-christmas",
            event: "london-snow-christmas",
            label: "",
            question: "Will it snow in London on Christmas Day?",
            fair: d(70, 3),
            half_spread: d(3, 3),
            tick: TickSize::T0_001,
            neg_risk: false,
        },
        SeedMarket {
            slug: "league-title-alpha",
            event: "league-title-winner",
            label: "Alpha FC",
            question: "Will Alpha FC win the league title?",
            fair: d(40, 2),
            half_spread: d(1, 2),
            tick: TickSize::T0_01,
            neg_risk: true,
        },
        SeedMarket {
            slug: "league-title-beta",
            event: "league-title-winner",
            label: "Beta United",
            question: "Will Beta United win the league title?",
            fair: d(30, 2),
            half_spread: d(1, 2),
            tick: TickSize::T0_01,
            neg_risk: true,
        },
        SeedMarket {
            slug: "league-title-gamma",
            event: "league-title-winner",
            label: "Gamma City",
            question: "Will Gamma City win the league title?",
            fair: d(20, 2),
            half_spread: d(1, 2),
            tick: TickSize::T0_01,
            neg_risk: true,
        },
        SeedMarket {
            slug: "league-title-delta",
            event: "league-title-winner",
            label: "Delta Rovers",
            question: "Will Delta Rovers win the league title?",
            fair: d(5, 2),
            half_spread: d(1, 2),
            tick: TickSize::T0_01,
            neg_risk: true,
        },
    ]
}

fn hash_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn token_id(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(bytes).to_string()
}

/// The spec of a seeded market (ids derived from its slug, so stable).
pub fn seed_spec(seed: &SeedMarket, now_ms: i64) -> MarketSpec {
    MarketSpec {
        condition_id: format!("0x{}", hash_hex(&format!("nt-local:{}", seed.slug))),
        question: seed.question.to_string(),
        slug: seed.slug.to_string(),
        event_slug: seed.event.to_string(),
        group_label: seed.label.to_string(),
        yes_token: token_id(&format!("nt-local:{}:yes", seed.slug)),
        no_token: token_id(&format!("nt-local:{}:no", seed.slug)),
        tick: seed.tick,
        min_size: Decimal::ONE,
        neg_risk: seed.neg_risk,
        end_ms: now_ms + 90 * 24 * 3_600_000,
        resolved: None,
    }
}

/// Builds a fresh engine: seeded markets, house liquidity (five levels a
/// side around each fair value) and the paper account's starting USDC.
pub fn seed(paper_usdc: Decimal, now_ms: i64) -> Result<Engine> {
    let mut engine = Engine::new();
    engine.fund(HOUSE, Decimal::from(1_000_000), None);
    engine.fund(PAPER, paper_usdc, None);
    for seed in seed_markets() {
        let spec = seed_spec(&seed, now_ms);
        let (id, yes) = (spec.condition_id.clone(), spec.yes_token.clone());
        engine.add_market(spec);
        engine.fund(HOUSE, Decimal::ZERO, Some((&id, Decimal::from(100_000))));
        let tick = seed.tick.value();
        for level in 0..5i64 {
            let offset = seed.half_spread + tick * Decimal::from(level);
            let size = Decimal::from(200 + 100 * level);
            let bid = seed.tick.clamp(seed.fair - offset);
            let ask = seed.tick.clamp(seed.fair + offset);
            for (side, price) in [(Side::Buy, bid), (Side::Sell, ask)] {
                engine.place(
                    NewOrder {
                        account: HOUSE.into(),
                        token_id: yes.clone(),
                        side,
                        price,
                        size,
                        order_type: OrderType::Gtc,
                        client_order_id: None,
                    },
                    now_ms,
                )?;
            }
        }
    }
    Ok(engine)
}
