//! [`Recorder`]: applies user-channel events to `pm_live_orders` and
//! `pm_live_fills`, each change in one transaction with its `audit_log` row.

use std::str::FromStr;
use std::sync::Arc;

use nt_mcp_core::clock::Clock;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::Row;

use super::{
    MakerOrder, OrderEvent, OrderEventKind, OrderSeen, TradeEvent, TradeStatus, UserEvent,
    UserStreamState,
};
use crate::error::{PolymarketError, Result};
use crate::live::LIVE_VENUE;
use crate::venue::{AuditInfo, audit_row};

/// What applying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An order of this server changed (status or size matched).
    OrderUpdated,
    /// An order event that changed nothing.
    OrderUnchanged,
    /// An order this server did not place (nothing written).
    OrderNotPlacedHere,
    /// A new trade was recorded; `placed_here` says whether it fills an
    /// order of this server.
    FillRecorded {
        /// Whether this server placed the order filled.
        placed_here: bool,
    },
    /// A known trade moved to a newer status.
    FillUpdated,
    /// A repeated or stale trade event.
    FillUnchanged,
}

/// Applies user-channel events to the store, writing an audit row with
/// each change.
#[derive(Clone)]
pub struct Recorder {
    pool: sqlx::AnyPool,
    clock: Arc<dyn Clock>,
    audit: AuditInfo,
    api_key: String,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("tool", &self.audit.tool)
            .finish_non_exhaustive()
    }
}

/// The status an order event implies, given the one stored.
fn next_status(stored: &str, ev: &OrderEvent, matched: Decimal) -> String {
    if matches!(stored, "cancelled" | "matched" | "rejected") {
        return stored.to_string();
    }
    let filled = ev.original_size > Decimal::ZERO && matched >= ev.original_size;
    match &ev.kind {
        OrderEventKind::Cancellation => "cancelled".into(),
        OrderEventKind::Placement | OrderEventKind::Update if filled => "matched".into(),
        OrderEventKind::Placement | OrderEventKind::Update => "live".into(),
        OrderEventKind::Other(_) => match ev.status.as_deref().map(str::to_ascii_lowercase) {
            Some(s) if s == "canceled" || s == "cancelled" => "cancelled".into(),
            Some(s) if !s.is_empty() => s,
            _ => stored.to_string(),
        },
    }
}

fn stored_decimal(row: &sqlx::any::AnyRow, col: &str) -> Decimal {
    row.try_get::<Option<String>, _>(col)
        .ok()
        .flatten()
        .and_then(|t| Decimal::from_str(&t).ok())
        .unwrap_or_default()
}

impl Recorder {
    /// A recorder writing to `pool`; audit rows copy `audit` (tool, caller,
    /// variant) with the time from `clock`. `api_key` tells this key's
    /// maker orders in a trade.
    pub fn new(
        pool: sqlx::AnyPool,
        clock: Arc<dyn Clock>,
        audit: AuditInfo,
        api_key: &str,
    ) -> Self {
        Self {
            pool,
            clock,
            audit,
            api_key: api_key.to_string(),
        }
    }

    fn audit_now(&self) -> AuditInfo {
        AuditInfo {
            at_ms: self.clock.now_ms(),
            ..self.audit.clone()
        }
    }

    /// Applies one event (in one transaction with its audit row).
    pub async fn apply(&self, event: &UserEvent, state: &UserStreamState) -> Result<Outcome> {
        match event {
            UserEvent::Order(o) => self.apply_order(o, state).await,
            UserEvent::Trade(t) => self.apply_trade(t).await,
        }
    }

