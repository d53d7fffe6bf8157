//! The Betfair Exchange API-NG client against a local fake on 127.0.0.1:
//! the identity SSO interactive login (form `username`/`password`,
//! `X-Application`) and keepAlive, and the Betting API v1.0 JSON REST
//! operations listEventTypes, listMarketCatalogue, listMarketBook,
//! placeOrders, cancelOrders and listCurrentOrders, answering the shapes of
//! the Betfair "Betting Type Definitions". Every betting call must carry
//! `X-Application` and the current `X-Authentication` token; an expired
//! token is answered with `INVALID_SESSION_INFORMATION` (HTTP 400,
//! APINGException), after which the client logs in again once.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use nt_mcp_core::bundle::VenueMode;
use nt_mcp_core::{ToolBundle, ToolCtx};
use nt_sports::SportsBundle;
use nt_sports::betfair::{BetfairClient, BetfairConfig};
use nt_sports::feed::OddsFeed;
use nt_sports::risk::RiskConfig;
use nt_venue_http::Policy;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use support::*;

const APP: &str = "fake-app-key";
const MARKET: &str = "1.234567890";

#[derive(Default)]
struct Inner {
    token: Option<String>,
    logins: usize,
    keep_alives: usize,
    orders: Vec<Value>,
    calls: Vec<String>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Inner>>);

fn header<'a>(h: &'a HeaderMap, k: &str) -> Option<&'a str> {
    h.get(k).and_then(|v| v.to_str().ok())
}

async fn login(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> Response {
    if header(&h, "x-application") != Some(APP) {
        return axum::Json(
            json!({"token": "", "product": "", "status": "FAIL", "error": "INVALID_APP_KEY"}),
        )
        .into_response();
    }
    let form = String::from_utf8_lossy(&body).to_string();
    if !(form.contains("username=punter") && form.contains("password=s3cret")) {
        return axum::Json(json!({"token": "", "product": APP, "status": "FAIL", "error": "INVALID_USERNAME_OR_PASSWORD"})).into_response();
    }
    let mut i = f.0.lock().unwrap();
    i.logins += 1;
    let token = format!("session-{}", i.logins);
    i.token = Some(token.clone());
    axum::Json(json!({"token": token, "product": APP, "status": "SUCCESS", "error": ""}))
        .into_response()
}

async fn keep_alive(State(f): State<Fake>, h: HeaderMap) -> Response {
    let mut i = f.0.lock().unwrap();
    i.keep_alives += 1;
    let ok = i.token.is_some() && header(&h, "x-authentication") == i.token.as_deref();
    let t = i.token.clone().unwrap_or_default();
    axum::Json(if ok {
        json!({"token": t, "product": APP, "status": "SUCCESS", "error": ""})
    } else {
        json!({"token": "", "product": APP, "status": "FAIL", "error": "NO_SESSION"})
    })
    .into_response()
}

fn aping(code: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"detail": {"APINGException": {"errorCode": code, "errorDetails": "", "requestUUID": "prdang-1"}}, "faultcode": "Client", "faultstring": "ANGX-0003"})),
    )
        .into_response()
}

