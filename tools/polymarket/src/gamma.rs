//! The Gamma API client: event and market metadata (question, outcomes,
//! CLOB token ids, neg-risk flag, tick size, minimum order size, end date).
//! Public, no auth. `outcomes` and `clobTokenIds` arrive as JSON-encoded
//! strings (`"[\"Yes\", \"No\"]"`); both that and a plain array are read.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::error::{PolymarketError, Result};
use crate::http::{RetryPolicy, Service};
use crate::types::TickSize;

/// The public Gamma host.
pub const DEFAULT_GAMMA_URL: &str = "https://gamma-api.polymarket.com";

/// One market as Gamma describes it (the fields this crate uses).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GammaMarket {
    /// Gamma's market id.
    pub id: String,
    /// CTF condition id.
    pub condition_id: String,
    /// The question.
    pub question: String,
    /// URL slug.
    pub slug: String,
    /// Outcome names, in token order.
    pub outcomes: Vec<String>,
    /// CLOB token id of each outcome, in the same order.
    pub clob_token_ids: Vec<String>,
    /// Traded on the Neg-Risk exchange.
    pub neg_risk: bool,
    /// Minimum tick size.
    pub tick_size: Option<Decimal>,
    /// Minimum order size (shares).
    pub min_order_size: Option<Decimal>,
    /// End date (ISO 8601).
    pub end_date: Option<String>,
    /// Active.
    pub active: bool,
    /// Closed (resolved or halted).
    pub closed: bool,
    /// Best bid, when Gamma reports it.
    pub best_bid: Option<Decimal>,
    /// Best ask, when Gamma reports it.
    pub best_ask: Option<Decimal>,
    /// Last trade price, when Gamma reports it.
    pub last_trade_price: Option<Decimal>,
}

impl GammaMarket {
    /// The tick size as a [`TickSize`] (0.01 when Gamma gives none).
    pub fn tick(&self) -> Result<TickSize> {
        match self.tick_size {
            Some(t) => TickSize::from_decimal(t)
                .map_err(|e| PolymarketError::Upstream(format!("Gamma tick size: {e}"))),
            None => Ok(TickSize::T0_01),
        }
    }

    /// The token id of `outcome` (case-insensitive: "Yes", "No", a name).
    pub fn token_for(&self, outcome: &str) -> Option<&str> {
        self.outcomes
            .iter()
            .position(|o| o.eq_ignore_ascii_case(outcome))
            .and_then(|i| self.clob_token_ids.get(i))
            .map(String::as_str)
    }

    /// Reads one market object.
    pub fn from_json(v: &Value) -> Result<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let condition_id = s("conditionId");
        if condition_id.is_empty() {
            return Err(PolymarketError::Upstream(
                "Gamma market without conditionId".into(),
            ));
        }
        Ok(Self {
            id: match v.get("id") {
                Some(Value::String(x)) => x.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            },
            condition_id,
            question: s("question"),
            slug: s("slug"),
            outcomes: string_list(v.get("outcomes"))?,
            clob_token_ids: string_list(v.get("clobTokenIds"))?,
            neg_risk: v.get("negRisk").and_then(Value::as_bool).unwrap_or(false),
            tick_size: decimal(v.get("orderPriceMinTickSize")),
            min_order_size: decimal(v.get("orderMinSize")),
            end_date: v.get("endDate").and_then(Value::as_str).map(str::to_string),
            active: v.get("active").and_then(Value::as_bool).unwrap_or(false),
            closed: v.get("closed").and_then(Value::as_bool).unwrap_or(false),
            best_bid: decimal(v.get("bestBid")),
            best_ask: decimal(v.get("bestAsk")),
            last_trade_price: decimal(v.get("lastTradePrice")),
        })
    }
}

/// One event and its markets.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GammaEvent {
    /// Gamma's event id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Neg-risk event (mutually exclusive outcomes).
    pub neg_risk: bool,
    /// Gamma's `negRiskAugmented`: the event may gain outcomes (placeholder
    /// markets), so its listed outcomes are not provably exhaustive;
    /// `None` when Gamma did not say.
    pub neg_risk_augmented: Option<bool>,
    /// End date (ISO 8601).
    pub end_date: Option<String>,
    /// Its markets.
    pub markets: Vec<GammaMarket>,
}

fn decimal(v: Option<&Value>) -> Option<Decimal> {
    decimal_raw(v).map(|d| d.normalize())
}

fn decimal_raw(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn string_list(v: Option<&Value>) -> Result<Vec<String>> {
    let parsed;
    let arr = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(Value::String(text)) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|e| {
                PolymarketError::Upstream(format!("Gamma list field is not JSON: {e}"))
            })?;
            match &parsed {
                Value::Array(a) => a,
                _ => {
                    return Err(PolymarketError::Upstream(
                        "Gamma list field is not an array".into(),
                    ));
                }
            }
        }
        Some(_) => {
            return Err(PolymarketError::Upstream(
                "Gamma list field has an unexpected type".into(),
            ));
        }
    };
    Ok(arr
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect())
}

fn list(v: Value, what: &str) -> Result<Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(PolymarketError::Upstream(format!(
            "Gamma {what} answer is not an array: {}",
            other.to_string().chars().take(120).collect::<String>()
        ))),
    }
}

/// Filters for `GET /markets`.
#[derive(Debug, Clone, Default)]
pub struct MarketQuery {
    /// Page size.
    pub limit: Option<u32>,
    /// Offset.
    pub offset: Option<u32>,
    /// `closed=` filter.
    pub closed: Option<bool>,
    /// Exact slug.
    pub slug: Option<String>,
    /// Condition ids.
    pub condition_ids: Vec<String>,
    /// CLOB token ids.
    pub clob_token_ids: Vec<String>,
}

