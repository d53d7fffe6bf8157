//! Questrade REST API v1 client: the OAuth refresh-token flow (the refresh
//! token is single-use and rotates; each new one is written to
//! `broker_oauth_tokens` before the access token is used, on PostgreSQL
//! under a row lock other processes wait on), accounts, balances, positions, orders,
//! executions, symbol search, Level 1 quotes, candles, order placement and
//! cancel. Auth is `Authorization: Bearer <access_token>` against the
//! `api_server` the token answer names; a 401 or an expired token triggers
//! one refresh and one retry.
//!
//! Streaming (<https://www.questrade.com/api/documentation/streaming>, as
//! verified): `GET v1/markets/quotes?ids=..&stream=true&mode=WebSocket`
//! (L1 quotes) or `GET v1/notifications?mode=WebSocket` (order
//! notifications) answers `{"streamPort": N}`; a WebSocket to the
//! `api_server` host on that port gets the access token as its first
//! message (no `Bearer`), answers `{"success": true}`, then pushes
//! `{"quotes": [..]}` in the REST quote shape, or `{"orders": [..],
//! "executions": [..], "accountNumber": ..}` in the REST order and
//! execution shapes. An open socket does not extend the session: while a
//! stream is open, `GET v1/time` goes out every `keepalive` (10 minutes by
//! default), and every reconnect asks for a fresh port with a valid
//! (refreshed) token.
//!
//! Docs: <https://www.questrade.com/api/documentation/getting-started>,
//! <https://www.questrade.com/api/documentation/authorization>.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use nt_mcp_core::Store;
use nt_mcp_core::bundle::{BundleSettings, VenueMode};
use nt_mcp_core::store::Backend;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::Mutex;

use crate::broker::{Broker, EventStream, Granularity, OrderUpdate};
use crate::compliance::CheckResult;
use crate::config::period_setting;
use crate::dates::{format_iso_ms, parse_iso_ms};
use crate::error::{BrokersError, Result};
use crate::http::{HttpPolicy, Resilient};
use crate::types::{
    Account, Balance, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position,
    Quote, Side, TimeInForce,
};

const VENUE: &str = "questrade";
/// Refresh this long before the access token expires.
const EXPIRY_MARGIN_MS: i64 = 60_000;

/// Questrade connection settings.
#[derive(Debug, Clone)]
pub struct QuestradeConfig {
    /// OAuth server (`https://login.questrade.com`, or
    /// `https://practicelogin.questrade.com` for a practice account).
    pub login_url: String,
    /// Replaces the `api_server` the token answer names (proxies, tests).
    pub api_url: Option<String>,
    /// The refresh token from the API Centre; used only when none is
    /// stored yet (or the stored one was refused).
    pub refresh_token: String,
    /// Account number; the primary account when `None`.
    pub account_id: Option<String>,
    /// Whether this is a practice (paper) account.
    pub practice: bool,
    /// HTTP limits.
    pub policy: HttpPolicy,
    /// How often an open stream sends a REST request (`GET v1/time`) to
    /// keep the session alive: an open socket does not extend it, and the
    /// socket drops when the session expires (30 minutes without a
    /// request). `None` turns the keep-alive off.
    pub keepalive: Option<Duration>,
}

/// The default stream keep-alive: a REST request every ten minutes, well
/// inside Questrade's 30-minute session.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
struct Session {
    access_token: String,
    api_server: String,
    expires_ms: i64,
}

/// The Questrade client: a cheap handle on [`QuestradeCore`], shared with
/// the streams it opens (they refresh tokens and ask for stream ports on
/// every reconnect).
#[derive(Clone)]
pub struct QuestradeClient(Arc<QuestradeCore>);

impl std::ops::Deref for QuestradeClient {
    type Target = QuestradeCore;
    fn deref(&self) -> &QuestradeCore {
        &self.0
    }
}

impl std::fmt::Debug for QuestradeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl QuestradeClient {
    /// A client for `cfg`; call [`Broker::attach_store`] before use.
    pub fn new(cfg: QuestradeConfig) -> Result<Self> {
        QuestradeCore::new(cfg).map(|c| Self(Arc::new(c)))
    }

    /// Built from `QUESTRADE_REFRESH_TOKEN` (and optionally
    /// `QUESTRADE_PRACTICE=true`, `QUESTRADE_ACCOUNT_ID`,
    /// `QUESTRADE_LOGIN_URL`, `QUESTRADE_API_URL`,
    /// `QUESTRADE_KEEPALIVE_SECS`, or the manifest's `questrade_practice` /
    /// `questrade_account_id` / `questrade_login_url` / `questrade_api_url`
    /// / `questrade_keepalive_secs`); `None` when the token is not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        Ok(QuestradeCore::from_settings(settings)?.map(|c| Self(Arc::new(c))))
    }
}

