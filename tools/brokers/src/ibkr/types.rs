//! IB wire values: JSON field readers, order type and status names, and
//! the live-order object mapped to the crate's [`Order`].

use rust_decimal::Decimal;
use serde_json::Value;

use super::VENUE;
use super::http::IbkrClient;
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderStatus, OrderType, Side, TimeInForce};

/// IB's name for an order type.
pub(super) fn ib_order_type(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "MKT",
        OrderType::Limit => "LMT",
        OrderType::Stop => "STP",
        OrderType::StopLimit => "STOP_LIMIT",
        OrderType::TrailingStop => "TRAIL",
    }
}

/// The status an order answer (`order_status`) reports.
pub(super) fn status_of_reply(first: &Value) -> OrderStatus {
    match first["order_status"].as_str() {
        Some("Filled") => OrderStatus::Filled,
        Some("Cancelled") => OrderStatus::Cancelled,
        Some("Inactive") => OrderStatus::Rejected,
        _ => OrderStatus::Open,
    }
}

pub(super) fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s
            .trim()
            .trim_start_matches(['C', 'H'])
            .replace(',', "")
            .parse()
            .ok(),
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

impl IbkrClient {
    pub(super) fn order_from(account: &str, o: &Value) -> Order {
        let side = match o["side"].as_str().unwrap_or("") {
            "SELL" | "S" => Side::Sell,
            _ => Side::Buy,
        };
        let order_type = match o["orderType"].as_str().unwrap_or("") {
            "Limit" | "LMT" => OrderType::Limit,
            "Stop" | "STP" => OrderType::Stop,
            "StopLimit" | "Stop Limit" | "STP_LIMIT" => OrderType::StopLimit,
            "TrailingStop" | "TRAIL" => OrderType::TrailingStop,
            _ => OrderType::Market,
        };
        // PendingCancel is still working: it can fill until IB confirms
        // the cancel, so it stays open, with the pending cancel as reason.
        let raw_status = o["status"].as_str().unwrap_or("");
        let status = match raw_status {
            "Filled" => OrderStatus::Filled,
            "Cancelled" | "ApiCancelled" => OrderStatus::Cancelled,
            "Inactive" => OrderStatus::Rejected,
            _ => OrderStatus::Open,
        };
        let filled = od(&o["filledQuantity"]).unwrap_or(Decimal::ZERO);
        let status = if status == OrderStatus::Open && filled > Decimal::ZERO {
            OrderStatus::PartiallyFilled
        } else {
            status
        };
        let at = o["lastExecutionTime_r"].as_i64().unwrap_or(0);
        Order {
            id: s(&o["orderId"]),
            client_order_id: s(&o["order_ref"]),
            account_id: account.to_string(),
            symbol: s(&o["ticker"]),
            currency: o["cashCcy"].as_str().unwrap_or("USD").to_string(),
            side,
            order_type,
            time_in_force: match o["timeInForce"].as_str() {
                Some("GTC") => TimeInForce::Gtc,
                Some("IOC") => TimeInForce::Ioc,
                _ => TimeInForce::Day,
            },
            qty: od(&o["totalSize"]).unwrap_or(Decimal::ZERO),
            limit_price: od(&o["price"]),
            stop_price: od(&o["auxPrice"]),
            trail_amount: None,
            trail_percent: None,
            status,
            filled_qty: filled,
            avg_fill_price: od(&o["avgPrice"]),
            commission: Decimal::ZERO,
            reason: (raw_status == "PendingCancel").then(|| "cancel pending at IB".to_string()),
            created_ms: at,
            updated_ms: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// IB's order statuses (<https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#live-orders>)
    /// as ours: a pending cancel can still fill, so it stays working.
    #[test]
    fn ib_order_statuses_map_to_ours() {
        let cases = [
            ("PreSubmitted", 0.0, OrderStatus::Open, None),
            ("Submitted", 0.0, OrderStatus::Open, None),
            ("Submitted", 4.0, OrderStatus::PartiallyFilled, None),
            (
                "PendingCancel",
                0.0,
                OrderStatus::Open,
                Some("cancel pending at IB"),
            ),
            (
                "PendingCancel",
                4.0,
                OrderStatus::PartiallyFilled,
                Some("cancel pending at IB"),
            ),
            ("Cancelled", 0.0, OrderStatus::Cancelled, None),
            ("ApiCancelled", 0.0, OrderStatus::Cancelled, None),
            ("Filled", 10.0, OrderStatus::Filled, None),
            ("Inactive", 0.0, OrderStatus::Rejected, None),
        ];
        for (raw, filled, want, reason) in cases {
            let o = IbkrClient::order_from(
                "DU1234567",
                &json!({"orderId": 1, "status": raw, "filledQuantity": filled, "totalSize": 10.0}),
            );
            assert_eq!((o.status, o.reason.as_deref()), (want, reason), "{raw}");
        }
    }
}