async fn betting(
    State(f): State<Fake>,
    Path(op): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let p: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut i = f.0.lock().unwrap();
    i.calls.push(op.clone());
    if header(&h, "x-application") != Some(APP) {
        return aping("INVALID_APP_KEY");
    }
    if i.token.is_none() || header(&h, "x-authentication") != i.token.as_deref() {
        return aping("INVALID_SESSION_INFORMATION");
    }
    let body = match op.as_str() {
        "listEventTypes" => json!([
            {"eventType": {"id": "1", "name": "Soccer"}, "marketCount": 2451},
            {"eventType": {"id": "7", "name": "Horse Racing"}, "marketCount": 310}
        ]),
        "listMarketCatalogue" => {
            assert!(
                p["marketProjection"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("RUNNER_DESCRIPTION"))),
                "{p}"
            );
            json!([{
                "marketId": MARKET, "marketName": "Match Odds", "marketStartTime": "2030-01-05T15:00:00.000Z", "totalMatched": 120345.5,
                "runners": [
                    {"selectionId": 1096, "runnerName": "Arsenal", "handicap": 0.0, "sortPriority": 1},
                    {"selectionId": 48351, "runnerName": "Chelsea", "handicap": 0.0, "sortPriority": 2},
                    {"selectionId": 58805, "runnerName": "The Draw", "handicap": 0.0, "sortPriority": 3}
                ],
                "event": {"id": "29876543", "name": "Arsenal v Chelsea", "countryCode": "GB", "timezone": "GMT", "openDate": "2030-01-05T15:00:00.000Z"}
            }])
        }
        "listMarketBook" => {
            assert_eq!(p["priceProjection"]["priceData"], json!(["EX_BEST_OFFERS"]));
            json!([{
                "marketId": MARKET, "isMarketDataDelayed": false, "status": "OPEN", "inplay": false, "totalMatched": 120345.5,
                "runners": [
                    {"selectionId": 1096, "handicap": 0.0, "status": "ACTIVE", "lastPriceTraded": 2.12,
                     "ex": {"availableToBack": [{"price": 2.12, "size": 540.2}], "availableToLay": [{"price": 2.14, "size": 310.0}], "tradedVolume": []}},
                    {"selectionId": 48351, "handicap": 0.0, "status": "ACTIVE", "lastPriceTraded": 3.9,
                     "ex": {"availableToBack": [{"price": 3.85, "size": 200.0}], "availableToLay": [{"price": 3.95, "size": 120.0}], "tradedVolume": []}},
                    {"selectionId": 58805, "handicap": 0.0, "status": "ACTIVE",
                     "ex": {"availableToBack": [{"price": 3.6, "size": 99.0}], "availableToLay": [{"price": 3.7, "size": 80.0}], "tradedVolume": []}}
                ]
            }])
        }
        "placeOrders" => {
            let ins = &p["instructions"][0];
            if ins["limitOrder"]["size"].as_f64().unwrap_or(0.0) > 1000.0 {
                json!({"customerRef": p["customerRef"], "status": "FAILURE", "errorCode": "INSUFFICIENT_FUNDS", "marketId": p["marketId"],
                       "instructionReports": [{"status": "FAILURE", "errorCode": "ERROR_IN_ORDER", "instruction": ins}]})
            } else {
                i.orders.push(p.clone());
                json!({"customerRef": p["customerRef"], "status": "SUCCESS", "marketId": p["marketId"],
                       "instructionReports": [{"status": "SUCCESS", "instruction": ins, "betId": format!("3124260494{}", i.orders.len()),
                       "placedDate": "2030-01-04T10:00:00.000Z", "averagePriceMatched": ins["limitOrder"]["price"], "sizeMatched": ins["limitOrder"]["size"], "orderStatus": "EXECUTION_COMPLETE"}]})
            }
        }
        "cancelOrders" => {
            json!({"status": "SUCCESS", "marketId": p["marketId"], "instructionReports": [
            {"status": "SUCCESS", "instruction": p["instructions"][0], "sizeCancelled": 2.0, "cancelledDate": "2030-01-04T10:05:00.000Z"}]})
        }
        "listCurrentOrders" => json!({"currentOrders": [{
            "betId": "31242604941", "marketId": MARKET, "selectionId": 1096, "handicap": 0.0,
            "priceSize": {"price": 2.12, "size": 5.0}, "bspLiability": 0.0, "side": "BACK", "status": "EXECUTABLE",
            "persistenceType": "LAPSE", "orderType": "LIMIT", "placedDate": "2030-01-04T10:00:00.000Z",
            "averagePriceMatched": 0.0, "sizeMatched": 0.0, "sizeRemaining": 5.0, "sizeLapsed": 0.0, "sizeCancelled": 0.0, "sizeVoided": 0.0}],
            "moreAvailable": false}),
        _ => return aping("INVALID_INPUT_DATA"),
    };
    axum::Json(body).into_response()
}

