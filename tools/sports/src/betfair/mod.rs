//! Betfair Exchange client, **API-NG Betting API v1.0** over JSON REST
//! (`POST {api}/exchange/betting/rest/v1.0/<operation>/`), with the
//! interactive identity SSO login (`POST {sso}/api/login`, form
//! `username`/`password`) and `POST {sso}/api/keepAlive`. Every call sends
//! the `X-Application` (application key) header and, after login,
//! `X-Authentication` (session token). Operations: listEventTypes,
//! listMarketCatalogue, listMarketBook, placeOrders, cancelOrders,
//! listCurrentOrders. A call refused with `INVALID_SESSION_INFORMATION` or
//! `NO_SESSION` logs in again once and is retried. Used when
//! `BETFAIR_APP_KEY`, `BETFAIR_USERNAME` and `BETFAIR_PASSWORD` are set.

pub mod types;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nt_mcp_core::dates::parse_iso_ms;
use nt_venue_http::{Answer, Policy, VenueClient};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{Result, SportsError};
use crate::feed::{BookOdds, Event, EventOdds, Market, OddsFeed, Outcome, Score, Sport};
use types::*;

/// The venue name answers report.
pub const NAME: &str = "betfair";

/// Credentials and endpoints.
#[derive(Clone)]
pub struct BetfairConfig {
    /// Application key (`X-Application`).
    pub app_key: String,
    /// Account username.
    pub username: String,
    /// Account password (never logged).
    pub password: String,
    /// API base (default `https://api.betfair.com`).
    pub api_url: String,
    /// Identity SSO base (default `https://identitysso.betfair.com`).
    pub sso_url: String,
    /// Send keepAlive when the session has been idle this long.
    pub keep_alive_after: Duration,
}

impl std::fmt::Debug for BetfairConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BetfairConfig")
            .field("api_url", &self.api_url)
            .field("sso_url", &self.sso_url)
            .finish_non_exhaustive()
    }
}

impl BetfairConfig {
    /// From the environment (`BETFAIR_APP_KEY`, `BETFAIR_USERNAME`,
    /// `BETFAIR_PASSWORD`, `BETFAIR_API_URL`, `BETFAIR_SSO_URL`); `None`
    /// unless the three credentials are set.
    pub fn resolve(env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        Some(Self {
            app_key: get("BETFAIR_APP_KEY")?,
            username: get("BETFAIR_USERNAME")?,
            password: get("BETFAIR_PASSWORD")?,
            api_url: get("BETFAIR_API_URL")
                .unwrap_or_else(|| "https://api.betfair.com".into())
                .trim_end_matches('/')
                .into(),
            sso_url: get("BETFAIR_SSO_URL")
                .unwrap_or_else(|| "https://identitysso.betfair.com".into())
                .trim_end_matches('/')
                .into(),
            keep_alive_after: Duration::from_secs(15 * 60),
        })
    }
}

/// What the exchange said about a placed order.
#[derive(Debug, Clone, Serialize)]
pub struct Placed {
    /// Bet id.
    pub bet_id: String,
    /// Size matched.
    pub size_matched: Decimal,
    /// Average matched price (zero when nothing matched).
    pub average_price: Decimal,
    /// Order status.
    pub order_status: String,
}

/// The Betfair client.
#[derive(Debug)]
pub struct BetfairClient {
    cfg: BetfairConfig,
    http: VenueClient,
    session: Mutex<Option<(String, Instant)>>,
}

fn is_session_error(a: &Answer) -> bool {
    let t = a.text();
    t.contains("INVALID_SESSION_INFORMATION") || t.contains("NO_SESSION")
}

impl BetfairClient {
    /// A client for `cfg` with `policy`.
    pub fn new(cfg: BetfairConfig, policy: Policy) -> Result<Self> {
        Ok(Self {
            http: VenueClient::new(NAME, policy)?,
            cfg,
            session: Mutex::new(None),
        })
    }