/// The state and REST calls behind a [`QuestradeClient`].
pub struct QuestradeCore {
    cfg: QuestradeConfig,
    http: Resilient,
    store: OnceLock<Store>,
    session: Mutex<Option<Session>>,
    account: Mutex<Option<String>>,
    /// Symbol -> (symbolId, currency).
    symbols: Mutex<HashMap<String, (i64, String)>>,
}

impl std::fmt::Debug for QuestradeCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No tokens in debug output.
        f.debug_struct("QuestradeClient")
            .field("login_url", &self.cfg.login_url)
            .field("practice", &self.cfg.practice)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn od(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    text.parse()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

fn d(v: &Value, field: &str) -> Result<Decimal> {
    od(v).ok_or_else(|| {
        BrokersError::upstream(
            VENUE,
            None,
            format!("field {field} is missing or not a number"),
        )
    })
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn iso(v: &Value) -> i64 {
    v.as_str().and_then(parse_iso_ms).unwrap_or(0)
}

fn currency_of(symbol: &str) -> String {
    crate::types::Instrument::paper(symbol).currency
}

/// The venue's own message from an error answer (`{"code": 1017, "message": "..."}`).
fn venue_message(status: u16, body: &[u8]) -> BrokersError {
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

/// How long a refused refresh waits for another process's rotation to
/// appear in a shared SQLite file before the refusal stands.
const ROTATION_WAIT: Duration = Duration::from_secs(2);

/// The `broker_oauth_tokens` row of Questrade.
struct StoredToken {
    refresh: String,
    access: Option<String>,
    server: Option<String>,
    expires_ms: i64,
}

async fn read_token<'e, E>(exec: E, lock: &str) -> Result<Option<StoredToken>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT refresh_token, access_token, api_server, expires_ms FROM broker_oauth_tokens WHERE venue = $1{lock}"
    ))
    .bind(VENUE)
    .fetch_optional(exec)
    .await?;
    row.map(|row| {
        Ok(StoredToken {
            refresh: row.try_get(0)?,
            access: row.try_get(1)?,
            server: row.try_get(2)?,
            expires_ms: row.try_get(3)?,
        })
    })
    .transpose()
}

async fn write_token<'e, E>(exec: E, t: &StoredToken) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO broker_oauth_tokens (venue, refresh_token, access_token, api_server, expires_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (venue) DO UPDATE SET refresh_token = excluded.refresh_token, \
         access_token = excluded.access_token, api_server = excluded.api_server, expires_ms = excluded.expires_ms, \
         updated_ms = excluded.updated_ms",
    )
    .bind(VENUE)
    .bind(&t.refresh)
    .bind(&t.access)
    .bind(&t.server)
    .bind(t.expires_ms)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

impl QuestradeCore {
    /// A client core for `cfg`.
    pub fn new(cfg: QuestradeConfig) -> Result<Self> {
        if cfg.refresh_token.trim().is_empty() {
            return Err(BrokersError::Config(
                "Questrade refresh token is empty".into(),
            ));
        }
        let http = Resilient::new(VENUE, cfg.policy.clone())?;
        Ok(Self {
            account: Mutex::new(cfg.account_id.clone()),
            cfg,
            http,
            store: OnceLock::new(),
            session: Mutex::new(None),
            symbols: Mutex::new(HashMap::new()),
        })
    }

