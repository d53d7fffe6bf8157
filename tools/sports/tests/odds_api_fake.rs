//! The Odds API v4 client against a local fake on 127.0.0.1 answering the
//! documented JSON (<https://the-odds-api.com/liveapi/guides/v4/>, schema
//! version 4): the `apiKey` query parameter is checked on every call, the
//! odds calls must ask for decimal odds, answers carry the quota headers.
//! Then the bundle on that feed: events, prices, the arbitrage between the
//! fake's two books, a paper bet at its prices, settlement from its scores.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nt_mcp_core::bundle::VenueMode;
use nt_mcp_core::{ToolBundle, ToolCtx};
use nt_sports::SportsBundle;
use nt_sports::feed::OddsFeed;
use nt_sports::oddsapi::{OddsApiClient, OddsApiConfig};
use nt_sports::risk::RiskConfig;
use nt_venue_http::Policy;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use support::*;

const KEY: &str = "test-odds-key";
const EVENT: &str = "e912304de2b2ce35b473ce2ecd3d1502";

#[derive(Clone, Default)]
struct Fake {
    queries: Arc<Mutex<Vec<String>>>,
}

fn event() -> Value {
    // The documented `/odds` item shape: two bookmakers, h2h and totals.
    json!({
        "id": EVENT,
        "sport_key": "soccer_epl",
        "sport_title": "EPL",
        "commence_time": "2030-01-05T15:00:00Z",
        "home_team": "Arsenal",
        "away_team": "Chelsea",
        "bookmakers": [
            {"key": "williamhill", "title": "William Hill", "last_update": "2030-01-04T10:00:00Z", "markets": [
                {"key": "h2h", "last_update": "2030-01-04T10:00:00Z", "outcomes": [
                    {"name": "Arsenal", "price": 2.25}, {"name": "Chelsea", "price": 3.2}, {"name": "Draw", "price": 3.9}]},
                {"key": "totals", "last_update": "2030-01-04T10:00:00Z", "outcomes": [
                    {"name": "Over", "price": 1.95, "point": 2.5}, {"name": "Under", "price": 1.9, "point": 2.5}]}
            ]},
            {"key": "betfair_ex_uk", "title": "Betfair", "last_update": "2030-01-04T10:01:00Z", "markets": [
                {"key": "h2h", "last_update": "2030-01-04T10:01:00Z", "outcomes": [
                    {"name": "Arsenal", "price": 2.1}, {"name": "Chelsea", "price": 4.0}, {"name": "Draw", "price": 3.7}]},
                {"key": "totals", "last_update": "2030-01-04T10:01:00Z", "outcomes": [
                    {"name": "Over", "price": 1.9, "point": 3.5}, {"name": "Under", "price": 2.0, "point": 3.5}]}
            ]}
        ]
    })
}

fn with_quota(body: Value) -> Response {
    let mut r = axum::Json(body).into_response();
    r.headers_mut()
        .insert("x-requests-remaining", HeaderValue::from_static("497"));
    r.headers_mut()
        .insert("x-requests-used", HeaderValue::from_static("3"));
    r
}

/// The refusal the API would answer, if any.
fn check(fake: &Fake, q: &Option<String>, odds: bool) -> Option<Response> {
    let q = q.clone().unwrap_or_default();
    fake.queries.lock().unwrap().push(q.clone());
    if !q.split('&').any(|kv| kv == format!("apiKey={KEY}")) {
        return Some((StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "API key is not valid or is missing", "error_code": "INVALID_KEY"}))).into_response());
    }
    if odds && !q.contains("oddsFormat=decimal") {
        return Some(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({"message": "oddsFormat must be decimal here"})),
            )
                .into_response(),
        );
    }
    None
}

async fn sports(State(f): State<Fake>, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = check(&f, &q, false) {
        return r;
    }
    with_quota(json!([
        {"key": "soccer_epl", "group": "Soccer", "title": "EPL", "description": "English Premier League", "active": true, "has_outrights": false},
        {"key": "basketball_nba", "group": "Basketball", "title": "NBA", "description": "US Basketball", "active": true, "has_outrights": false}
    ]))
}

async fn odds(State(f): State<Fake>, Path(sport): Path<String>, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = check(&f, &q, true) {
        return r;
    }
    if sport != "soccer_epl" {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown sport"})),
        )
            .into_response();
    }
    with_quota(json!([event()]))
}

