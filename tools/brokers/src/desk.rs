//! The order desk: every order goes through the same steps whichever
//! broker takes it. A known client order id answers the order already
//! placed; the account's compliance rules run against the venue's quote,
//! the account's resting orders, its position in the symbol (so a plain
//! sell of more than is held is a short sale at every broker) and its base
//! currency (the order value limit); a refusal is audited and names its
//! rule; an allowed order (reduced to the position when the caller asked)
//! goes to the broker. For real venues the desk reserves the client id
//! before calling the venue (so a retried call never places twice) and
//! records the venue's answer with its audit rows in one transaction,
//! which holds the audit chain's lock ([`audit::begin`]).

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use nt_mcp_core::Store;

use crate::audit::{self, AuditEvent};
use crate::broker::Broker;
use crate::compliance::{self, CheckResult, Context, Rate, Review, RulesCache};
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderRequest, Side};

/// What placing an order did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Placed {
    /// The order.
    pub order: Order,
    /// Whether this call placed it (false: the client id was already used).
    pub new: bool,
    /// The checks it passed (empty for a repeat).
    pub checks: Vec<CheckResult>,
    /// The quantity asked for, when a sell was reduced to the position.
    pub reduced_from: Option<Decimal>,
}

impl Placed {
    /// The answer for a client id already used: its order, nothing new.
    pub(crate) fn repeat(order: Order) -> Self {
        Self {
            order,
            new: false,
            checks: Vec::new(),
            reduced_from: None,
        }
    }
}

/// How long a stored daily rate may be used to value an order in the
/// account's currency.
const RATE_MAX_AGE_DAYS: i64 = 31;

/// The rate from `from` to `to` (units of `to` per unit of `from`): the
/// stored daily CAD rates of both currencies (`tax_load_fx_rates`, at most
/// 31 days old), else the venue's quote of `FROM_TO` or `TO_FROM` when the
/// venue trades currency pairs (the order is for a pair, or the venue is
/// the paper broker, whose simulated pairs come last for that reason).
async fn rate(
    store: &Store,
    broker: &dyn Broker,
    req: &OrderRequest,
    from: &str,
    to: &str,
    now_ms: i64,
) -> Result<Option<Rate>> {
    if let Some(r) = stored_rate(store, from, to, now_ms).await? {
        return Ok(Some(r));
    }
    if req.symbol.contains('_') || broker.venue() == crate::paper::PAPER {
        for (pair, invert) in [
            (format!("{from}_{to}"), false),
            (format!("{to}_{from}"), true),
        ] {
            // A venue that does not list the pair answers an error: try the next.
            if let Ok(q) = broker.quote(&pair).await
                && q.last > Decimal::ZERO
            {
                let value = if invert {
                    Decimal::ONE / q.last
                } else {
                    q.last
                };
                return Ok(Some(Rate {
                    value: value.round_dp(10),
                    source: format!("{} quote of {pair} at {}", broker.venue(), q.last),
                }));
            }
        }
    }
    Ok(None)
}

/// `to` per `from` from the stored daily CAD rates (CAD per unit), the
/// latest of the last [`RATE_MAX_AGE_DAYS`] days for each.
async fn stored_rate(store: &Store, from: &str, to: &str, now_ms: i64) -> Result<Option<Rate>> {
    let mut conn = store.pool().acquire().await?;
    stored_rate_on(&mut conn, from, to, now_ms).await
}

/// [`stored_rate`] on `conn` (a transaction's connection).
pub(crate) async fn stored_rate_on(
    conn: &mut AnyConnection,
    from: &str,
    to: &str,
    now_ms: i64,
) -> Result<Option<Rate>> {
    let today = crate::dates::day_of_ms(now_ms);
    let newest = crate::dates::format_date(today);
    let oldest = crate::dates::format_date(today - RATE_MAX_AGE_DAYS);
    let mut found = Vec::with_capacity(2);
    for currency in [from, to] {
        if currency == "CAD" {
            found.push((Decimal::ONE, None));
            continue;
        }
        let row = sqlx::query(
            "SELECT day, rate FROM broker_fx_rates WHERE currency = $1 AND day <= $2 AND day >= $3 ORDER BY day DESC LIMIT 1",
        )
        .bind(currency)
        .bind(&newest)
        .bind(&oldest)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let day: String = row.try_get(0)?;
        let rate = crate::types::dec(&row.try_get::<String, _>(1)?)?;
        if rate <= Decimal::ZERO {
            return Ok(None);
        }
        found.push((rate, Some(day)));
    }
    let days: Vec<String> = found.iter().filter_map(|(_, d)| d.clone()).collect();
    Ok(Some(Rate {
        value: (found[0].0 / found[1].0).round_dp(10),
        source: format!("stored daily CAD rates of {}", days.join(" and ")),
    }))
}