    fn token(&self) -> Option<(String, Instant)> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_token(&self, t: Option<String>) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = t.map(|t| (t, Instant::now()));
    }

    /// Logs in (interactive login) and keeps the session token.
    pub async fn login(&self) -> Result<()> {
        let url = format!("{}/api/login", self.cfg.sso_url);
        let form = [
            ("username", self.cfg.username.clone()),
            ("password", self.cfg.password.clone()),
        ];
        let a = self
            .http
            .send(|c| {
                c.post(&url)
                    .header("X-Application", &self.cfg.app_key)
                    .header("Accept", "application/json")
                    .form(&form)
            })
            .await?;
        let sso: SsoAnswer = a
            .json()
            .map_err(|e| SportsError::Upstream(format!("{NAME}: login answer: {e}")))?;
        if sso.status != "SUCCESS" || sso.token.is_empty() {
            return Err(SportsError::Upstream(format!(
                "{NAME}: login failed: {} {}",
                sso.status, sso.error
            )));
        }
        self.set_token(Some(sso.token));
        Ok(())
    }

    /// Extends the session (`keepAlive`); logs in again when it has expired.
    pub async fn keep_alive(&self) -> Result<()> {
        let Some((token, _)) = self.token() else {
            return self.login().await;
        };
        let url = format!("{}/api/keepAlive", self.cfg.sso_url);
        let a = self
            .http
            .send(|c| {
                c.post(&url)
                    .header("X-Application", &self.cfg.app_key)
                    .header("X-Authentication", &token)
                    .header("Accept", "application/json")
            })
            .await?;
        let sso: SsoAnswer = a
            .json()
            .map_err(|e| SportsError::Upstream(format!("{NAME}: keepAlive answer: {e}")))?;
        if sso.status == "SUCCESS" {
            self.set_token(Some(if sso.token.is_empty() {
                token
            } else {
                sso.token
            }));
            Ok(())
        } else {
            self.set_token(None);
            self.login().await
        }
    }

    async fn session(&self) -> Result<String> {
        match self.token() {
            None => self.login().await?,
            Some((_, at)) if at.elapsed() >= self.cfg.keep_alive_after => self.keep_alive().await?,
            Some(_) => {}
        }
        self.token()
            .map(|(t, _)| t)
            .ok_or_else(|| SportsError::Upstream(format!("{NAME}: no session")))
    }

    /// Calls Betting API operation `op` with `params`.
    pub async fn call<T: DeserializeOwned>(&self, op: &str, params: &Value) -> Result<T> {
        let url = format!("{}/exchange/betting/rest/v1.0/{op}/", self.cfg.api_url);
        for attempt in 0..2 {
            let token = self.session().await?;
            let a = self
                .http
                .send(|c| {
                    c.post(&url)
                        .header("X-Application", &self.cfg.app_key)
                        .header("X-Authentication", &token)
                        .header("Accept", "application/json")
                        .json(params)
                })
                .await?;
            if a.is_success() {
                self.set_token(Some(token));
                return a
                    .json()
                    .map_err(|e| SportsError::Upstream(format!("{NAME}: {op} answer: {e}")));
            }
            if attempt == 0 && is_session_error(&a) {
                self.set_token(None);
                continue;
            }
            let code = serde_json::from_slice::<Value>(&a.body)
                .ok()
                .and_then(|v| {
                    v.pointer("/detail/APINGException/errorCode")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| a.message());
            return Err(SportsError::Upstream(format!(
                "{NAME}: {op}: HTTP {}: {code}",
                a.status
            )));
        }
        Err(SportsError::Upstream(format!(
            "{NAME}: {op}: session refused twice"
        )))
    }

    /// `listEventTypes` with an empty filter.
    pub async fn list_event_types(&self) -> Result<Vec<EventTypeResult>> {
        self.call("listEventTypes", &json!({"filter": {}})).await
    }

    /// `listMarketCatalogue`: match-odds markets of an event type (or given market ids).
    pub async fn list_market_catalogue(
        &self,
        event_type: Option<&str>,
        market_ids: &[String],
        max: u32,
    ) -> Result<Vec<MarketCatalogue>> {
        let mut filter = json!({});
        if let Some(t) = event_type {
            filter["eventTypeIds"] = json!([t]);
            filter["marketTypeCodes"] = json!(["MATCH_ODDS"]);
        }
        if !market_ids.is_empty() {
            filter["marketIds"] = json!(market_ids);
        }
        self.call(
            "listMarketCatalogue",
            &json!({"filter": filter, "maxResults": max, "marketProjection": ["EVENT", "RUNNER_DESCRIPTION", "MARKET_START_TIME"], "sort": "FIRST_TO_START"}),
        )
        .await
    }

    /// `listMarketBook` with the best back and lay offers.
    pub async fn list_market_book(&self, market_ids: &[String]) -> Result<Vec<MarketBook>> {
        self.call(
            "listMarketBook",
            &json!({"marketIds": market_ids, "priceProjection": {"priceData": ["EX_BEST_OFFERS"]}}),
        )
        .await
    }

    /// `placeOrders`: one LIMIT back order, `customerRef` for idempotency.
    pub async fn place_back(
        &self,
        market_id: &str,
        selection_id: i64,
        price: Decimal,
        size: Decimal,
        customer_ref: &str,
    ) -> Result<Placed> {
        let instruction = PlaceInstruction {
            selection_id,
            handicap: Decimal::ZERO,
            side: "BACK".into(),
            order_type: "LIMIT".into(),
            limit_order: LimitOrder {
                size,
                price,
                persistence_type: "LAPSE".into(),
            },
            customer_order_ref: Some(customer_ref.chars().take(32).collect()),
        };
        let r: PlaceExecutionReport = self
            .call("placeOrders", &json!({"marketId": market_id, "instructions": [instruction], "customerRef": customer_ref.chars().take(32).collect::<String>()}))
            .await?;
        let rep = r.instruction_reports.first();
        if r.status != "SUCCESS" {
            let why = r
                .error_code
                .or_else(|| rep.and_then(|x| x.error_code.clone()))
                .unwrap_or_default();
            return Err(SportsError::Refused(format!(
                "{NAME} refused the order: {} {why}",
                r.status
            )));
        }
        let rep = rep.ok_or_else(|| {
            SportsError::Upstream(format!(
                "{NAME}: placeOrders answered no instruction report"
            ))
        })?;
        Ok(Placed {
            bet_id: rep.bet_id.clone().unwrap_or_default(),
            size_matched: rep.size_matched.unwrap_or_default(),
            average_price: rep.average_price_matched.unwrap_or_default(),
            order_status: rep.order_status.clone().unwrap_or_default(),
        })
    }

    /// `cancelOrders` for one bet; the size cancelled.
    pub async fn cancel(&self, market_id: &str, bet_id: &str) -> Result<Decimal> {
        let r: CancelExecutionReport = self
            .call(
                "cancelOrders",
                &json!({"marketId": market_id, "instructions": [{"betId": bet_id}]}),
            )
            .await?;
        if r.status != "SUCCESS" {
            let why = r
                .error_code
                .or_else(|| {
                    r.instruction_reports
                        .first()
                        .and_then(|x| x.error_code.clone())
                })
                .unwrap_or_default();
            return Err(SportsError::Refused(format!(
                "{NAME} refused the cancel: {} {why}",
                r.status
            )));
        }
        Ok(r.instruction_reports
            .first()
            .and_then(|x| x.size_cancelled)
            .unwrap_or_default())
    }

    /// `listCurrentOrders` (first page).
    pub async fn current_orders(&self) -> Result<CurrentOrderSummaryReport> {
        self.call("listCurrentOrders", &json!({})).await
    }

    /// Resolves a runner name (or a numeric selection id) in `market_id`.
    pub async fn selection_id(&self, market_id: &str, selection: &str) -> Result<i64> {
        if let Ok(id) = selection.trim().parse::<i64>() {
            return Ok(id);
        }
        let cat = self
            .list_market_catalogue(None, &[market_id.to_string()], 1)
            .await?;
        cat.iter()
            .flat_map(|m| m.runners.iter())
            .find(|r| r.runner_name.eq_ignore_ascii_case(selection.trim()))
            .map(|r| r.selection_id)
            .ok_or_else(|| {
                SportsError::invalid(
                    "selection",
                    format!("no runner `{selection}` in market {market_id}"),
                )
            })
    }

    async fn priced(&self, cats: Vec<MarketCatalogue>) -> Result<Vec<EventOdds>> {
        let ids: Vec<String> = cats.iter().map(|c| c.market_id.clone()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let books = self.list_market_book(&ids).await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Ok(cats
            .into_iter()
            .map(|c| {
                let book = books.iter().find(|b| b.market_id == c.market_id);
                let (home, away) = c
                    .event
                    .as_ref()
                    .and_then(|e| e.name.split_once(" v "))
                    .map(|(h, a)| (h.to_string(), a.to_string()))
                    .unwrap_or_default();
                let outcomes = c
                    .runners
                    .iter()
                    .filter_map(|r| {
                        let br = book?
                            .runners
                            .iter()
                            .find(|b| b.selection_id == r.selection_id)?;
                        let best = br.ex.available_to_back.first()?;
                        Some(Outcome {
                            name: r.runner_name.clone(),
                            price: best.price,
                            point: None,
                        })
                    })
                    .collect();
                EventOdds {
                    event: Event {
                        id: c.market_id.clone(),
                        sport: String::new(),
                        home,
                        away,
                        commence_ms: c
                            .market_start_time
                            .as_deref()
                            .and_then(parse_iso_ms)
                            .unwrap_or(0),
                    },
                    books: vec![BookOdds {
                        book: "betfair-exchange".into(),
                        last_update_ms: now,
                        markets: vec![Market {
                            key: "h2h".into(),
                            outcomes,
                        }],
                    }],
                }
            })
            .collect())
    }
}

#[async_trait]
impl OddsFeed for BetfairClient {
    fn name(&self) -> &str {
        NAME
    }

    async fn sports(&self) -> Result<Vec<Sport>> {
        Ok(self
            .list_event_types()
            .await?
            .into_iter()
            .map(|t| Sport {
                key: t.event_type.id,
                group: t.event_type.name.clone(),
                title: t.event_type.name,
                active: t.market_count > 0,
            })
            .collect())
    }

    async fn odds(&self, sport: &str, _markets: &[String]) -> Result<Vec<EventOdds>> {
        let cats = self.list_market_catalogue(Some(sport), &[], 25).await?;
        let mut out = self.priced(cats).await?;
        for e in &mut out {
            e.event.sport = sport.to_string();
        }
        Ok(out)
    }

    async fn event_odds(
        &self,
        sport: &str,
        event_id: &str,
        _markets: &[String],
    ) -> Result<EventOdds> {
        let cats = self
            .list_market_catalogue(None, &[event_id.to_string()], 1)
            .await?;
        let mut e = self
            .priced(cats)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| SportsError::NotFound(format!("{NAME}: no market `{event_id}`")))?;
        e.event.sport = sport.to_string();
        Ok(e)
    }

    async fn scores(&self, _sport: &str) -> Result<Vec<Score>> {
        Err(SportsError::Refused(format!(
            "{NAME}: the Betting API has no scores; settle with an explicit result"
        )))
    }
}