/// A Gamma API client.
#[derive(Debug)]
pub struct GammaClient {
    svc: Service,
}

impl GammaClient {
    /// A client for `base` (e.g. [`DEFAULT_GAMMA_URL`]).
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            svc: Service::new("Gamma", base)?,
        })
    }

    /// Replaces the retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.svc.set_policy(policy);
        self
    }

    /// `GET /markets` with filters.
    // Doc: https://docs.polymarket.com/developers/gamma-markets-api/get-markets
    // (query: limit, offset, closed, slug, condition_ids, clob_token_ids; fields:
    // conditionId, question, slug, outcomes, clobTokenIds, negRisk,
    // orderPriceMinTickSize, orderMinSize, endDate, active, closed)
    pub async fn markets(&self, query: &MarketQuery) -> Result<Vec<GammaMarket>> {
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(l) = query.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some(o) = query.offset {
            q.push(("offset", o.to_string()));
        }
        if let Some(c) = query.closed {
            q.push(("closed", c.to_string()));
        }
        if let Some(s) = &query.slug {
            q.push(("slug", s.clone()));
        }
        for id in &query.condition_ids {
            q.push(("condition_ids", id.clone()));
        }
        for id in &query.clob_token_ids {
            q.push(("clob_token_ids", id.clone()));
        }
        list(self.svc.get("/markets", &q).await?, "markets")?
            .iter()
            .map(GammaMarket::from_json)
            .collect()
    }

    /// One market by condition id (`0x` + 64 hex), CLOB token id (digits)
    /// or slug.
    pub async fn market(&self, key: &str) -> Result<GammaMarket> {
        let key = key.trim();
        let mut query = MarketQuery::default();
        if key.starts_with("0x") && key.len() == 66 {
            query.condition_ids.push(key.to_string());
        } else if !key.is_empty() && key.chars().all(|c| c.is_ascii_digit()) {
            query.clob_token_ids.push(key.to_string());
        } else if !key.is_empty() {
            query.slug = Some(key.to_string());
        } else {
            return Err(PolymarketError::invalid("market", "must not be empty"));
        }
        self.markets(&query)
            .await?
            .into_iter()
            .find(|m| {
                m.condition_id.eq_ignore_ascii_case(key)
                    || m.slug == key
                    || m.clob_token_ids.iter().any(|t| t == key)
            })
            .ok_or_else(|| PolymarketError::NotFound(format!("Gamma has no market `{key}`")))
    }

    /// Up to `total` events, fetched `page` at a time with `offset` paging
    /// until Gamma returns a short page.
    // Doc: https://docs.polymarket.com/developers/gamma-markets-api/get-events (limit, offset)
    pub async fn events_paged(
        &self,
        closed: Option<bool>,
        total: u32,
        page: u32,
    ) -> Result<Vec<GammaEvent>> {
        let page = page.max(1);
        let mut all = Vec::new();
        while (all.len() as u32) < total {
            let want = page.min(total - all.len() as u32);
            let got = self.events(None, want, all.len() as u32, closed).await?;
            let short = (got.len() as u32) < want;
            all.extend(got);
            if short {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /events` (optionally one slug) from `offset`, each with its markets.
    // Doc: https://docs.polymarket.com/developers/gamma-markets-api/get-events
    pub async fn events(
        &self,
        slug: Option<&str>,
        limit: u32,
        offset: u32,
        closed: Option<bool>,
    ) -> Result<Vec<GammaEvent>> {
        let mut q: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        if offset > 0 {
            q.push(("offset", offset.to_string()));
        }
        if let Some(s) = slug {
            q.push(("slug", s.to_string()));
        }
        if let Some(c) = closed {
            q.push(("closed", c.to_string()));
        }
        list(self.svc.get("/events", &q).await?, "events")?
            .iter()
            .map(|e| {
                let markets = match e.get("markets") {
                    Some(Value::Array(ms)) => ms
                        .iter()
                        .map(GammaMarket::from_json)
                        .collect::<Result<Vec<_>>>()?,
                    _ => Vec::new(),
                };
                Ok(GammaEvent {
                    id: match e.get("id") {
                        Some(Value::String(x)) => x.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => String::new(),
                    },
                    slug: e.get("slug").and_then(Value::as_str).unwrap_or("").into(),
                    title: e.get("title").and_then(Value::as_str).unwrap_or("").into(),
                    neg_risk: e.get("negRisk").and_then(Value::as_bool).unwrap_or(false),
                    neg_risk_augmented: e.get("negRiskAugmented").and_then(Value::as_bool),
                    end_date: e.get("endDate").and_then(Value::as_str).map(str::to_string),
                    markets,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_json_encoded_lists_and_numbers() {
        let m = GammaMarket::from_json(&json!({
            "id": "12", "conditionId": "0xabc", "question": "Q?", "slug": "q",
            "outcomes": "[\"Yes\", \"No\"]", "clobTokenIds": "[\"111\", \"222\"]",
            "negRisk": true, "orderPriceMinTickSize": 0.001, "orderMinSize": 5,
            "endDate": "2026-01-01T00:00:00Z", "active": true, "closed": false
        }))
        .expect("market");
        assert_eq!(m.clob_token_ids, vec!["111", "222"]);
        assert_eq!(m.token_for("no"), Some("222"));
        assert_eq!(m.tick().expect("tick"), TickSize::T0_001);
        assert!(m.neg_risk);
        assert!(GammaMarket::from_json(&json!({"question": "x"})).is_err());
        assert!(
            GammaMarket::from_json(&json!({"conditionId": "0x1", "outcomes": "nope"})).is_err()
        );
    }
}
