//! The client against a local fake Valet answering the Bank's documented
//! JSON: one series, the FX group, a 404 in the Bank's words, retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use nt_valet::client::Window;
use nt_valet::{Valet, ValetError, cad_rates};
use nt_venue_http::Policy;
use rust_decimal::Decimal;
use serde_json::json;

#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    queries: std::sync::Mutex<Vec<String>>,
}

async fn series(
    State(seen): State<Arc<Seen>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    seen.queries.lock().unwrap().push(q.unwrap_or_default());
    match id.as_str() {
        "FXUSDCAD" => Json(json!({
            "terms": {"url": "https://www.bankofcanada.ca/terms/"},
            "seriesDetail": {"FXUSDCAD": {"label": "USD/CAD", "description": "US dollar to Canadian dollar daily exchange rate"}},
            "observations": [
                {"d": "2026-11-27", "FXUSDCAD": {"v": "1.4012"}},
                {"d": "2026-11-26", "FXUSDCAD": {"v": "1.4035"}}
            ]
        }))
        .into_response(),
        "FLAKY" => (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": format!("Series {id} not found.")})),
        )
            .into_response(),
    }
}

async fn group(Path(g): Path<String>) -> Response {
    if g != "FX_RATES_DAILY" {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": format!("Group {g} not found.")})),
        )
            .into_response();
    }
    Json(json!({
        "groupDetail": {"label": "Daily exchange rates"},
        "seriesDetail": {
            "FXUSDCAD": {"label": "USD/CAD"},
            "FXEURCAD": {"label": "EUR/CAD"},
            "FXJPYCAD": {"label": "JPY/CAD"}
        },
        "observations": [
            {"d": "2026-11-26", "FXUSDCAD": {"v": "1.4035"}, "FXEURCAD": {"v": "1.4551"}, "FXJPYCAD": {"v": "0.009112"}},
            {"d": "2026-11-27", "FXUSDCAD": {"v": "1.4012"}, "FXEURCAD": {"v": ""}, "FXJPYCAD": {"v": "0.009120"}}
        ]
    }))
    .into_response()
}

async fn serve(seen: Arc<Seen>) -> String {
    let app = Router::new()
        .route("/valet/observations/group/{g}/json", get(group))
        .route("/valet/observations/{id}/json", get(series))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn quick(mut v: Valet) -> Valet {
    v.set_policy(Policy {
        min_interval: Duration::ZERO,
        attempts: 2,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_millis(10),
        breaker_threshold: 50,
        breaker_cooldown: Duration::from_secs(1),
        timeout: Duration::from_secs(5),
    });
    v
}

#[tokio::test]
async fn one_currency_is_one_series_request_with_the_dates() {
    let seen = Arc::new(Seen::default());
    let valet = quick(Valet::new(&serve(seen.clone()).await).unwrap());
    let window = Window {
        start: Some("2026-11-26".into()),
        end: Some("2026-11-27".into()),
        recent: None,
    };
    let rates = cad_rates(&valet, &["usd".into()], &window).await.unwrap();
    assert_eq!(rates.len(), 2);
    assert_eq!(rates[0].date, "2026-11-26");
    assert_eq!(rates[0].currency, "USD");
    assert_eq!(rates[0].rate, Decimal::new(14035, 4));
    assert_eq!(
        seen.queries.lock().unwrap().as_slice(),
        ["start_date=2026-11-26&end_date=2026-11-27"]
    );
}

#[tokio::test]
async fn several_currencies_come_from_the_group_and_skip_empty_days() {
    let valet = quick(Valet::new(&serve(Arc::default()).await).unwrap());
    let rates = cad_rates(&valet, &["EUR".into(), "JPY".into()], &Window::default())
        .await
        .unwrap();
    let got: Vec<(String, String, String)> = rates
        .iter()
        .map(|r| (r.date.clone(), r.currency.clone(), r.rate.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-11-26".into(), "EUR".into(), "1.4551".into()),
            ("2026-11-26".into(), "JPY".into(), "0.009112".into()),
            ("2026-11-27".into(), "JPY".into(), "0.009120".into()),
        ]
    );
    let all = cad_rates(&valet, &[], &Window::default()).await.unwrap();
    assert_eq!(all.len(), 5);
    let err = cad_rates(&valet, &["EUR".into(), "XYZ".into()], &Window::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no daily rate for XYZ"), "{err}");
    assert!(err.to_string().contains("USD"), "{err}");
}

#[tokio::test]
async fn the_banks_own_words_and_retries_come_back() {
    let seen = Arc::new(Seen::default());
    let valet = quick(Valet::new(&serve(seen.clone()).await).unwrap());
    let err = cad_rates(&valet, &["XYZ".into()], &Window::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ValetError::Upstream { status: 404, message } if message.contains("FXXYZCAD not found")),
        "{err}"
    );
    let before = seen.calls.load(Ordering::SeqCst);
    let err = valet.series("FLAKY", &Window::default()).await.unwrap_err();
    assert!(
        matches!(err, ValetError::Upstream { status: 503, .. }),
        "{err}"
    );
    assert_eq!(
        seen.calls.load(Ordering::SeqCst) - before,
        2,
        "503 is retried"
    );
    assert!(
        cad_rates(&valet, &["CAD".into()], &Window::default())
            .await
            .is_err()
    );
}
