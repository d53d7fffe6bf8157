//! The Data API client (public, no auth): a wallet's positions (with P&L),
//! its activity, a market's top holders, and the trader leaderboard — the
//! inputs of wallet intelligence and copy trading. Numbers arrive as JSON
//! numbers and are read into exact decimals.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::error::{PolymarketError, Result};
use crate::http::{RetryPolicy, Service};

/// The public Data API host.
pub const DEFAULT_DATA_URL: &str = "https://data-api.polymarket.com";

fn dec(v: &Value, k: &str) -> Decimal {
    dec_raw(v, k).normalize()
}

fn dec_raw(v: &Value, k: &str) -> Decimal {
    match v.get(k) {
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .unwrap_or_default(),
        Some(Value::String(s)) => Decimal::from_str(s.trim()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn list(v: Value, what: &str) -> Result<Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(PolymarketError::Upstream(format!(
            "Data API {what} answer is not an array: {}",
            other.to_string().chars().take(120).collect::<String>()
        ))),
    }
}

/// One position of a wallet (`GET /positions`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataPosition {
    /// Proxy wallet.
    pub proxy_wallet: String,
    /// Token id.
    pub asset: String,
    /// Condition id.
    pub condition_id: String,
    /// Shares.
    pub size: Decimal,
    /// Average entry price.
    pub avg_price: Decimal,
    /// Cost of the shares held.
    pub initial_value: Decimal,
    /// Marked value.
    pub current_value: Decimal,
    /// Unrealized P&L in USDC.
    pub cash_pnl: Decimal,
    /// Realized P&L in USDC.
    pub realized_pnl: Decimal,
    /// Current price.
    pub cur_price: Decimal,
    /// Redeemable (market resolved in its favour).
    pub redeemable: bool,
    /// Market title.
    pub title: String,
    /// Market slug.
    pub slug: String,
    /// Outcome name.
    pub outcome: String,
}

/// One activity row (`GET /activity`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataActivity {
    /// Unix seconds.
    pub timestamp: i64,
    /// TRADE, SPLIT, MERGE, REDEEM, REWARD, CONVERSION...
    pub kind: String,
    /// Condition id.
    pub condition_id: String,
    /// Token id.
    pub asset: String,
    /// BUY or SELL (trades).
    pub side: String,
    /// Shares.
    pub size: Decimal,
    /// USDC amount.
    pub usdc_size: Decimal,
    /// Price.
    pub price: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// Market title.
    pub title: String,
    /// Transaction hash.
    pub transaction_hash: String,
}

/// A top holder of one token (`GET /holders`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Holder {
    /// Proxy wallet.
    pub proxy_wallet: String,
    /// Public name or pseudonym.
    pub name: String,
    /// Shares held.
    pub amount: Decimal,
    /// Outcome index (0 = first outcome).
    pub outcome_index: i64,
}

/// The holders of one token.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenHolders {
    /// Token id.
    pub token: String,
    /// Largest first.
    pub holders: Vec<Holder>,
}

/// One leaderboard row (`GET /v1/leaderboard`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeaderboardEntry {
    /// Rank (1 = best).
    pub rank: String,
    /// Proxy wallet.
    pub proxy_wallet: String,
    /// User name.
    pub user_name: String,
    /// Volume in the period, USDC.
    pub vol: Decimal,
    /// P&L in the period, USDC.
    pub pnl: Decimal,
}

/// A Data API client.
#[derive(Debug)]
pub struct DataClient {
    svc: Service,
}

fn check_address(field: &str, address: &str) -> Result<()> {
    let a = address.trim();
    if a.len() == 42 && a.starts_with("0x") && a[2..].chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(PolymarketError::invalid(
            field,
            "must be a wallet address: 0x followed by 40 hex digits",
        ))
    }
}

