//! OANDA wire values: JSON field readers and the order and price objects
//! mapped to the crate's [`Order`] and [`Quote`].

use rust_decimal::Decimal;
use serde_json::Value;

use super::VENUE;
use super::http::OandaClient;
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderStatus, OrderType, Quote, Side, TimeInForce};

pub(super) fn d(v: &Value, field: &str) -> Result<Decimal> {
    match v {
        Value::String(s) => s.parse().map_err(|_| {
            BrokersError::upstream(
                VENUE,
                None,
                format!("field {field}: `{s}` is not a decimal"),
            )
        }),
        Value::Number(n) => n.to_string().parse().map_err(|_| {
            BrokersError::upstream(VENUE, None, format!("field {field}: not a decimal"))
        }),
        _ => Err(BrokersError::upstream(
            VENUE,
            None,
            format!("missing field {field}"),
        )),
    }
}

pub(super) fn od(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// UNIX seconds (`"1478600000.123456789"`) to ms.
pub(super) fn unix_ms(v: &Value) -> i64 {
    od(v)
        .map(|s| (s * Decimal::from(1000)).trunc())
        .and_then(|m| m.to_string().parse().ok())
        .unwrap_or(0)
}

pub(super) fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl OandaClient {
    pub(super) fn order_from(&self, o: &Value) -> Result<Order> {
        let units = d(&o["units"], "units").unwrap_or(Decimal::ZERO);
        let side = if units < Decimal::ZERO {
            Side::Sell
        } else {
            Side::Buy
        };
        let order_type = match o["type"].as_str().unwrap_or("") {
            "MARKET" => OrderType::Market,
            "LIMIT" => OrderType::Limit,
            "STOP" if o.get("priceBound").is_some() => OrderType::StopLimit,
            "STOP" | "MARKET_IF_TOUCHED" => OrderType::Stop,
            "TRAILING_STOP_LOSS" => OrderType::TrailingStop,
            _ => OrderType::Market,
        };
        let status = match o["state"].as_str().unwrap_or("PENDING") {
            "FILLED" => OrderStatus::Filled,
            "CANCELLED" => OrderStatus::Cancelled,
            _ => OrderStatus::Open,
        };
        let tif = match o["timeInForce"].as_str().unwrap_or("GTC") {
            "FOK" => TimeInForce::Fok,
            "IOC" => TimeInForce::Ioc,
            "GFD" => TimeInForce::Day,
            _ => TimeInForce::Gtc,
        };
        let instrument = s(&o["instrument"]);
        let created = unix_ms(&o["createTime"]);
        Ok(Order {
            id: s(&o["id"]),
            client_order_id: s(&o["clientExtensions"]["id"]),
            account_id: self.cfg.account_id.clone(),
            currency: instrument
                .split_once('_')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default(),
            symbol: instrument,
            side,
            order_type,
            time_in_force: tif,
            qty: units.abs(),
            limit_price: if order_type == OrderType::StopLimit {
                od(&o["priceBound"])
            } else if order_type == OrderType::Limit {
                od(&o["price"])
            } else {
                None
            },
            stop_price: if matches!(order_type, OrderType::Stop | OrderType::StopLimit) {
                od(&o["price"])
            } else {
                None
            },
            trail_amount: od(&o["distance"]),
            trail_percent: None,
            status,
            filled_qty: if status == OrderStatus::Filled {
                units.abs()
            } else {
                Decimal::ZERO
            },
            avg_fill_price: None,
            commission: Decimal::ZERO,
            reason: o["cancelledReason"].as_str().map(str::to_string),
            created_ms: created,
            updated_ms: unix_ms(&o["filledTime"])
                .max(unix_ms(&o["cancelledTime"]))
                .max(created),
        })
    }

    pub(super) fn quote_from(p: &Value) -> Result<Quote> {
        let instrument = s(&p["instrument"]);
        let bid = d(&p["bids"][0]["price"], "bids[0].price")
            .or_else(|_| d(&p["closeoutBid"], "closeoutBid"))?;
        let ask = d(&p["asks"][0]["price"], "asks[0].price")
            .or_else(|_| d(&p["closeoutAsk"], "closeoutAsk"))?;
        Ok(Quote {
            currency: instrument
                .split_once('_')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default(),
            symbol: instrument,
            bid,
            ask,
            last: ((bid + ask) / Decimal::TWO).round_dp(6),
            at_ms: unix_ms(&p["time"]),
        })
    }
}