    /// Built from `QUESTRADE_REFRESH_TOKEN` (and optionally
    /// `QUESTRADE_PRACTICE=true`, `QUESTRADE_ACCOUNT_ID`,
    /// `QUESTRADE_LOGIN_URL`, `QUESTRADE_API_URL`,
    /// `QUESTRADE_KEEPALIVE_SECS`, or the manifest's `questrade_practice` /
    /// `questrade_account_id` / `questrade_login_url` / `questrade_api_url`
    /// / `questrade_keepalive_secs`); `None` when the token is not set.
    pub fn from_settings(settings: &BundleSettings) -> Result<Option<Self>> {
        let Some(token) = std::env::var("QUESTRADE_REFRESH_TOKEN")
            .ok()
            .filter(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        let practice = settings
            .string("questrade_practice", "QUESTRADE_PRACTICE")
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let login = if practice {
            "https://practicelogin.questrade.com"
        } else {
            "https://login.questrade.com"
        };
        Self::new(QuestradeConfig {
            login_url: settings
                .string("questrade_login_url", "QUESTRADE_LOGIN_URL")
                .unwrap_or_else(|| login.into()),
            api_url: settings.string("questrade_api_url", "QUESTRADE_API_URL"),
            refresh_token: token.trim().to_string(),
            account_id: settings.string("questrade_account_id", "QUESTRADE_ACCOUNT_ID"),
            practice,
            policy: HttpPolicy::default(),
            keepalive: period_setting(
                settings,
                "questrade_keepalive_secs",
                "QUESTRADE_KEEPALIVE_SECS",
                DEFAULT_KEEPALIVE,
                1500,
            )?,
        })
        .map(Some)
    }

    fn store(&self) -> Result<&Store> {
        self.store.get().ok_or_else(|| {
            BrokersError::Config("the Questrade client has no database for its tokens".into())
        })
    }

    /// A usable session: the cached one, the stored one, or a fresh one
    /// from the refresh-token flow. `force` skips cached and stored access
    /// tokens (after a 401).
    async fn session(&self, force: bool) -> Result<Session> {
        let mut guard = self.session.lock().await;
        if !force
            && let Some(sess) = guard.as_ref()
            && sess.expires_ms - EXPIRY_MARGIN_MS > now_ms()
        {
            return Ok(sess.clone());
        }
        let sess = self.refresh(force).await?;
        *guard = Some(sess.clone());
        Ok(sess)
    }

    /// The stored access token as a session when it is still good (and
    /// `force` does not skip it).
    fn usable(&self, row: &StoredToken, force: bool) -> Option<Session> {
        if force || row.expires_ms - EXPIRY_MARGIN_MS <= now_ms() {
            return None;
        }
        let (Some(access), Some(server)) = (&row.access, &row.server) else {
            return None;
        };
        Some(Session {
            access_token: access.clone(),
            api_server: self.cfg.api_url.clone().unwrap_or_else(|| server.clone()),
            expires_ms: row.expires_ms,
        })
    }

    /// The refresh tokens to try: the stored one, then the configured one
    /// (a user who pasted a new token from the API Centre).
    fn candidates(&self, row: Option<&StoredToken>) -> Vec<String> {
        let mut out: Vec<String> = row.map(|r| r.refresh.clone()).into_iter().collect();
        if !out.contains(&self.cfg.refresh_token) {
            out.push(self.cfg.refresh_token.clone());
        }
        out
    }

    /// Reads the stored token row, locking it on PostgreSQL (`FOR UPDATE`
    /// inside the caller's transaction) so other processes wait for the
    /// rotation instead of spending the same single-use token.
    /// On SQLite, where the whole process shares one connection, the
    /// connection is never held across the HTTP exchange: the row is read,
    /// the token exchanged, and the rotated one written straight after, before
    /// the access token is used. Another process sharing the file that
    /// spent the same token first is caught by the refusal: the stored row
    /// is read again for a short while for its rotation.
    // https://www.questrade.com/api/documentation/authorization
    async fn refresh(&self, force: bool) -> Result<Session> {
        let store = self.store()?;
        if store.backend() == Backend::Postgres {
            let mut tx = store.pool().begin().await?;
            let row = read_token(&mut *tx, " FOR UPDATE").await?;
            if let Some(sess) = row.as_ref().and_then(|r| self.usable(r, force)) {
                tx.commit().await?;
                return Ok(sess);
            }
            let fresh = self.exchange(self.candidates(row.as_ref())).await?;
            write_token(&mut *tx, &fresh).await?;
            tx.commit().await?;
            return Ok(self.stored(fresh));
        }
        let row = read_token(store.pool(), "").await?;
        if let Some(sess) = row.as_ref().and_then(|r| self.usable(r, force)) {
            return Ok(sess);
        }
        match self.exchange(self.candidates(row.as_ref())).await {
            Ok(fresh) => {
                write_token(store.pool(), &fresh).await?;
                Ok(self.stored(fresh))
            }
            Err(
                refused @ BrokersError::Upstream {
                    status: Some(400..=499),
                    ..
                },
            ) => {
                let seen = row.map(|r| r.refresh);
                let until = tokio::time::Instant::now() + ROTATION_WAIT;
                loop {
                    if let Some(r) = read_token(store.pool(), "").await?
                        && Some(&r.refresh) != seen.as_ref()
                        && let Some(sess) = self.usable(&r, false)
                    {
                        tracing::info!(
                            venue = VENUE,
                            "another process rotated the refresh token; using its access token"
                        );
                        return Ok(sess);
                    }
                    if tokio::time::Instant::now() >= until {
                        return Err(refused);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Logs the rotation and turns a fresh token answer into a session.
    fn stored(&self, fresh: StoredToken) -> Session {
        tracing::info!(
            venue = VENUE,
            "refreshed the access token; rotated refresh token stored"
        );
        Session {
            access_token: fresh.access.unwrap_or_default(),
            api_server: self
                .cfg
                .api_url
                .clone()
                .unwrap_or_else(|| fresh.server.unwrap_or_default()),
            expires_ms: fresh.expires_ms,
        }
    }

    // GET {login}/oauth2/token?grant_type=refresh_token&refresh_token=...
    // answers access_token, token_type, expires_in (s), refresh_token, api_server.
    /// Trades the first accepted refresh token of `candidates` for a new
    /// pair; nothing is stored here.
    async fn exchange(&self, candidates: Vec<String>) -> Result<StoredToken> {
        let url = format!("{}/oauth2/token", self.cfg.login_url.trim_end_matches('/'));
        let mut last = None;
        for token in candidates {
            let answer = self
                .http
                .send(|c| {
                    c.get(&url).query(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                    ])
                })
                .await?;
            if !(200..300).contains(&answer.status) {
                last = Some(BrokersError::upstream(
                    VENUE,
                    Some(answer.status),
                    "the refresh token was refused; generate a new one in the Questrade API Centre and set QUESTRADE_REFRESH_TOKEN",
                ));
                continue;
            }
            let v: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let (Some(access), Some(server), Some(refresh)) = (
                v["access_token"].as_str(),
                v["api_server"].as_str(),
                v["refresh_token"].as_str(),
            ) else {
                return Err(BrokersError::upstream(
                    VENUE,
                    Some(answer.status),
                    "token answer lacks access_token, api_server or refresh_token",
                ));
            };
            return Ok(StoredToken {
                refresh: refresh.to_string(),
                access: Some(access.to_string()),
                server: Some(server.to_string()),
                expires_ms: now_ms() + v["expires_in"].as_i64().unwrap_or(1800) * 1000,
            });
        }
        Err(last.unwrap_or_else(|| BrokersError::Config("no Questrade refresh token".into())))
    }

    /// One API call under `v1/`; refreshes once on 401.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        for attempt in 0..2 {
            let sess = self.session(attempt > 0).await?;
            let url = format!("{}/v1/{path}", sess.api_server.trim_end_matches('/'));
            let answer = self
                .http
                .send(|c| {
                    let mut rb = c
                        .request(method.clone(), &url)
                        .query(query)
                        .bearer_auth(&sess.access_token);
                    if let Some(b) = body {
                        rb = rb
                            .header("Content-Type", "application/json")
                            .body(b.to_string());
                    }
                    rb
                })
                .await?;
            if answer.status == 401 && attempt == 0 {
                continue;
            }
            if (200..300).contains(&answer.status) {
                return Ok(serde_json::from_slice(&answer.body).unwrap_or(Value::Null));
            }
            return Err(venue_message(answer.status, &answer.body));
        }
        Err(BrokersError::upstream(
            VENUE,
            Some(401),
            "access token refused after a refresh",
        ))
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts
    /// The account number: configured, else the primary account.
    async fn account_id(&self) -> Result<String> {
        if let Some(id) = self.account.lock().await.clone() {
            return Ok(id);
        }
        let v = self
            .call(reqwest::Method::GET, "accounts", &[], None)
            .await?;
        let accounts = v["accounts"].as_array().cloned().unwrap_or_default();
        let chosen = accounts
            .iter()
            .find(|a| a["isPrimary"].as_bool() == Some(true))
            .or_else(|| accounts.first())
            .map(|a| s(&a["number"]))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| BrokersError::NotFound("Questrade lists no accounts".into()))?;
        *self.account.lock().await = Some(chosen.clone());
        Ok(chosen)
    }

    // https://www.questrade.com/api/documentation/rest-operations/market-calls/symbols-search
    /// The symbolId and currency of `symbol` (exact match from symbol search).
    pub async fn symbol_id(&self, symbol: &str) -> Result<(i64, String)> {
        let key = symbol.trim().to_ascii_uppercase();
        if key.is_empty() {
            return Err(BrokersError::invalid("symbol", "must not be empty"));
        }
        if let Some(hit) = self.symbols.lock().await.get(&key) {
            return Ok(hit.clone());
        }
        let v = self
            .call(
                reqwest::Method::GET,
                "symbols/search",
                &[("prefix", key.clone())],
                None,
            )
            .await?;
        let hit = v["symbols"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| s(&x["symbol"]).eq_ignore_ascii_case(&key))
            .and_then(|x| Some((x["symbolId"].as_i64()?, s(&x["currency"]))))
            .ok_or_else(|| BrokersError::NotFound(format!("Questrade knows no symbol {key}")))?;
        self.symbols.lock().await.insert(key, hit.clone());
        Ok(hit)
    }

    fn order_from(&self, account: &str, o: &Value) -> Order {
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

/// What a Questrade stream carries.
enum Feed {
    /// L1 quotes: symbolId -> (symbol, currency), and the last full quote
    /// of each id (updates may carry only the fields that changed).
    Quotes {
        ids: Vec<(i64, String, String)>,
        last: HashMap<i64, Value>,
    },
    /// Order notifications for one account.
    Orders { account: String },
}

struct QuestradeStream {
    core: Arc<QuestradeCore>,
    feed: Feed,
    token: String,
    logged_in: bool,
    force_refresh: bool,
}

#[async_trait]
impl crate::ws::WsProtocol for QuestradeStream {
    type Item = StreamItem;

    fn venue(&self) -> &'static str {
        VENUE
    }

    fn name(&self) -> &'static str {
        match self.feed {
            Feed::Quotes { .. } => "L1 quote stream",
            Feed::Orders { .. } => "order notification stream",
        }
    }

    async fn target(&mut self) -> std::result::Result<crate::ws::Target, crate::ws::WsFail> {
        use crate::ws::WsFail;
        self.logged_in = false;
        if std::mem::take(&mut self.force_refresh) {
            self.core
                .session(true)
                .await
                .map_err(|e| WsFail::Retry(e.to_string()))?;
        }
        let (path, query): (&str, Vec<(&str, String)>) = match &self.feed {
            Feed::Quotes { ids, .. } => (
                "markets/quotes",
                vec![
                    (
                        "ids",
                        ids.iter()
                            .map(|(id, _, _)| id.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    ("stream", "true".into()),
                    ("mode", "WebSocket".into()),
                ],
            ),
            Feed::Orders { .. } => ("notifications", vec![("mode", "WebSocket".into())]),
        };
        let answer = match self
            .core
            .call(reqwest::Method::GET, path, &query, None)
            .await
        {
            Ok(v) => v,
            Err(
                e @ BrokersError::Upstream {
                    status: Some(401 | 403),
                    ..
                },
            ) => {
                return Err(WsFail::Fatal(e));
            }
            Err(e @ BrokersError::Config(_)) => return Err(WsFail::Fatal(e)),
            Err(e) => return Err(WsFail::Retry(e.to_string())),
        };
        let port = answer["streamPort"]
            .as_u64()
            .filter(|p| (1..=65535).contains(p))
            .ok_or_else(|| WsFail::Retry(format!("no streamPort in the answer: {answer}")))?;
        // The session `call` just used (or refreshed): its token logs in.
        let sess = self
            .core
            .session(false)
            .await
            .map_err(|e| WsFail::Retry(e.to_string()))?;
        self.token = sess.access_token.clone();
        let (scheme, host) =
            crate::urls::ws_scheme_and_host(&sess.api_server).ok_or_else(|| {
                WsFail::Retry(format!("api_server `{}` has no host", sess.api_server))
            })?;
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        Ok(crate::ws::Target {
            url: format!("{scheme}://{host}:{port}/v1/{path}?{query}"),
            ..Default::default()
        })
    }

    fn opening(&mut self) -> Vec<String> {
        // The access token alone, no `Bearer`, as the first message.
        vec![self.token.clone()]
    }

    fn tick(&self) -> Option<Duration> {
        self.core.cfg.keepalive
    }

    /// "Keeping a socket open does not extend your session. You need to
    /// send requests at least every 30 minutes" (the streaming page): a
    /// cheap authenticated request, refreshing the token when it is due.
    async fn on_tick(&mut self) -> Vec<String> {
        if let Err(e) = self
            .core
            .call(reqwest::Method::GET, "time", &[], None)
            .await
        {
            tracing::warn!(venue = VENUE, error = %e, "Questrade stream keep-alive request failed");
        }
        Vec::new()
    }

    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<crate::ws::WsStep<StreamItem>>,
    ) -> std::result::Result<(), crate::ws::WsFail> {
        use crate::ws::{WsFail, WsStep};
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Ok(());
        };
        if !self.logged_in {
            if v["success"].as_bool() == Some(true) {
                self.logged_in = true;
                return Ok(());
            }
            // Refused token ({"code": 1017, "message": ..}): refresh, then retry.
            self.force_refresh = true;
            return Err(WsFail::Retry(format!(
                "login refused: {}",
                v["message"].as_str().unwrap_or(text)
            )));
        }
        if let Some(msg) = v["message"].as_str().filter(|_| v.get("code").is_some()) {
            self.force_refresh = true;
            return Err(WsFail::Retry(format!("stream error {}: {msg}", v["code"])));
        }
        match &mut self.feed {
            Feed::Quotes { ids, last } => {
                for q in v["quotes"].as_array().into_iter().flatten() {
                    let Some(id) = q["symbolId"].as_i64() else {
                        continue;
                    };
                    let Some((_, symbol, currency)) = ids.iter().find(|(i, _, _)| *i == id) else {
                        continue;
                    };
                    let merged = last.entry(id).or_insert_with(|| json!({}));
                    if let (Some(m), Some(new)) = (merged.as_object_mut(), q.as_object()) {
                        for (k, val) in new {
                            if !val.is_null() {
                                m.insert(k.clone(), val.clone());
                            }
                        }
                    }
                    let (Some(bid), Some(ask)) = (od(&merged["bidPrice"]), od(&merged["askPrice"]))
                    else {
                        continue;
                    };
                    out.push(WsStep::Emit(StreamItem::Quote(Quote {
                        symbol: symbol.clone(),
                        currency: currency.clone(),
                        bid,
                        ask,
                        last: od(&merged["lastTradePrice"])
                            .unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
                        at_ms: iso(&merged["lastTradeTime"]),
                    })));
                }
            }
            Feed::Orders { account } => {
                let acct = s(&v["accountNumber"]);
                if !acct.is_empty() && &acct != account {
                    return Ok(());
                }
                let executions: Vec<&Value> =
                    v["executions"].as_array().into_iter().flatten().collect();
                for o in v["orders"].as_array().into_iter().flatten() {
                    let order = self.core.order_from(account, o);
                    let fills: Vec<&&Value> = executions
                        .iter()
                        .filter(|e| s(&e["orderId"]) == order.id)
                        .collect();
                    let fill_qty: Decimal = fills.iter().filter_map(|e| od(&e["quantity"])).sum();
                    let fill_price = fills.last().and_then(|e| od(&e["price"]));
                    out.push(WsStep::Emit(StreamItem::Order(Box::new(OrderUpdate {
                        event: s(&o["state"]),
                        fill_price,
                        fill_qty: (!fills.is_empty()).then_some(fill_qty),
                        at_ms: order.updated_ms,
                        order,
                    }))));
                }
            }
        }
        Ok(())
    }
}

/// One item of a Questrade stream.
enum StreamItem {
    Quote(Quote),
    Order(Box<OrderUpdate>),
}

impl QuestradeClient {
    /// Live L1 quotes for `symbols` (resolved to symbolIds first) from
    /// the quote stream, within `limits`.
    pub async fn quote_stream_with(
        &self,
        symbols: &[String],
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<Quote>> {
        let mut ids: Vec<(i64, String, String)> = Vec::new();
        for sym in symbols {
            let key = sym.trim().to_ascii_uppercase();
            let (id, currency) = self.symbol_id(&key).await?;
            if !ids.iter().any(|(i, _, _)| *i == id) {
                let currency = if currency.is_empty() {
                    currency_of(&key)
                } else {
                    currency
                };
                ids.push((id, key, currency));
            }
        }
        if ids.is_empty() {
            return Err(BrokersError::invalid("symbols", "give at least one symbol"));
        }
        let proto = QuestradeStream {
            core: self.0.clone(),
            feed: Feed::Quotes {
                ids,
                last: HashMap::new(),
            },
            token: String::new(),
            logged_in: false,
            force_refresh: false,
        };
        let stream = crate::ws::open(proto, limits).await?;
        Ok(Box::pin(stream.filter_map(|item| async move {
            match item {
                Ok(StreamItem::Quote(q)) => Some(Ok(q)),
                Ok(StreamItem::Order(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }

    /// Live order notifications of the account, within `limits`; the
    /// event name is Questrade's order state (`Accepted`, `Partial`,
    /// `Executed`, `Canceled`, ...).
    pub async fn order_stream_with(
        &self,
        limits: crate::ws::WsLimits,
    ) -> Result<EventStream<OrderUpdate>> {
        let account = self.account_id().await?;
        let proto = QuestradeStream {
            core: self.0.clone(),
            feed: Feed::Orders { account },
            token: String::new(),
            logged_in: false,
            force_refresh: false,
        };
        let stream = crate::ws::open(proto, limits).await?;
        Ok(Box::pin(stream.filter_map(|item| async move {
            match item {
                Ok(StreamItem::Order(u)) => Some(Ok(*u)),
                Ok(StreamItem::Quote(_)) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }
}

#[async_trait]
impl Broker for QuestradeClient {
    fn venue(&self) -> &str {
        VENUE
    }

    fn mode(&self) -> VenueMode {
        if self.cfg.practice {
            VenueMode::Paper
        } else {
            VenueMode::Live
        }
    }

    fn attach_store(&self, store: &Store) {
        let _ = self.store.set(store.clone());
    }

    /// Order notifications from the notification stream
    /// (<https://www.questrade.com/api/documentation/streaming>).
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        self.order_stream_with(crate::ws::WsLimits::default()).await
    }

    /// L1 quotes from the quote stream
    /// (<https://www.questrade.com/api/documentation/streaming>).
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        self.quote_stream_with(symbols, crate::ws::WsLimits::default())
            .await
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-balances
    async fn account(&self) -> Result<Account> {
        let id = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/balances"),
                &[],
                None,
            )
            .await?;
        let mut balances = Vec::new();
        for b in v["perCurrencyBalances"].as_array().into_iter().flatten() {
            balances.push(Balance {
                currency: s(&b["currency"]),
                cash: d(&b["cash"], "perCurrencyBalances.cash")?,
                equity: od(&b["totalEquity"]),
                buying_power: od(&b["buyingPower"]),
            });
        }
        Ok(Account {
            id,
            venue: VENUE.into(),
            currency: "CAD".into(),
            balances,
        })
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-positions
    async fn positions(&self) -> Result<Vec<Position>> {
        let id = self.account_id().await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/positions"),
                &[],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for p in v["positions"].as_array().into_iter().flatten() {
            let qty = od(&p["openQuantity"]).unwrap_or(Decimal::ZERO);
            if qty.is_zero() {
                continue;
            }
            let symbol = s(&p["symbol"]);
            out.push(Position {
                currency: currency_of(&symbol),
                symbol,
                qty,
                avg_price: od(&p["averageEntryPrice"]).unwrap_or(Decimal::ZERO),
                market_price: od(&p["currentPrice"]),
                unrealized_pnl: od(&p["openPnl"]).or_else(|| od(&p["openPnL"])),
            });
        }
        Ok(out)
    }

    // https://www.questrade.com/api/documentation/rest-operations/market-calls/markets-quotes-id
    async fn quote(&self, symbol: &str) -> Result<Quote> {
        let (sid, currency) = self.symbol_id(symbol).await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("markets/quotes/{sid}"),
                &[],
                None,
            )
            .await?;
        let q = &v["quotes"][0];
        let bid = d(&q["bidPrice"], "quotes[0].bidPrice")?;
        let ask = d(&q["askPrice"], "quotes[0].askPrice")?;
        Ok(Quote {
            symbol: s(&q["symbol"]),
            currency: if currency.is_empty() {
                currency_of(symbol)
            } else {
                currency
            },
            bid,
            ask,
            last: od(&q["lastTradePrice"]).unwrap_or(((bid + ask) / Decimal::TWO).round_dp(6)),
            at_ms: iso(&q["lastTradeTime"]),
        })
    }

    // https://www.questrade.com/api/documentation/rest-operations/market-calls/markets-candles-id
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>> {
        let (sid, _) = self.symbol_id(symbol).await?;
        let interval = match granularity {
            Granularity::M1 => "OneMinute",
            Granularity::M5 => "FiveMinutes",
            Granularity::M15 => "FifteenMinutes",
            Granularity::H1 => "OneHour",
            Granularity::D1 => "OneDay",
        };
        let end = now_ms();
        // Room for closed-market gaps: three times the span asked for.
        let start = end - granularity.millis() * i64::from(count.clamp(1, 2000)) * 3;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("markets/candles/{sid}"),
                &[
                    ("startTime", format_iso_ms(start)),
                    ("endTime", format_iso_ms(end)),
                    ("interval", interval.to_string()),
                ],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for c in v["candles"].as_array().into_iter().flatten() {
            out.push(Candle {
                start_ms: iso(&c["start"]),
                open: d(&c["open"], "candles.open")?,
                high: d(&c["high"], "candles.high")?,
                low: d(&c["low"], "candles.low")?,
                close: d(&c["close"], "candles.close")?,
                volume: od(&c["volume"]),
            });
        }
        let skip = out.len().saturating_sub(count as usize);
        Ok(out.split_off(skip))
    }

    // https://www.questrade.com/api/documentation/rest-operations/order-calls/accounts-id-orders
    async fn place_order(&self, req: &OrderRequest, _checks: &[CheckResult]) -> Result<Order> {
        req.validate()?;
        if !req.qty.fract().is_zero() {
            return Err(BrokersError::invalid(
                "qty",
                "Questrade takes whole share quantities",
            ));
        }
        let order_type = match req.order_type {
            OrderType::Market => "Market",
            OrderType::Limit => "Limit",
            OrderType::Stop => "Stop",
            OrderType::StopLimit => "StopLimit",
            OrderType::TrailingStop => {
                return Err(BrokersError::invalid(
                    "order_type",
                    "trailing stops are not offered for Questrade here; use stop or stop_limit",
                ));
            }
        };
        let tif = match req.time_in_force {
            TimeInForce::Day => "Day",
            TimeInForce::Gtc => "GoodTillCanceled",
            TimeInForce::Ioc => "ImmediateOrCancel",
            TimeInForce::Fok => "FillOrKill",
        };
        // Questrade's order actions are Buy and Sell; a sell without a long
        // position is a short sale, a buy against a short covers it.
        let action = if req.side.is_buy() { "Buy" } else { "Sell" };
        let id = self.account_id().await?;
        let (sid, _) = self.symbol_id(&req.symbol).await?;
        let qty: i64 = req
            .qty
            .trunc()
            .to_string()
            .parse()
            .map_err(|_| BrokersError::invalid("qty", "too large"))?;
        let mut body = json!({
            "accountNumber": id,
            "symbolId": sid,
            "quantity": qty,
            "isAllOrNone": false,
            "isAnonymous": false,
            "orderType": order_type,
            "timeInForce": tif,
            "action": action,
            "primaryRoute": "AUTO",
            "secondaryRoute": "AUTO",
        });
        // Prices travel as JSON numbers, as the API documents them.
        if let Some(p) = req.limit_price {
            body["limitPrice"] = serde_json::from_str(&p.normalize().to_string())
                .map_err(|_| BrokersError::invalid("limit_price", "not a number"))?;
        }
        if let Some(p) = req.stop_price {
            body["stopPrice"] = serde_json::from_str(&p.normalize().to_string())
                .map_err(|_| BrokersError::invalid("stop_price", "not a number"))?;
        }
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("accounts/{id}/orders"),
                &[],
                Some(&body),
            )
            .await?;
        let order_id = s(&v["orderId"]);
        let found = v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| s(&o["id"]) == order_id)
            .or_else(|| v["orders"].get(0))
            .ok_or_else(|| BrokersError::upstream(VENUE, None, "order answer lists no order"))?;
        let mut order = self.order_from(&id, found);
        order.client_order_id = req.client_order_id.trim().to_string();
        order.side = req.side;
        Ok(order)
    }

    // https://www.questrade.com/api/documentation/rest-operations/order-calls/accounts-id-orders-orderid
    async fn cancel_order(&self, order_id: &str) -> Result<Order> {
        if order_id.is_empty() || !order_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(BrokersError::invalid(
                "order_id",
                "Questrade order ids are numbers",
            ));
        }
        let id = self.account_id().await?;
        self.call(
            reqwest::Method::DELETE,
            &format!("accounts/{id}/orders/{order_id}"),
            &[],
            None,
        )
        .await?;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/orders/{order_id}"),
                &[],
                None,
            )
            .await?;
        let o = v["orders"]
            .get(0)
            .ok_or_else(|| BrokersError::NotFound(format!("Questrade has no order {order_id}")))?;
        Ok(self.order_from(&id, o))
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-orders
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>> {
        let id = self.account_id().await?;
        let now = now_ms();
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/orders"),
                &[
                    (
                        "stateFilter",
                        if open_only { "Open" } else { "All" }.to_string(),
                    ),
                    ("startTime", format_iso_ms(now - 30 * crate::dates::DAY_MS)),
                    ("endTime", format_iso_ms(now)),
                ],
                None,
            )
            .await?;
        let mut out: Vec<Order> = v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| self.order_from(&id, o))
            .collect();
        out.sort_by_key(|o| std::cmp::Reverse(o.created_ms));
        Ok(out)
    }

    // https://www.questrade.com/api/documentation/rest-operations/account-calls/accounts-id-executions
    async fn executions(&self) -> Result<Vec<Execution>> {
        let id = self.account_id().await?;
        let now = now_ms();
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("accounts/{id}/executions"),
                &[
                    ("startTime", format_iso_ms(now - 30 * crate::dates::DAY_MS)),
                    ("endTime", format_iso_ms(now)),
                ],
                None,
            )
            .await?;
        let mut out = Vec::new();
        for e in v["executions"].as_array().into_iter().flatten() {
            let symbol = s(&e["symbol"]);
            let fees = [
                "commission",
                "executionFee",
                "secFee",
                "canadianExecutionFee",
            ]
            .iter()
            .filter_map(|f| od(&e[*f]))
            .sum::<Decimal>();
            out.push(Execution {
                id: s(&e["id"]),
                order_id: s(&e["orderId"]),
                account_id: id.clone(),
                currency: currency_of(&symbol),
                symbol,
                side: match e["side"].as_str().unwrap_or("") {
                    "Sell" | "STC" => Side::Sell,
                    "Short" | "STO" => Side::SellShort,
                    "Cov" | "BTC" => Side::BuyToCover,
                    _ => Side::Buy,
                },
                qty: d(&e["quantity"], "executions.quantity")?,
                price: d(&e["price"], "executions.price")?,
                commission: fees,
                at_ms: iso(&e["timestamp"]),
            });
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
        Ok(out)
    }
}