impl DataClient {
    /// A client for `base` (e.g. [`DEFAULT_DATA_URL`]).
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            svc: Service::new("Data API", base)?,
        })
    }

    /// Replaces the retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.svc.set_policy(policy);
        self
    }

    /// `GET /positions?user=&limit=&sizeThreshold=0`: the wallet's positions.
    // Doc: https://docs.polymarket.com/api-reference/core/get-current-positions-for-a-user
    pub async fn positions(&self, user: &str, limit: u32) -> Result<Vec<DataPosition>> {
        check_address("address", user)?;
        let q = [
            ("user", user.trim().to_string()),
            ("limit", limit.clamp(1, 500).to_string()),
            ("sizeThreshold", "0".to_string()),
        ];
        Ok(list(self.svc.get("/positions", &q).await?, "positions")?
            .iter()
            .map(|p| DataPosition {
                proxy_wallet: text(p, "proxyWallet"),
                asset: text(p, "asset"),
                condition_id: text(p, "conditionId"),
                size: dec(p, "size"),
                avg_price: dec(p, "avgPrice"),
                initial_value: dec(p, "initialValue"),
                current_value: dec(p, "currentValue"),
                cash_pnl: dec(p, "cashPnl"),
                realized_pnl: dec(p, "realizedPnl"),
                cur_price: dec(p, "curPrice"),
                redeemable: p
                    .get("redeemable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                title: text(p, "title"),
                slug: text(p, "slug"),
                outcome: text(p, "outcome"),
            })
            .collect())
    }

    /// `GET /activity?user=&limit=`: the wallet's recent on-chain activity.
    // Doc: https://docs.polymarket.com/api-reference/core/get-user-activity
    pub async fn activity(&self, user: &str, limit: u32) -> Result<Vec<DataActivity>> {
        check_address("address", user)?;
        let q = [
            ("user", user.trim().to_string()),
            ("limit", limit.clamp(1, 500).to_string()),
        ];
        Ok(list(self.svc.get("/activity", &q).await?, "activity")?
            .iter()
            .map(|a| DataActivity {
                timestamp: a.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
                kind: text(a, "type"),
                condition_id: text(a, "conditionId"),
                asset: text(a, "asset"),
                side: text(a, "side"),
                size: dec(a, "size"),
                usdc_size: dec(a, "usdcSize"),
                price: dec(a, "price"),
                outcome: text(a, "outcome"),
                title: text(a, "title"),
                transaction_hash: text(a, "transactionHash"),
            })
            .collect())
    }

    /// `GET /holders?market=&limit=`: a market's top holders per token.
    // Doc: https://docs.polymarket.com/api-reference/core/get-top-holders-for-markets
    pub async fn holders(&self, condition_id: &str, limit: u32) -> Result<Vec<TokenHolders>> {
        let q = [
            ("market", condition_id.trim().to_string()),
            ("limit", limit.clamp(1, 20).to_string()),
        ];
        Ok(list(self.svc.get("/holders", &q).await?, "holders")?
            .iter()
            .map(|t| TokenHolders {
                token: text(t, "token"),
                holders: t
                    .get("holders")
                    .and_then(Value::as_array)
                    .map(|hs| {
                        hs.iter()
                            .map(|h| Holder {
                                proxy_wallet: text(h, "proxyWallet"),
                                name: Some(text(h, "name"))
                                    .filter(|n| !n.is_empty())
                                    .unwrap_or_else(|| text(h, "pseudonym")),
                                amount: dec(h, "amount"),
                                outcome_index: h
                                    .get("outcomeIndex")
                                    .and_then(Value::as_i64)
                                    .unwrap_or(0),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// `GET /v1/leaderboard?timePeriod=&orderBy=&limit=&category=OVERALL`.
    // Doc: https://docs.polymarket.com/api-reference/core/get-trader-leaderboard-rankings
    pub async fn leaderboard(
        &self,
        time_period: &str,
        order_by: &str,
        limit: u32,
    ) -> Result<Vec<LeaderboardEntry>> {
        let tp = time_period.trim().to_ascii_uppercase();
        if !["DAY", "WEEK", "MONTH", "ALL"].contains(&tp.as_str()) {
            return Err(PolymarketError::invalid(
                "time_period",
                "must be DAY, WEEK, MONTH or ALL",
            ));
        }
        let ob = order_by.trim().to_ascii_uppercase();
        if !["PNL", "VOL"].contains(&ob.as_str()) {
            return Err(PolymarketError::invalid("order_by", "must be PNL or VOL"));
        }
        let q = [
            ("category", "OVERALL".to_string()),
            ("timePeriod", tp),
            ("orderBy", ob),
            ("limit", limit.clamp(1, 50).to_string()),
        ];
        Ok(
            list(self.svc.get("/v1/leaderboard", &q).await?, "leaderboard")?
                .iter()
                .map(|e| LeaderboardEntry {
                    rank: text(e, "rank"),
                    proxy_wallet: text(e, "proxyWallet"),
                    user_name: text(e, "userName"),
                    vol: dec(e, "vol"),
                    pnl: dec(e, "pnl"),
                })
                .collect(),
        )
    }
}