async fn event_odds(
    State(f): State<Fake>,
    Path((_sport, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = check(&f, &q, true) {
        return r;
    }
    if id != EVENT {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Event not found"})),
        )
            .into_response();
    }
    with_quota(event())
}

async fn scores(State(f): State<Fake>, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = check(&f, &q, false) {
        return r;
    }
    with_quota(json!([
        {"id": EVENT, "sport_key": "soccer_epl", "sport_title": "EPL", "commence_time": "2030-01-05T15:00:00Z", "completed": true,
         "home_team": "Arsenal", "away_team": "Chelsea", "scores": [{"name": "Arsenal", "score": "2"}, {"name": "Chelsea", "score": "1"}],
         "last_update": "2030-01-05T17:00:00Z"}
    ]))
}

async fn serve() -> (String, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/v4/sports", get(sports))
        .route("/v4/sports/{sport}/odds", get(odds))
        .route("/v4/sports/{sport}/events/{id}/odds", get(event_odds))
        .route("/v4/sports/{sport}/scores", get(scores))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

fn client(base: &str, key: &str) -> OddsApiClient {
    let env = |k: &str| match k {
        "ODDS_API_KEY" => Some(key.to_string()),
        _ => None,
    };
    let cfg = OddsApiConfig::resolve(env, Some(base), Some("uk")).expect("configured");
    OddsApiClient::new(
        cfg,
        Policy {
            attempts: 1,
            min_interval: std::time::Duration::ZERO,
            ..Policy::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn the_client_speaks_v4() {
    let (base, fake) = serve().await;
    let c = client(&base, KEY);
    let sports = c.sports().await.unwrap();
    assert_eq!(sports[0].key, "soccer_epl");
    let evs = c
        .odds("soccer_epl", &["h2h".into(), "totals".into()])
        .await
        .unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event.home, "Arsenal");
    assert_eq!(
        evs[0].event.commence_ms,
        nt_mcp_core::dates::parse_iso_ms("2030-01-05T15:00:00Z").unwrap()
    );
    assert_eq!(evs[0].books[1].markets[0].outcomes[1].price, dec!(4.0));
    assert_eq!(
        evs[0].books[0].markets[1].outcomes[0].point,
        Some(dec!(2.5))
    );
    assert_eq!(c.quota(), Some((497, 3)));
    let q = fake.queries.lock().unwrap().clone();
    assert!(
        q.iter().any(|x| x.contains("regions=uk")
            && x.contains("markets=h2h%2Ctotals")
            && x.contains("oddsFormat=decimal")),
        "{q:?}"
    );
    let scores = c.scores("soccer_epl").await.unwrap();
    assert_eq!(
        (scores[0].home, scores[0].away, scores[0].completed),
        (Some(2), Some(1), true)
    );
    let e = c.event_odds("soccer_epl", "nope", &[]).await.unwrap_err();
    assert!(
        e.to_string().contains("404") && e.to_string().contains("Event not found"),
        "{e}"
    );

    let bad = client(&base, "wrong");
    let e = bad.sports().await.unwrap_err();
    assert!(
        e.to_string().contains("401") && e.to_string().contains("API key is not valid"),
        "{e}"
    );
}

#[tokio::test]
async fn the_bundle_on_the_odds_api() {
    let (base, _fake) = serve().await;
    // The fake's prices are from 2030-01-04; the stale-feed rule is off here.
    let risk = RiskConfig {
        stale_feed_ms: 0,
        ..RiskConfig::default()
    };
    let bundle = SportsBundle::simulated(5, risk).with_odds_api(client(&base, KEY));
    assert!(
        bundle
            .venues()
            .iter()
            .any(|v| v.name == "the-odds-api" && v.mode == VenueMode::Paper)
    );
    let store = store_at("sqlite::memory:").await;
    let r = router(bundle);
    let ctx = ToolCtx::new(store.clone());

    let evs = ok(&r, &ctx, "odds_events", json!({"sport": "soccer_epl"})).await;
    assert_eq!(evs["venue"], "the-odds-api");
    assert_eq!(evs["events"][0]["id"], EVENT);
    let od = ok(
        &r,
        &ctx,
        "odds_for_event",
        json!({"sport": "soccer_epl", "event_id": EVENT, "markets": ["h2h"]}),
    )
    .await;
    assert_eq!(od["h2h"].as_array().unwrap().len(), 3);
    // Best prices 2.25 / 4.0 / 3.9: 0.4444 + 0.25 + 0.2564 = 0.9509 < 1.
    let arb = ok(
        &r,
        &ctx,
        "odds_find_arbitrage",
        json!({"sport": "soccer_epl", "total_stake": "1000"}),
    )
    .await;
    assert_eq!(arb["arbitrages"].as_array().unwrap().len(), 1, "{arb}");
    assert_eq!(
        arb["arbitrages"][0]["arbitrage"]["legs"][1]["book"],
        "betfair_ex_uk"
    );
    // Over 2.5 at one book, Under 3.5 at the other: a 3-goal game wins both.
    assert_eq!(arb["middles"].as_array().unwrap().len(), 1, "{arb}");

    let placed = ok(&r, &ctx, "bet_place", json!({"client_id": "oa1", "sport": "soccer_epl", "event_id": EVENT, "selection": "Arsenal", "odds": "2.2", "stake": "10"})).await;
    assert_eq!(placed["venue"], "sim-book");
    assert_eq!(placed["bet"]["book"], "williamhill");
    let settled = ok(
        &r,
        &ctx,
        "bet_settle",
        json!({"bet_id": placed["bet"]["id"]}),
    )
    .await;
    assert_eq!(settled["bet"]["status"], "won");
    assert_eq!(settled["bet"]["pnl"], "12.50");
}
