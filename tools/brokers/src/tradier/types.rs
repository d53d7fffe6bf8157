//! Tradier wire values: JSON field readers, list unwrapping, the order tag
//! rule and the order object mapped to the crate's [`Order`].

use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde_json::Value;

use super::VENUE;
use super::http::TradierClient;
use crate::dates::parse_iso_ms;
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderStatus, OrderType, Side, TimeInForce};

/// Tradier sends money as JSON floats (`6363.860000000000582`): parsed as
/// f64 they carry binary noise, so numbers are rounded to 8 places (finer
/// than any price or share quantity Tradier quotes).
pub(super) fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => {
            let t = n.to_string();
            t.parse::<Decimal>()
                .ok()
                .or_else(|| Decimal::from_scientific(&t).ok())
                .map(|x| x.round_dp(8).normalize())
        }
        _ => None,
    }
}

pub(super) fn d(v: &Value, field: &str) -> Result<Decimal> {
    od(v).ok_or_else(|| {
        BrokersError::upstream(
            VENUE,
            None,
            format!("field {field}: missing or not a decimal"),
        )
    })
}

pub(super) fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Tradier wraps lists as `{"x": [..]}`, `{"x": {..}}` for one item, and
/// `"null"` for none.
pub(super) fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => Vec::new(),
    }
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Tradier's tag: letters, digits and `-`, at most 255 characters.
pub(super) fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl TradierClient {
    pub(super) fn order_from(account: &str, o: &Value) -> Result<Order> {
        let id = s(&o["id"]);
        if id.is_empty() {
            return Err(BrokersError::upstream(VENUE, None, "order without an id"));
        }
        let side = match o["side"].as_str().unwrap_or("") {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            "sell_short" => Side::SellShort,
            "buy_to_cover" => Side::BuyToCover,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unknown side `{other}`"),
                ));
            }
        };
        let order_type = match o["type"].as_str().unwrap_or("") {
            "market" => OrderType::Market,
            "limit" => OrderType::Limit,
            "stop" => OrderType::Stop,
            "stop_limit" => OrderType::StopLimit,
            other => {
                return Err(BrokersError::upstream(
                    VENUE,
                    None,
                    format!("order {id}: unsupported type `{other}`"),
                ));
            }
        };
        let status = match o["status"].as_str().unwrap_or("open") {
            "filled" => OrderStatus::Filled,
            "partially_filled" => OrderStatus::PartiallyFilled,
            "canceled" => OrderStatus::Cancelled,
            "expired" => OrderStatus::Expired,
            "rejected" | "error" => OrderStatus::Rejected,
            // open, pending, calculated, accepted_for_bidding, held.
            _ => OrderStatus::Open,
        };
        let created = o["create_date"]
            .as_str()
            .and_then(parse_iso_ms)
            .unwrap_or(0);
        let filled = od(&o["exec_quantity"]).unwrap_or(Decimal::ZERO);
        let avg = od(&o["avg_fill_price"]).filter(|p| !p.is_zero());
        Ok(Order {
            id,
            client_order_id: s(&o["tag"]),
            account_id: account.to_string(),
            symbol: s(&o["symbol"]),
            currency: "USD".into(),
            side,
            order_type,
            time_in_force: match o["duration"].as_str() {
                Some("gtc") => TimeInForce::Gtc,
                _ => TimeInForce::Day,
            },
            qty: od(&o["quantity"]).unwrap_or(Decimal::ZERO),
            limit_price: if matches!(order_type, OrderType::Limit | OrderType::StopLimit) {
                od(&o["price"])
            } else {
                None
            },
            stop_price: od(&o["stop_price"]),
            trail_amount: None,
            trail_percent: None,
            status,
            filled_qty: filled,
            avg_fill_price: avg,
            commission: Decimal::ZERO,
            reason: o["reason_description"].as_str().map(str::to_string),
            created_ms: created,
            updated_ms: o["transaction_date"]
                .as_str()
                .and_then(parse_iso_ms)
                .unwrap_or(created)
                .max(created),
        })
    }
}
