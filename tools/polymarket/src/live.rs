//! The live path: what the tools do when CLOB credentials are configured.
//! Orders are signed with [`crate::signing`] and posted through
//! [`ClobClient`]; market metadata comes from Gamma, books and price history
//! from the CLOB, wallets and the leaderboard from the Data API. Every
//! answer says `venue: polymarket`.
//!
//! Client order ids stay idempotent: the id, the signed order and status
//! `pending` are written to `pm_live_orders` (with an audit row) before the
//! order is posted. The same id again returns the stored order; if the first
//! post's outcome was unknown (timeout, 5xx) the identical signed order
//! (same salt) is posted again rather than a new one.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use nt_mcp_core::bundle::ToolCtx;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;

use crate::auth::ApiCreds;
use crate::book::BookSet;
use crate::data_api::DataClient;
use crate::error::{PolymarketError, Result};
use crate::gamma::{GammaClient, GammaMarket, MarketQuery};
use crate::http::is_rejection;
use crate::rest::ClobClient;
use crate::risk::{OrderExposure, RiskState};
use crate::signing::{self, OrderRequest, SignatureType, SignedOrder, Wallet};
use crate::types::{OrderType, Side, TickSize, check_size, parse_decimal};

/// What live answers call the venue.
pub const LIVE_VENUE: &str = "polymarket";
/// The risk-state row of the live account.
pub const LIVE_RISK_ID: &str = "live";

/// The deterministic salt of a client order id (so a re-post after an
/// unknown outcome signs the identical order).
pub fn salt_for(client_order_id: &str) -> u64 {
    let d = <sha2::Sha256 as sha2::Digest>::digest(client_order_id.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], 0]) >> 8
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The real venue's clients and the signing identity.
pub struct Live {
    wallet: Wallet,
    /// The account whose positions the Data API reports (funder or signer).
    pub address: String,
    chain_id: u64,
    signature_type: SignatureType,
    funder: Option<alloy_primitives::Address>,
    builder_code: alloy_primitives::B256,
    clob_url: String,
    creds: Option<ApiCreds>,
    clob: tokio::sync::OnceCell<Arc<ClobClient>>,
    /// Gamma metadata client.
    pub gamma: GammaClient,
    /// Data API client.
    pub data: DataClient,
    meta: std::sync::Mutex<HashMap<String, GammaMarket>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("address", &self.address)
            .field("clob_url", &self.clob_url)
            .finish_non_exhaustive()
    }
}

/// Where the live clients point.
#[derive(Debug, Clone)]
pub struct LiveUrls {
    /// CLOB REST.
    pub clob: String,
    /// Gamma.
    pub gamma: String,
    /// Data API.
    pub data: String,
}

