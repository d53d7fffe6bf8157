//! The order desk: every order goes through the same steps whichever
//! broker takes it. A known client order id answers the order already
//! placed; the account's compliance rules run against the venue's quote
//! and the account's resting orders; a refusal is audited and names its
//! rule; an allowed order goes to the broker. For real venues the desk
//! reserves the client id before calling the venue (so a retried call never
//! places twice) and records the venue's answer with its audit rows in one
//! transaction.

use std::sync::Arc;

use serde_json::json;
use sqlx::Row;

use nt_mcp_core::Store;

use crate::audit::{self, AuditEvent};
use crate::broker::Broker;
use crate::compliance::{self, CheckResult};
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderRequest};

/// What placing an order did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Placed {
    /// The order.
    pub order: Order,
    /// Whether this call placed it (false: the client id was already used).
    pub new: bool,
    /// The checks it passed (empty for a repeat).
    pub checks: Vec<CheckResult>,
}

/// Runs the compliance checks for `req` at `broker` without placing it.
pub async fn check(
    store: &Store,
    broker: &dyn Broker,
    req: &OrderRequest,
) -> Result<Vec<CheckResult>> {
    req.validate()?;
    let rules = compliance::load_rules(store.pool(), broker.venue()).await?;
    let quote = broker.quote(&req.symbol).await?;
    let resting = broker.orders(true).await?;
    Ok(compliance::check_order(&rules, req, &quote, &resting))
}

/// Places `req` at `broker` through idempotency, compliance and audit.
pub async fn place(
    store: &Store,
    broker: &Arc<dyn Broker>,
    req: &OrderRequest,
    now_ms: i64,
) -> Result<Placed> {
    req.validate()?;
    let cid = req.client_order_id.trim();
    if broker.records_own_audit() {
        if let Some(order) = broker.find_by_client_id(cid).await? {
            return Ok(Placed {
                order,
                new: false,
                checks: Vec::new(),
            });
        }
    } else if let Some(order) = venue_known(store, broker.venue(), cid).await? {
        return Ok(Placed {
            order,
            new: false,
            checks: Vec::new(),
        });
    }
    let checks = check(store, broker.as_ref(), req).await?;
    if let Some(refusal) = compliance::refusal(&checks) {
        let mut tx = store.pool().begin().await?;
        let payload = json!({"request": req, "checks": checks});
        audit::append(
            &mut tx,
            &AuditEvent {
                at_ms: now_ms,
                venue: broker.venue(),
                account_id: broker.venue(),
                kind: "check_failed",
                order_id: None,
                client_order_id: Some(cid),
                payload: &payload,
            },
        )
        .await?;
        tx.commit().await?;
        return Err(refusal);
    }
    if broker.records_own_audit() {
        let order = broker.place_order(req, &checks).await?;
        return Ok(Placed {
            order,
            new: true,
            checks,
        });
    }
    // Reserve the client id first: a concurrent or retried call finds it.
    let reserved = sqlx::query(
        "INSERT INTO broker_venue_orders (venue, client_order_id, status, created_ms, updated_ms) VALUES ($1, $2, 'pending', $3, $3)",
    )
    .bind(broker.venue())
    .bind(cid)
    .bind(now_ms)
    .execute(store.pool())
    .await;
    if reserved.is_err() {
        return match venue_known(store, broker.venue(), cid).await? {
            Some(order) => Ok(Placed {
                order,
                new: false,
                checks: Vec::new(),
            }),
            None => Err(BrokersError::refused(
                "order_in_flight",
                format!(
                    "an order with client id {cid} is being placed; ask broker_orders in a moment"
                ),
            )),
        };
    }
    let result = broker.place_order(req, &checks).await;
    let mut tx = store.pool().begin().await?;
    match &result {
        Ok(order) => {
            let body =
                serde_json::to_string(order).map_err(|e| BrokersError::Corrupt(e.to_string()))?;
            sqlx::query(
                "UPDATE broker_venue_orders SET venue_order_id = $3, status = 'placed', body = $4, updated_ms = $5 \
                 WHERE venue = $1 AND client_order_id = $2",
            )
            .bind(broker.venue())
            .bind(cid)
            .bind(&order.id)
            .bind(body)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            for (kind, payload) in [
                ("checks_passed", json!({"checks": checks})),
                (
                    "order_accepted",
                    json!({"request": req, "venue_order": order}),
                ),
            ] {
                audit::append(
                    &mut tx,
                    &AuditEvent {
                        at_ms: now_ms,
                        venue: broker.venue(),
                        account_id: &order.account_id,
                        kind,
                        order_id: Some(&order.id),
                        client_order_id: Some(cid),
                        payload: &payload,
                    },
                )
                .await?;
            }
        }
        Err(err) => {
            // The venue refused or failed: free the id so a retry may place it.
            sqlx::query(
                "DELETE FROM broker_venue_orders WHERE venue = $1 AND client_order_id = $2",
            )
            .bind(broker.venue())
            .bind(cid)
            .execute(&mut *tx)
            .await?;
            let payload = json!({"request": req, "error": err.to_string()});
            audit::append(
                &mut tx,
                &AuditEvent {
                    at_ms: now_ms,
                    venue: broker.venue(),
                    account_id: broker.venue(),
                    kind: "order_failed",
                    order_id: None,
                    client_order_id: Some(cid),
                    payload: &payload,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    result.map(|order| Placed {
        order,
        new: true,
        checks,
    })
}

/// Records a cancel at a real venue in the audit trail.
pub async fn record_cancel(
    store: &Store,
    broker: &dyn Broker,
    order: &Order,
    now_ms: i64,
) -> Result<()> {
    record(
        store,
        broker,
        order,
        "order_cancelled",
        json!({"venue_order": order}),
        now_ms,
    )
    .await
}

/// Records a replace at a real venue in the audit trail: the order as the
/// caller named it, the change asked for and the venue's answer.
pub async fn record_replace(
    store: &Store,
    broker: &dyn Broker,
    asked: &str,
    change: &crate::broker::OrderChange,
    order: &Order,
    now_ms: i64,
) -> Result<()> {
    let payload = json!({"asked_order_id": asked, "change": change, "venue_order": order});
    record(store, broker, order, "order_replaced", payload, now_ms).await
}

async fn record(
    store: &Store,
    broker: &dyn Broker,
    order: &Order,
    kind: &str,
    payload: serde_json::Value,
    now_ms: i64,
) -> Result<()> {
    if broker.records_own_audit() {
        return Ok(());
    }
    let mut tx = store.pool().begin().await?;
    audit::append(
        &mut tx,
        &AuditEvent {
            at_ms: now_ms,
            venue: broker.venue(),
            account_id: &order.account_id,
            kind,
            order_id: Some(&order.id),
            client_order_id: Some(&order.client_order_id),
            payload: &payload,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn venue_known(store: &Store, venue: &str, cid: &str) -> Result<Option<Order>> {
    let row = sqlx::query("SELECT body FROM broker_venue_orders WHERE venue = $1 AND client_order_id = $2 AND body IS NOT NULL")
        .bind(venue)
        .bind(cid)
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(row) => {
            let body: String = row.try_get(0)?;
            serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| BrokersError::Corrupt(format!("venue order: {e}")))
        }
        None => Ok(None),
    }
}