    async fn apply_order(&self, ev: &OrderEvent, state: &UserStreamState) -> Result<Outcome> {
        let audit = self.audit_now();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT client_order_id, status, size_matched FROM pm_live_orders WHERE venue_order_id = $1",
        )
        .bind(&ev.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            state.remember(OrderSeen {
                order_id: ev.id.clone(),
                client_order_id: None,
                placed_here: false,
                event: ev.kind.as_str().to_string(),
                status: next_status("live", ev, ev.size_matched),
                size_matched: ev.size_matched,
                original_size: ev.original_size,
                market: ev.market.clone(),
            });
            return Ok(Outcome::OrderNotPlacedHere);
        };
        let cid: String = row.try_get("client_order_id")?;
        let before: String = row.try_get("status")?;
        let had = row.try_get::<Option<String>, _>("size_matched")?.is_some();
        let old_matched = stored_decimal(&row, "size_matched");
        let matched = old_matched.max(ev.size_matched);
        let status = next_status(&before, ev, matched);
        state.remember(OrderSeen {
            order_id: ev.id.clone(),
            client_order_id: Some(cid.clone()),
            placed_here: true,
            event: ev.kind.as_str().to_string(),
            status: status.clone(),
            size_matched: matched,
            original_size: ev.original_size,
            market: ev.market.clone(),
        });
        if status == before && matched == old_matched && had {
            tx.rollback().await?;
            return Ok(Outcome::OrderUnchanged);
        }
        sqlx::query(
            "UPDATE pm_live_orders SET status = $1, size_matched = $2, updated_ms = $3 WHERE client_order_id = $4",
        )
        .bind(&status)
        .bind(matched.normalize().to_string())
        .bind(audit.at_ms)
        .bind(&cid)
        .execute(&mut *tx)
        .await?;
        audit_row(
            &mut tx,
            &audit,
            "live_order_update",
            &json!({ "venue": LIVE_VENUE, "source": "user_channel", "client_order_id": cid,
                     "order_id": ev.id, "event": ev.kind.as_str(), "status_before": before,
                     "status": status, "size_matched": matched, "original_size": ev.original_size }),
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::OrderUpdated)
    }

    async fn apply_trade(&self, ev: &TradeEvent) -> Result<Outcome> {
        let audit = self.audit_now();
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query(
            "SELECT status, last_update, client_order_id FROM pm_live_fills WHERE trade_id = $1",
        )
        .bind(&ev.id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            let old = TradeStatus::parse(&row.try_get::<String, _>("status")?);
            let old_update = row
                .try_get::<Option<String>, _>("last_update")?
                .and_then(|t| t.trim().parse::<i64>().ok());
            if !ev
                .status
                .supersedes(ev.last_update_secs(), &old, old_update)
            {
                tx.rollback().await?;
                return Ok(Outcome::FillUnchanged);
            }
            sqlx::query(
                "UPDATE pm_live_fills SET status = $1, last_update = $2, updated_ms = $3 WHERE trade_id = $4",
            )
            .bind(ev.status.as_str())
            .bind(Some(ev.last_update.clone()).filter(|s| !s.is_empty()))
            .bind(audit.at_ms)
            .bind(&ev.id)
            .execute(&mut *tx)
            .await?;
            let cid: Option<String> = row.try_get("client_order_id")?;
            audit_row(
                &mut tx,
                &audit,
                "live_fill_status",
                &json!({ "venue": LIVE_VENUE, "source": "user_channel", "trade_id": ev.id,
                         "status_before": old.as_str(), "status": ev.status.as_str(),
                         "client_order_id": cid, "placed_here": cid.is_some() }),
            )
            .await?;
            tx.commit().await?;
            return Ok(Outcome::FillUpdated);
        }
        let own = self.ownership(&mut tx, ev).await?;
        let placed_here = own.client_order_id.is_some();
        let makers = serde_json::to_string(&ev.maker_orders)
            .map_err(|e| PolymarketError::Config(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO pm_live_fills (trade_id, market, asset_id, side, price, size, outcome, status, \
             taker_order_id, role, venue_order_id, client_order_id, placed_here, own_size, own_price, \
             maker_orders, match_time, last_update, first_seen_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             ON CONFLICT (trade_id) DO NOTHING",
        )
        .bind(&ev.id)
        .bind(&ev.market)
        .bind(&ev.asset_id)
        .bind(&ev.side)
        .bind(ev.price.to_string())
        .bind(ev.size.to_string())
        .bind(Some(ev.outcome.clone()).filter(|s| !s.is_empty()))
        .bind(ev.status.as_str())
        .bind(&ev.taker_order_id)
        .bind(own.role)
        .bind(own.venue_order_id.clone())
        .bind(own.client_order_id.clone())
        .bind(i64::from(placed_here))
        .bind(own.size.normalize().to_string())
        .bind(own.price.normalize().to_string())
        .bind(makers)
        .bind(Some(ev.matchtime.clone()).filter(|s| !s.is_empty()))
        .bind(Some(ev.last_update.clone()).filter(|s| !s.is_empty()))
        .bind(audit.at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(Outcome::FillUnchanged);
        }
        audit_row(
            &mut tx,
            &audit,
            "live_fill",
            &json!({ "venue": LIVE_VENUE, "source": "user_channel", "trade_id": ev.id,
                     "status": ev.status.as_str(), "market": ev.market, "asset_id": ev.asset_id,
                     "role": own.role, "order_id": own.venue_order_id,
                     "client_order_id": own.client_order_id, "placed_here": placed_here,
                     "size": own.size, "price": own.price,
                     "note": if placed_here { "fill of an order this server placed" }
                             else { "fill of an order this server did not place" } }),
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::FillRecorded { placed_here })
    }

    /// Which side of the trade is this key's: the taker order when this
    /// server placed it (or the trade's owner is this key and none of the
    /// maker orders is), else this key's maker orders.
    async fn ownership(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ev: &TradeEvent,
    ) -> Result<Ownership> {
        let taker_cid = if ev.taker_order_id.is_empty() {
            None
        } else {
            placed_here(tx, &ev.taker_order_id).await?
        };
        let mut mine: Vec<(&MakerOrder, Option<String>)> = Vec::new();
        for m in &ev.maker_orders {
            let cid = placed_here(tx, &m.order_id).await?;
            let key_match = !self.api_key.is_empty() && m.owner == self.api_key;
            if cid.is_some() || key_match {
                mine.push((m, cid));
            }
        }
        let key_is_taker = !self.api_key.is_empty() && ev.trade_owner == self.api_key;
        if taker_cid.is_some() || (key_is_taker && mine.is_empty()) {
            return Ok(Ownership {
                role: "taker",
                venue_order_id: Some(ev.taker_order_id.clone()).filter(|s| !s.is_empty()),
                client_order_id: taker_cid,
                size: ev.size,
                price: ev.price,
            });
        }
        if mine.is_empty() {
            return Ok(Ownership {
                role: "unknown",
                venue_order_id: None,
                client_order_id: None,
                size: ev.size,
                price: ev.price,
            });
        }
        // Ours first among our maker orders: the one this server placed.
        mine.sort_by_key(|(_, cid)| cid.is_none());
        let (first, cid) = &mine[0];
        Ok(Ownership {
            role: "maker",
            venue_order_id: Some(first.order_id.clone()),
            client_order_id: cid.clone(),
            size: mine.iter().map(|(m, _)| m.matched_amount).sum(),
            price: first.price,
        })
    }
}

/// The client order id of the order with venue id `id`, when this server
/// placed it.
async fn placed_here(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT client_order_id FROM pm_live_orders WHERE venue_order_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

struct Ownership {
    role: &'static str,
    venue_order_id: Option<String>,
    client_order_id: Option<String>,
    size: Decimal,
    price: Decimal,
}
