//! The venue's own words from an error body.

use serde_json::Value;

/// Keys venues put their error text under, in the order tried: Polymarket
/// and BALLDONTLIE `error`, Alpaca and Questrade `message`, OANDA
/// `errorMessage`, Polymarket's data API `errorMsg`, IB `detail`.
const KEYS: [&str; 5] = ["error", "message", "errorMessage", "errorMsg", "detail"];

/// The message in a JSON error body (a string under one of the usual keys,
/// or `{"errors": {"error": ...}}` as Tradier nests it), else the start of
/// the body text, else `(empty body)`.
pub fn venue_message(body: &[u8]) -> String {
    if let Some(found) = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| message_in(&v))
    {
        return found;
    }
    let text: String = String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(300)
        .collect();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text
    }
}

fn message_in(v: &Value) -> Option<String> {
    for key in KEYS {
        match v.get(key) {
            Some(Value::String(s)) if !s.is_empty() => return Some(s.clone()),
            Some(Value::Object(_)) => {
                if let Some(inner) = v.get(key).and_then(message_in) {
                    return Some(inner);
                }
            }
            _ => {}
        }
    }
    match v.get("errors") {
        Some(Value::Object(_)) => v.get("errors").and_then(message_in),
        Some(Value::Array(items)) => items
            .iter()
            .find_map(|i| i.as_str().map(str::to_string).or_else(|| message_in(i))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_venue_shape() {
        assert_eq!(
            venue_message(br#"{"error":"not enough balance"}"#),
            "not enough balance"
        );
        assert_eq!(
            venue_message(br#"{"code":40310000,"message":"insufficient buying power"}"#),
            "insufficient buying power"
        );
        assert_eq!(
            venue_message(
                br#"{"errorCode":"MARKET_HALTED","errorMessage":"The market is halted"}"#
            ),
            "The market is halted"
        );
        assert_eq!(
            venue_message(br#"{"errors":{"error":"Invalid Parameter: symbol"}}"#),
            "Invalid Parameter: symbol"
        );
        assert_eq!(venue_message(br#"{"errors":["bad qty"]}"#), "bad qty");
        assert_eq!(venue_message(b"Service Unavailable"), "Service Unavailable");
        assert_eq!(venue_message(b"   "), "(empty body)");
        assert_eq!(venue_message(&[b'x'; 400]).len(), 300);
    }
}