/// Runs the compliance checks for `req` at `broker` without placing it:
/// the account's rules against the venue's quote, the account's working
/// orders, its position in the symbol (for sells) and its base currency
/// (when the order value is limited). A sell asked to be reduced to the
/// position comes back reduced.
pub async fn check(
    store: &Store,
    broker: &dyn Broker,
    req: &OrderRequest,
    now_ms: i64,
) -> Result<Review> {
    req.validate()?;
    let rules = compliance::load_rules(store.pool(), broker.venue()).await?;
    let quote = broker.quote(&req.symbol).await?;
    let resting = broker.orders(true).await?;
    let held: Decimal = if matches!(req.side, Side::Sell | Side::SellShort) {
        broker
            .positions()
            .await?
            .iter()
            .filter(|p| compliance::same_symbol(&p.symbol, &req.symbol))
            .map(|p| p.qty)
            .sum()
    } else {
        Decimal::ZERO
    };
    let account_currency = match rules.max_order_value {
        Some(_) => Some(broker.account().await?.currency.to_ascii_uppercase()),
        None => None,
    };
    let quote_currency = quote.currency.to_ascii_uppercase();
    let pair_on_account = req
        .symbol
        .trim()
        .to_ascii_uppercase()
        .split_once('_')
        .is_some_and(|(base, q)| Some(base) == account_currency.as_deref() && q == quote_currency);
    let fx = match &account_currency {
        Some(acct) if *acct != quote_currency && !pair_on_account => {
            rate(store, broker, req, &quote_currency, acct, now_ms).await?
        }
        _ => None,
    };
    let ctx = Context {
        quote: &quote,
        resting: &resting,
        held,
        account_currency: account_currency.as_deref(),
        rate: fx.as_ref(),
    };
    let mut review = compliance::review(&rules, req, &ctx);
    // The kill rule reads the paper account's fills (real venues' fills
    // are not in the database).
    if let Some(paper) = broker.as_paper() {
        let mut conn = store.pool().acquire().await?;
        if let Some(c) = paper
            .kill_check(&mut conn, &review.order, held, &resting)
            .await?
        {
            compliance::insert_check(&mut review.checks, c);
        }
    }
    Ok(review)
}

/// Places `req` at `broker` through idempotency, compliance and audit
/// (the account's rules read from the store).
pub async fn place(
    store: &Store,
    broker: &Arc<dyn Broker>,
    req: &OrderRequest,
    now_ms: i64,
) -> Result<Placed> {
    place_with(store, broker, req, now_ms, &RulesCache::default()).await
}

/// [`place`] with the account's rules read through `rules`. A paper order
/// runs whole in the paper broker: idempotency, compliance, the order, its
/// fill and their audit rows in one transaction.
pub async fn place_with(
    store: &Store,
    broker: &Arc<dyn Broker>,
    req: &OrderRequest,
    now_ms: i64,
    rules: &RulesCache,
) -> Result<Placed> {
    req.validate()?;
    if let Some(paper) = broker.as_paper() {
        let rules = rules.get(store.pool(), broker.venue()).await?;
        return paper.place_reviewed(req, &rules).await;
    }
    let cid = req.client_order_id.trim();
    if broker.records_own_audit() {
        if let Some(order) = broker.find_by_client_id(cid).await? {
            return Ok(Placed::repeat(order));
        }
    } else if let Some(order) = venue_known(store, broker.venue(), cid).await? {
        return Ok(Placed::repeat(order));
    }
    let Review {
        order: req_owned,
        reduced_from,
        checks,
    } = check(store, broker.as_ref(), req, now_ms).await?;
    if let Some(refusal) = compliance::refusal(&checks) {
        let mut tx = audit::begin(store.pool()).await?;
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
    // The order as checked (a sell reduced to the position when asked).
    let req = &req_owned;
    let placed = |order: Order, checks: Vec<CheckResult>| Placed {
        order,
        new: true,
        checks,
        reduced_from,
    };
    if broker.records_own_audit() {
        let order = broker.place_order(req, &checks).await?;
        return Ok(placed(order, checks));
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
            Some(order) => Ok(Placed::repeat(order)),
            None => Err(BrokersError::refused(
                "order_in_flight",
                format!(
                    "an order with client id {cid} is being placed; ask broker_orders in a moment"
                ),
            )),
        };
    }
    let result = broker.place_order(req, &checks).await;
    let mut tx = audit::begin(store.pool()).await?;
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
                    json!({"request": req, "reduced_from": reduced_from, "venue_order": order}),
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
    result.map(|order| placed(order, checks))
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
    let mut tx = audit::begin(store.pool()).await?;
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