async fn serve() -> (String, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/api/login", post(login))
        .route("/api/keepAlive", post(keep_alive))
        .route("/exchange/betting/rest/v1.0/{op}/", post(betting))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

fn client(base: &str, password: &str) -> BetfairClient {
    let env = |k: &str| match k {
        "BETFAIR_APP_KEY" => Some(APP.to_string()),
        "BETFAIR_USERNAME" => Some("punter".to_string()),
        "BETFAIR_PASSWORD" => Some(password.to_string()),
        "BETFAIR_API_URL" | "BETFAIR_SSO_URL" => Some(base.to_string()),
        _ => None,
    };
    let cfg = BetfairConfig::resolve(env).expect("configured");
    assert!(
        !format!("{cfg:?}").contains(password),
        "the password must not be in Debug output"
    );
    BetfairClient::new(
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
async fn the_client_speaks_api_ng() {
    let (base, fake) = serve().await;
    let c = client(&base, "s3cret");
    let types = c.list_event_types().await.unwrap();
    assert_eq!(types[0].event_type.name, "Soccer");
    assert_eq!(fake.0.lock().unwrap().logins, 1);

    let evs = c.odds("1", &[]).await.unwrap();
    assert_eq!(evs[0].event.id, MARKET);
    assert_eq!(
        (evs[0].event.home.as_str(), evs[0].event.away.as_str()),
        ("Arsenal", "Chelsea")
    );
    assert_eq!(evs[0].books[0].markets[0].outcomes[0].price, dec!(2.12));

    assert_eq!(c.selection_id(MARKET, "chelsea").await.unwrap(), 48351);
    let placed = c
        .place_back(MARKET, 1096, dec!(2.12), dec!(5), "client-1")
        .await
        .unwrap();
    assert_eq!(placed.bet_id, "31242604941");
    assert_eq!(placed.size_matched, dec!(5));
    {
        let i = fake.0.lock().unwrap();
        let ins = &i.orders[0]["instructions"][0];
        assert_eq!(ins["side"], "BACK");
        assert_eq!(ins["orderType"], "LIMIT");
        assert_eq!(ins["limitOrder"]["persistenceType"], "LAPSE");
        assert_eq!(
            ins["limitOrder"]["size"],
            json!(5.0),
            "Betfair Doubles are JSON numbers"
        );
        assert_eq!(ins["limitOrder"]["price"], json!(2.12));
        assert_eq!(i.orders[0]["customerRef"], "client-1");
    }
    let e = c
        .place_back(MARKET, 1096, dec!(2.12), dec!(5000), "client-2")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("INSUFFICIENT_FUNDS"), "{e}");
    assert_eq!(c.cancel(MARKET, "31242604941").await.unwrap(), dec!(2));
    let cur = c.current_orders().await.unwrap();
    assert_eq!(cur.current_orders[0].size_remaining, Some(dec!(5)));

    // The exchange forgets the session: the next call logs in again once.
    fake.0.lock().unwrap().token = Some("expired-elsewhere".into());
    c.list_event_types().await.unwrap();
    assert_eq!(fake.0.lock().unwrap().logins, 2);
    c.keep_alive().await.unwrap();
    assert_eq!(fake.0.lock().unwrap().keep_alives, 1);

    let bad = client(&base, "wrong");
    let e = bad.list_event_types().await.unwrap_err();
    assert!(
        e.to_string().contains("INVALID_USERNAME_OR_PASSWORD"),
        "{e}"
    );
}

#[tokio::test]
async fn bets_on_betfair_need_live_trading() {
    let (base, fake) = serve().await;
    let bundle =
        SportsBundle::simulated(5, RiskConfig::default()).with_betfair(client(&base, "s3cret"));
    assert!(
        bundle
            .venues()
            .iter()
            .any(|v| v.name == "betfair" && v.mode == VenueMode::Live)
    );
    let store = store_at("sqlite::memory:").await;
    let r = router(bundle);
    let args = json!({"client_id": "bf1", "sport": "1", "event_id": MARKET, "selection": "Arsenal", "odds": "2.1", "stake": "5", "venue": "betfair"});

    let ctx = ToolCtx::new(store.clone());
    let e = call(&r, &ctx, "bet_place", args.clone())
        .await
        .expect_err("live trading off");
    assert!(
        e.message.contains("live trading is disabled"),
        "{}",
        e.message
    );
    assert!(fake.0.lock().unwrap().orders.is_empty());

    let live = ctx.with_live_trading(true);
    let placed = ok(&r, &live, "bet_place", args.clone()).await;
    assert_eq!(placed["venue"], "betfair");
    assert_eq!(placed["bet"]["venue_bet_id"], "31242604941");
    assert_eq!(placed["bet"]["odds"], "2.1");
    let again = ok(&r, &live, "bet_place", args).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(
        fake.0.lock().unwrap().orders.len(),
        1,
        "placing the same client id twice places it once"
    );
    assert_eq!(audit_count(&store, "bet_placed").await, 1);
    // The fake cancels 2 of the 5: the bet stays open on a stake of 3.
    let bet_id = placed["bet"]["id"].clone();
    let c = ok(&r, &live, "bet_cancel", json!({"bet_id": bet_id})).await;
    assert_eq!(c["size_cancelled"], "2");
    assert_eq!(c["bet"]["stake"], "3");
    assert_eq!(c["bet"]["status"], "open");
    assert_eq!(audit_count(&store, "bet_cancelled").await, 1);
    let feed = ok(&r, &live, "odds_events", json!({"source": "betfair"})).await;
    assert_eq!(feed["sports"][0]["title"], "Soccer");
}
