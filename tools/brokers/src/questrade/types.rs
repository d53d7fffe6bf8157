//! Questrade wire values: JSON field readers, the venue's error message
//! and the order object mapped to the crate's [`Order`].

use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde_json::Value;

use super::VENUE;
use super::http::QuestradeCore;
use crate::dates::parse_iso_ms;
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderStatus, OrderType, Side, TimeInForce};

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(super) fn od(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    text.parse()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

pub(super) fn d(v: &Value, field: &str) -> Result<Decimal> {
    od(v).ok_or_else(|| {
        BrokersError::upstream(
            VENUE,
            None,
            format!("field {field} is missing or not a number"),
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

pub(super) fn iso(v: &Value) -> i64 {
    v.as_str().and_then(parse_iso_ms).unwrap_or(0)
}

pub(super) fn currency_of(symbol: &str) -> String {
    crate::types::Instrument::paper(symbol).currency
}

/// The venue's own message from an error answer (`{"code": 1017, "message": "..."}`).
pub(super) fn venue_message(status: u16, body: &[u8]) -> BrokersError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut message = v["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    if message.trim().is_empty() {
        message = "no error message in the answer".into();
    }
    if let Some(code) = v["code"].as_i64() {
        message = format!("{message} (code {code})");
    }
    BrokersError::upstream(VENUE, Some(status), message)
}

impl QuestradeCore {
    pub(super) fn order_from(&self, account: &str, o: &Value) -> Order {
        let symbol = s(&o["symbol"]);
        let order_type = match o["orderType"].as_str().unwrap_or("") {
            "Limit" | "LimitOnOpen" | "LimitOnClose" => OrderType::Limit,
            "Stop" => OrderType::Stop,
            "StopLimit" => OrderType::StopLimit,
            t if t.starts_with("TrailStop") => OrderType::TrailingStop,
            _ => OrderType::Market,
        };
        let status = match o["state"].as_str().unwrap_or("") {
            "Executed" => OrderStatus::Filled,
            "Partial" => OrderStatus::PartiallyFilled,
            "Canceled" | "PartialCanceled" | "Replaced" => OrderStatus::Cancelled,
            "Rejected" | "Failed" => OrderStatus::Rejected,
            "Expired" => OrderStatus::Expired,
            _ => OrderStatus::Open,
        };
        let side = match o["side"].as_str().unwrap_or("") {
            "Sell" | "STC" => Side::Sell,
            "Short" | "STO" => Side::SellShort,
            "Cov" | "BTC" => Side::BuyToCover,
            _ => Side::Buy,
        };
        let tif = match o["timeInForce"].as_str().unwrap_or("") {
            "GoodTillCanceled" | "GoodTillDate" | "GoodTillExtendedDay" => TimeInForce::Gtc,
            "ImmediateOrCancel" => TimeInForce::Ioc,
            "FillOrKill" => TimeInForce::Fok,
            _ => TimeInForce::Day,
        };
        let created = iso(&o["creationTime"]);
        Order {
            id: s(&o["id"]),
            client_order_id: String::new(),
            account_id: account.to_string(),
            currency: currency_of(&symbol),
            symbol,
            side,
            order_type,
            time_in_force: tif,
            qty: od(&o["totalQuantity"]).unwrap_or(Decimal::ZERO),
            limit_price: od(&o["limitPrice"]),
            stop_price: od(&o["stopPrice"]),
            trail_amount: None,
            trail_percent: None,
            status,
            filled_qty: od(&o["filledQuantity"]).unwrap_or(Decimal::ZERO),
            avg_fill_price: od(&o["avgExecPrice"]),
            commission: od(&o["commissionCharged"]).unwrap_or(Decimal::ZERO),
            reason: o["rejectReason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            created_ms: created,
            updated_ms: iso(&o["updateTime"]).max(created),
        }
    }
}
