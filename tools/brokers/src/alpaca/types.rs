//! Alpaca wire values: JSON field readers and the order object mapped to
//! the crate's [`Order`].

use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde_json::Value;

use super::VENUE;
use super::http::AlpacaClient;
use crate::dates::parse_iso_ms;
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderStatus, OrderType, Side, TimeInForce};

pub(super) fn d(v: &Value, field: &str) -> Result<Decimal> {
    od(v).ok_or_else(|| {
        BrokersError::upstream(
            VENUE,
            None,
            format!("field {field}: missing or not a decimal"),
        )
    })
}

pub(super) fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => {
            let t = n.to_string();
            t.parse().ok().or_else(|| Decimal::from_scientific(&t).ok())
        }
        _ => None,
    }
}

pub(super) fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

pub(super) fn ms(v: &Value) -> i64 {
    v.as_str().and_then(parse_iso_ms).unwrap_or(0)
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl AlpacaClient {
    /// An Alpaca order object as an [`Order`].
    /// <https://docs.alpaca.markets/reference/getallorders>
    pub fn order_from(o: &Value) -> Result<Order> {
        let id = s(&o["id"]);
        if id.is_empty() {
            return Err(BrokersError::upstream(
                VENUE,
                None,
                "order object without an id",
            ));
        }
        let side = match o["side"].as_str().unwrap_or("") {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unknown side `{other}`"),
                ));
            }
        };
        // `type` (and the older `order_type`).
        let kind = o["type"]
            .as_str()
            .or(o["order_type"].as_str())
            .unwrap_or("");
        let order_type = match kind {
            "market" => OrderType::Market,
            "limit" => OrderType::Limit,
            "stop" => OrderType::Stop,
            "stop_limit" => OrderType::StopLimit,
            "trailing_stop" => OrderType::TrailingStop,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unknown type `{other}`"),
                ));
            }
        };
        let tif = match o["time_in_force"].as_str().unwrap_or("day") {
            "gtc" => TimeInForce::Gtc,
            "ioc" => TimeInForce::Ioc,
            "fok" => TimeInForce::Fok,
            _ => TimeInForce::Day,
        };
        let status = match o["status"].as_str().unwrap_or("new") {
            "filled" => OrderStatus::Filled,
            "partially_filled" => OrderStatus::PartiallyFilled,
            "canceled" | "replaced" | "done_for_day" => OrderStatus::Cancelled,
            "expired" => OrderStatus::Expired,
            "rejected" | "suspended" | "stopped" => OrderStatus::Rejected,
            // new, accepted, pending_new, accepted_for_bidding, pending_cancel,
            // pending_replace, calculated, held: still working.
            _ => OrderStatus::Open,
        };
        let created = ms(&o["created_at"]);
        let updated = ms(&o["updated_at"]).max(created);
        let reason = match status {
            OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Rejected => {
                Some(s(&o["status"]))
            }
            _ => None,
        };
        Ok(Order {
            id,
            client_order_id: s(&o["client_order_id"]),
            account_id: String::new(),
            symbol: s(&o["symbol"]),
            currency: "USD".into(),
            side,
            order_type,
            time_in_force: tif,
            qty: od(&o["qty"]).unwrap_or(Decimal::ZERO),
            limit_price: od(&o["limit_price"]),
            stop_price: od(&o["stop_price"]),
            trail_amount: od(&o["trail_price"]),
            trail_percent: od(&o["trail_percent"]),
            status,
            filled_qty: od(&o["filled_qty"]).unwrap_or(Decimal::ZERO),
            avg_fill_price: od(&o["filled_avg_price"]),
            commission: od(&o["commission"]).unwrap_or(Decimal::ZERO).abs(),
            reason,
            created_ms: created,
            updated_ms: updated,
        })
    }
}
