//! `tax_load_fx_rates` with `bank_of_canada`: the Bank's daily rates come
//! from a local fake Valet answering the documented JSON, are stored, and
//! convert a USD trade's ACB and gain to CAD.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use support::mcp::{call, connect, text};

mod support;

type Queries = Arc<Mutex<Vec<String>>>;

async fn valet(
    State(q): State<Queries>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    q.lock()
        .unwrap()
        .push(format!("{id}?{}", raw.unwrap_or_default()));
    if id != "FXUSDCAD" {
        let msg = format!("Series {id} not found.");
        return (StatusCode::NOT_FOUND, Json(json!({ "message": msg }))).into_response();
    }
    Json(json!({
        "seriesDetail": {"FXUSDCAD": {"label": "USD/CAD"}},
        "observations": [
            {"d": "2024-03-13", "FXUSDCAD": {"v": "1.3500"}},
            {"d": "2024-03-14", "FXUSDCAD": {"v": "1.3550"}},
            {"d": "2024-03-15", "FXUSDCAD": {"v": "1.3600"}}
        ]
    }))
    .into_response()
}

#[tokio::test]
async fn bank_of_canada_rates_are_fetched_stored_and_convert_a_usd_sale() {
    let queries = Queries::default();
    let app = Router::new()
        .route("/valet/observations/{id}/json", get(valet))
        .with_state(queries.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = connect(
        "sqlite::memory:",
        &format!("[bundle_config.brokers]\nboc_valet_url = \"{url}\"\n"),
    )
    .await;

    let loaded = call(
        &client,
        "tax_load_fx_rates",
        json!({"bank_of_canada": {"currencies": ["usd"], "start": "2024-03-13", "end": "2024-03-15"}}),
    )
    .await;
    assert_ne!(loaded.is_error, Some(true), "{}", text(&loaded));
    let body = loaded.structured_content.clone().unwrap();
    assert_eq!(body["stored"], json!(3));
    assert_eq!(body["source"], json!("bank-of-canada"));
    assert_eq!(body["first_day"], json!("2024-03-13"));
    assert_eq!(
        queries.lock().unwrap().as_slice(),
        ["FXUSDCAD?start_date=2024-03-13&end_date=2024-03-15"]
    );

    // 100 bought at 10 USD on the 13th (1.35) and 50 sold at 12 USD with a
    // 5 USD commission on the 15th (1.36): proceeds 50 x 12 x 1.36 = 816,
    // ACB 50 x 10 x 1.35 = 675, outlays 5 x 1.36 = 6.80, gain 134.20 CAD.
    let acb = call(
        &client,
        "tax_acb",
        json!({"trades": [
            {"date": "2024-03-13", "symbol": "MSFT", "side": "buy", "qty": "100", "price": "10", "currency": "USD"},
            {"date": "2024-03-15", "symbol": "MSFT", "side": "sell", "qty": "50", "price": "12", "commission": "5", "currency": "USD"}
        ]}),
    )
    .await;
    assert_ne!(acb.is_error, Some(true), "{}", text(&acb));
    let d = &acb.structured_content.clone().unwrap()["report"]["dispositions"][0];
    let num = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    assert_eq!(
        (num("proceeds"), num("acb"), num("outlays"), num("gain")),
        (
            "816.00".into(),
            "675.00".into(),
            "6.80".into(),
            "134.20".into()
        ),
        "{d}"
    );
    assert_eq!(d["fx_rate"], json!("1.36"), "{d}");

    // The Bank's own words for a currency it does not publish; both inputs
    // at once is bad input.
    let missing = call(
        &client,
        "tax_load_fx_rates",
        json!({"bank_of_canada": {"currencies": ["XYZ"], "start": "2024-03-13"}}),
    )
    .await;
    assert_eq!(missing.is_error, Some(true));
    assert!(
        text(&missing).contains("FXXYZCAD not found"),
        "{}",
        text(&missing)
    );
    let both = call(
        &client,
        "tax_load_fx_rates",
        json!({"rates": [{"date": "2024-03-13", "currency": "USD", "rate": "1.35"}],
               "bank_of_canada": {"start": "2024-03-13"}}),
    )
    .await;
    assert_eq!(both.is_error, Some(true));
    assert!(text(&both).contains("not both"), "{}", text(&both));
    let bad_day = call(
        &client,
        "tax_load_fx_rates",
        json!({"bank_of_canada": {"currencies": ["USD"], "start": "13/03/2024"}}),
    )
    .await;
    assert!(
        text(&bad_day).contains("bank_of_canada.start"),
        "{}",
        text(&bad_day)
    );
}