impl Live {
    /// Live clients for `wallet`; `creds` may be `None`, in which case the
    /// first authenticated call derives (or creates) them with L1 auth.
    pub fn new(
        wallet: Wallet,
        creds: Option<ApiCreds>,
        urls: &LiveUrls,
        chain_id: u64,
        signature_type: SignatureType,
        funder: Option<alloy_primitives::Address>,
    ) -> Result<Self> {
        let address = funder.unwrap_or_else(|| wallet.address()).to_checksum(None);
        Ok(Self {
            clob_url: urls.clob.clone(),
            gamma: GammaClient::new(&urls.gamma)?,
            data: DataClient::new(&urls.data)?,
            address,
            chain_id,
            signature_type,
            funder,
            builder_code: alloy_primitives::B256::ZERO,
            creds,
            wallet,
            clob: tokio::sync::OnceCell::new(),
            meta: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The authenticated CLOB client (deriving API credentials on first use
    /// when none were configured).
    pub async fn clob(&self) -> Result<Arc<ClobClient>> {
        self.clob
            .get_or_try_init(|| async {
                let signer = Some(self.wallet.address().to_checksum(None));
                let creds = match &self.creds {
                    Some(c) => c.clone(),
                    None => {
                        ClobClient::new(&self.clob_url, None, None)?
                            .create_or_derive_api_key(&self.wallet, self.chain_id, 0)
                            .await?
                    }
                };
                Ok(Arc::new(ClobClient::new(
                    &self.clob_url,
                    Some(creds),
                    signer,
                )?))
            })
            .await
            .cloned()
    }

    /// Gamma metadata of the market holding `token_id` (cached).
    pub async fn market_of_token(&self, token_id: &str) -> Result<GammaMarket> {
        if let Some(m) = self
            .meta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token_id)
        {
            return Ok(m.clone());
        }
        let m = self.gamma.market(token_id).await.map_err(|e| match e {
            PolymarketError::NotFound(_) => PolymarketError::invalid(
                "token_id",
                format!("Gamma knows no market with token `{token_id}`"),
            ),
            other => other,
        })?;
        let mut cache = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        for t in &m.clob_token_ids {
            cache.insert(t.clone(), m.clone());
        }
        Ok(m)
    }

    /// Attributes every order to a builder code (zero: none).
    pub fn with_builder_code(mut self, code: alloy_primitives::B256) -> Self {
        self.builder_code = code;
        self
    }

    /// The signature type orders are signed with (what `/balance-allowance`
    /// is asked for).
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// Signs a V2 limit order for `token_id` with this account's settings
    /// (signature type, funder, builder code), stamped now.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        token_id: &str,
        side: Side,
        price: Decimal,
        size: Decimal,
        tick: TickSize,
        neg_risk: bool,
        salt: u64,
    ) -> Result<SignedOrder> {
        signing::sign_order(
            &self.wallet,
            &OrderRequest {
                asset_id: token_id.to_string(),
                by_position: false,
                side,
                price,
                size,
                kind: signing::OrderKind::Limit,
                tick,
                neg_risk,
                expiration: 0,
                salt,
                timestamp_ms: now_ms(),
                signature_type: self.signature_type,
                funder: self.funder,
                builder: self.builder_code,
                metadata: alloy_primitives::B256::ZERO,
            },
            self.chain_id,
        )
    }

    /// Equity proxy for the daily-loss limit: the account's marked P&L
    /// (unrealized + realized) over its Data API positions.
    pub async fn pnl_equity(&self) -> Result<Decimal> {
        let ps = self.data.positions(&self.address, 500).await?;
        Ok(ps.iter().map(|p| p.cash_pnl + p.realized_pnl).sum())
    }
}

/// One live order to place.
#[derive(Debug, Clone)]
pub struct LiveOrder {
    /// Client order id.
    pub client_order_id: String,
    /// Token id.
    pub token_id: String,
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub size: Decimal,
    /// GTC/FOK/FAK.
    pub order_type: OrderType,
    /// Tick size when known (else Gamma's).
    pub tick: Option<TickSize>,
    /// Neg-risk when known (else Gamma's).
    pub neg_risk: Option<bool>,
}

fn row_json(r: &sqlx::any::AnyRow) -> Result<Value> {
    Ok(json!({
        "client_order_id": r.try_get::<String, _>("client_order_id")?,
        "order_id": r.try_get::<Option<String>, _>("venue_order_id")?,
        "market": r.try_get::<String, _>("market")?,
        "token_id": r.try_get::<String, _>("token_id")?,
        "side": r.try_get::<String, _>("side")?,
        "price": r.try_get::<String, _>("price")?,
        "size": r.try_get::<String, _>("size")?,
        "order_type": r.try_get::<String, _>("order_type")?,
        "status": r.try_get::<String, _>("status")?,
        "response": r.try_get::<Option<String>, _>("response")?
            .and_then(|t| serde_json::from_str::<Value>(&t).ok()),
    }))
}

async fn find_order(pool: &sqlx::AnyPool, cid: &str) -> Result<Option<sqlx::any::AnyRow>> {
    Ok(
        sqlx::query("SELECT * FROM pm_live_orders WHERE client_order_id = $1")
            .bind(cid)
            .fetch_optional(pool)
            .await?,
    )
}

/// Open exposure of live orders the venue has not cancelled or refused:
/// BUY notional by market, and the total.
pub async fn live_exposures(pool: &sqlx::AnyPool) -> Result<(BTreeMap<String, Decimal>, Decimal)> {
    let rows = sqlx::query(
        "SELECT market, side, price, size FROM pm_live_orders WHERE status NOT IN ('rejected', 'cancelled')",
    )
    .fetch_all(pool)
    .await?;
    let mut by_market: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in rows {
        if r.try_get::<String, _>("side")? != "BUY" {
            continue;
        }
        let p = Decimal::from_str(&r.try_get::<String, _>("price")?).unwrap_or_default();
        let s = Decimal::from_str(&r.try_get::<String, _>("size")?).unwrap_or_default();
        *by_market.entry(r.try_get("market")?).or_default() += p * s;
    }
    let total = by_market.values().copied().sum();
    Ok((by_market, total))
}

async fn update_after_post(
    pool: &sqlx::AnyPool,
    cid: &str,
    venue_id: Option<&str>,
    status: &str,
    response: &Value,
    ctx: &ToolCtx,
    outcome: &str,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE pm_live_orders SET venue_order_id = $1, status = $2, response = $3, updated_ms = $4 \
         WHERE client_order_id = $5",
    )
    .bind(venue_id)
    .bind(status)
    .bind(response.to_string())
    .bind(ctx.clock.now_ms())
    .bind(cid)
    .execute(&mut *tx)
    .await?;
    ctx.audit(&mut *tx, outcome,
        &json!({ "venue": LIVE_VENUE, "client_order_id": cid, "order_id": venue_id, "status": status }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Places (or finds) one live order: risk check, record, sign, post.
/// Returns the stored order and whether the client id was seen before.
pub async fn place(
    live: &Live,
    ctx: &ToolCtx,
    order: LiveOrder,
    risk_equity: impl std::future::Future<Output = Result<Decimal>>,
) -> Result<(Value, bool)> {
    let pool = ctx.store.pool();
    let cid = order.client_order_id.clone();
    if let Some(row) = find_order(pool, &cid).await? {
        let status: String = row.try_get("status")?;
        if status != "pending" {
            return Ok((row_json(&row)?, true));
        }
        // The first post's outcome is unknown: post the identical signed order again.
        let text: String = row.try_get("signed_order")?;
        let order_type: String = row.try_get("order_type")?;
        let signed: Value = serde_json::from_str(&text)
            .map_err(|e| PolymarketError::Config(format!("stored signed order: {e}")))?;
        let signed = signed_from_json(&signed)?;
        post_and_record(live, pool, &cid, &signed, &order_type, ctx).await?;
        let row = find_order(pool, &cid)
            .await?
            .ok_or_else(|| PolymarketError::NotFound(cid.clone()))?;
        return Ok((row_json(&row)?, true));
    }
    let meta = live.market_of_token(&order.token_id).await?;
    let tick = match order.tick {
        Some(t) => t,
        None => meta.tick()?,
    };
    let neg_risk = order.neg_risk.unwrap_or(meta.neg_risk);
    tick.check_price("price", order.price)?;
    check_size(
        "size",
        order.size,
        meta.min_order_size.unwrap_or(Decimal::ZERO),
    )?;
    if meta.closed {
        return Err(PolymarketError::Refused(format!(
            "market {} is closed",
            meta.condition_id
        )));
    }
    let equity = risk_equity.await?;
    let risk = crate::risk_store::load_risk(pool, LIVE_RISK_ID, ctx.clock.now_ms(), equity).await?;
    let (by_market, total) = live_exposures(pool).await?;
    risk.check(&OrderExposure {
        market: meta.condition_id.clone(),
        notional: if order.side == Side::Buy {
            order.price * order.size
        } else {
            Decimal::ZERO
        },
        market_exposure: by_market
            .get(&meta.condition_id)
            .copied()
            .unwrap_or_default(),
        total_exposure: total,
        equity,
    })?;
    let signed = live.sign(
        &order.token_id,
        order.side,
        order.price,
        order.size,
        tick,
        neg_risk,
        salt_for(&cid),
    )?;
    let signed_text =
        serde_json::to_string(&signed).map_err(|e| PolymarketError::Config(e.to_string()))?;
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO pm_live_orders (client_order_id, venue_order_id, market, token_id, side, price, size, \
         order_type, status, signed_order, response, created_ms, updated_ms) \
         VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, 'pending', $8, NULL, $9, $9) \
         ON CONFLICT (client_order_id) DO NOTHING",
    )
    .bind(&cid)
    .bind(&meta.condition_id)
    .bind(&order.token_id)
    .bind(order.side.as_str())
    .bind(order.price.normalize().to_string())
    .bind(order.size.normalize().to_string())
    .bind(order.order_type.as_str())
    .bind(&signed_text)
    .bind(ctx.clock.now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        let row = find_order(pool, &cid)
            .await?
            .ok_or_else(|| PolymarketError::NotFound(cid.clone()))?;
        return Ok((row_json(&row)?, true));
    }
    ctx.audit(
        &mut *tx,
        "live_order_pending",
        &json!({ "venue": LIVE_VENUE, "client_order_id": cid, "token_id": order.token_id,
                 "side": order.side, "price": order.price, "size": order.size }),
    )
    .await?;
    tx.commit().await?;
    post_and_record(live, pool, &cid, &signed, order.order_type.as_str(), ctx).await?;
    let row = find_order(pool, &cid)
        .await?
        .ok_or_else(|| PolymarketError::NotFound(cid.clone()))?;
    Ok((row_json(&row)?, false))
}

fn signed_from_json(v: &Value) -> Result<SignedOrder> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    if v.get("timestamp").is_none() {
        return Err(PolymarketError::Refused(
            "the stored order was signed for CLOB V1, which Polymarket no longer accepts; place it again with a new client_order_id".into(),
        ));
    }
    Ok(SignedOrder {
        salt: v.get("salt").and_then(Value::as_u64).unwrap_or(0),
        maker: s("maker"),
        signer: s("signer"),
        token_id: s("tokenId"),
        maker_amount: s("makerAmount"),
        taker_amount: s("takerAmount"),
        side: if s("side") == "SELL" {
            Side::Sell
        } else {
            Side::Buy
        },
        expiration: s("expiration"),
        signature_type: v
            .get("signatureType")
            .and_then(Value::as_u64)
            .and_then(|x| u8::try_from(x).ok())
            .unwrap_or(0),
        timestamp: s("timestamp"),
        metadata: s("metadata"),
        builder: s("builder"),
        signature: s("signature"),
    })
}

async fn post_and_record(
    live: &Live,
    pool: &sqlx::AnyPool,
    cid: &str,
    signed: &SignedOrder,
    order_type: &str,
    ctx: &ToolCtx,
) -> Result<()> {
    let clob = live.clob().await?;
    match clob.post_order(signed, order_type).await {
        Ok(v) => {
            let ok = v.get("success").and_then(Value::as_bool).unwrap_or(true);
            let msg = v
                .get("errorMsg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let id = v.get("orderID").and_then(Value::as_str).map(str::to_string);
            if !ok || (!msg.is_empty() && id.as_deref().unwrap_or("").is_empty()) {
                update_after_post(
                    pool,
                    cid,
                    id.as_deref(),
                    "rejected",
                    &v,
                    ctx,
                    "order_rejected",
                )
                .await?;
                return Err(PolymarketError::Refused(format!(
                    "Polymarket refused the order: {msg}"
                )));
            }
            let status = v
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("live")
                .to_ascii_lowercase();
            update_after_post(pool, cid, id.as_deref(), &status, &v, ctx, "order_placed").await
        }
        Err(e) if is_rejection(&e) => {
            update_after_post(
                pool,
                cid,
                None,
                "rejected",
                &json!({ "error": e.to_string() }),
                ctx,
                "order_rejected",
            )
            .await?;
            Err(e)
        }
        Err(e) => Err(PolymarketError::Upstream(format!(
            "{e}; the order's outcome is unknown: call again with the same client_order_id to re-send the identical signed order"
        ))),
    }
}

/// Cancels live orders by venue or client id, by market, or all; marks
/// them cancelled in `pm_live_orders` with an audit row.
pub async fn cancel(
    live: &Live,
    ctx: &ToolCtx,
    ids: &[String],
    market: Option<&str>,
    all: bool,
) -> Result<Value> {
    let pool = ctx.store.pool();
    let clob = live.clob().await?;
    let answer = if all {
        clob.cancel_all().await?
    } else if let Some(m) = market {
        let cid = if m.starts_with("0x") && m.len() == 66 {
            m.to_string()
        } else {
            live.gamma.market(m).await?.condition_id
        };
        clob.cancel_market(&cid, "").await?
    } else if !ids.is_empty() {
        let mut venue_ids = Vec::new();
        for id in ids {
            let mapped = find_order(pool, id).await?.and_then(|r| {
                r.try_get::<Option<String>, _>("venue_order_id")
                    .ok()
                    .flatten()
            });
            venue_ids.push(mapped.unwrap_or_else(|| id.clone()));
        }
        if venue_ids.len() == 1 {
            clob.cancel(&venue_ids[0]).await?
        } else {
            clob.cancel_orders(&venue_ids).await?
        }
    } else {
        return Err(PolymarketError::invalid(
            "order_ids",
            "give order_ids, market, or all=true",
        ));
    };
    let canceled: Vec<String> = answer
        .get("canceled")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut tx = pool.begin().await?;
    for id in &canceled {
        sqlx::query(
            "UPDATE pm_live_orders SET status = 'cancelled', updated_ms = $1 WHERE venue_order_id = $2",
        )
        .bind(ctx.clock.now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    ctx.audit(&mut *tx, "orders_cancelled",
        &json!({ "venue": LIVE_VENUE, "canceled": canceled, "not_canceled": answer.get("not_canceled") }),
    )
    .await?;
    tx.commit().await?;
    Ok(json!({ "venue": LIVE_VENUE, "canceled": canceled,
               "not_canceled": answer.get("not_canceled").cloned().unwrap_or(json!({})) }))
}

/// A Gamma market as the tools show it.
pub fn market_view(m: &GammaMarket) -> Value {
    let tokens: Vec<Value> = m
        .outcomes
        .iter()
        .zip(&m.clob_token_ids)
        .map(|(o, t)| json!({ "outcome": o.to_uppercase(), "token_id": t }))
        .collect();
    json!({
        "condition_id": m.condition_id, "slug": m.slug, "question": m.question, "tokens": tokens,
        "tick_size": m.tick_size, "min_order_size": m.min_order_size, "neg_risk": m.neg_risk,
        "end_date": m.end_date, "active": m.active, "resolved": m.closed,
        "best_bid": m.best_bid, "best_ask": m.best_ask, "last_trade_price": m.last_trade_price,
    })
}

/// Lists Gamma markets, filtered by words in the question or slug.
pub async fn markets(
    live: &Live,
    query: Option<&str>,
    include_resolved: bool,
    limit: usize,
) -> Result<Vec<Value>> {
    let q = query.unwrap_or("").to_lowercase();
    let fetch = if q.is_empty() { limit } else { 500 };
    let list = live
        .gamma
        .markets(&MarketQuery {
            limit: Some(u32::try_from(fetch).unwrap_or(500)),
            closed: (!include_resolved).then_some(false),
            ..MarketQuery::default()
        })
        .await?;
    Ok(list
        .iter()
        .filter(|m| q.is_empty() || m.question.to_lowercase().contains(&q) || m.slug.contains(&q))
        .take(limit)
        .map(market_view)
        .collect())
}

/// One token's book from the CLOB, best first, `depth` levels.
pub async fn book(live: &Live, token_id: &str, depth: usize) -> Result<Value> {
    let clob = live.clob().await?;
    let (msg, last) = tokio::join!(clob.book(token_id), clob.last_trade_price(token_id));
    let msg = msg?;
    // The last trade is extra information: a failure there does not fail the book.
    let last = last.unwrap_or_else(|err| {
        tracing::debug!(token_id, error = %err, "last trade price unavailable");
        Value::Null
    });
    let mut set = BookSet::new();
    set.apply_book(&msg)?;
    let b = set
        .get(token_id)
        .ok_or_else(|| PolymarketError::Upstream("CLOB book for another token".into()))?;
    let (bids, asks) = b.levels(depth);
    let (bb, ba) = (bids.first().map(|l| l.price), asks.first().map(|l| l.price));
    Ok(json!({
        "venue": LIVE_VENUE, "token_id": token_id, "market": msg.market, "bids": bids, "asks": asks,
        "mid": bb.zip(ba).map(|(b, a)| (b + a) / Decimal::TWO), "spread": bb.zip(ba).map(|(b, a)| a - b),
        "timestamp": msg.timestamp, "hash": msg.hash,
        "last_trade_price": last.get("price"), "last_trade_side": last.get("side"),
    }))
}

/// Parses a price or size field.
pub fn dec_field(field: &str, text: &str) -> Result<Decimal> {
    parse_decimal(field, text)
}

/// Risk status of the live account.
pub async fn risk_status(ctx: &ToolCtx, equity: Decimal) -> Result<(RiskState, Decimal)> {
    let pool = ctx.store.pool();
    let risk = crate::risk_store::load_risk(pool, LIVE_RISK_ID, ctx.clock.now_ms(), equity).await?;
    let (_, total) = live_exposures(pool).await?;
    Ok((risk, total))
}
