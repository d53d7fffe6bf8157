//! The retry loop against a local server on 127.0.0.1 that fails on cue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use nt_venue_http::{HttpError, Policy, VenueClient};

/// Serves `/flaky` (the first `fail` calls answer 503, with `Retry-After: 1`
/// when `retry_after`), `/bad` (400 with a JSON message) and counts calls.
async fn serve(fail: u32, retry_after: bool) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let c1 = calls.clone();
    let c2 = calls.clone();
    let app = Router::new()
        .route(
            "/flaky",
            get(move || {
                let calls = c1.clone();
                async move {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    let mut h = HeaderMap::new();
                    if n < fail {
                        if retry_after {
                            h.insert("retry-after", "1".parse().unwrap());
                        }
                        (StatusCode::SERVICE_UNAVAILABLE, h, "down for maintenance")
                    } else {
                        (StatusCode::OK, h, r#"{"ok":true}"#)
                    }
                }
            }),
        )
        .route(
            "/bad",
            get(move || {
                let calls = c2.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    (
                        StatusCode::BAD_REQUEST,
                        r#"{"message":"qty must be positive"}"#,
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

fn quick() -> Policy {
    Policy {
        min_interval: Duration::ZERO,
        attempts: 3,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_secs(60),
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn retries_5xx_until_an_answer() {
    let (base, calls) = serve(2, false).await;
    let c = VenueClient::new("fake", quick()).unwrap();
    let a = c.send(|h| h.get(format!("{base}/flaky"))).await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.json::<serde_json::Value>().unwrap()["ok"], true);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn honours_retry_after() {
    let (base, calls) = serve(1, true).await;
    let c = VenueClient::new("fake", quick()).unwrap();
    let t = Instant::now();
    let a = c.send(|h| h.get(format!("{base}/flaky"))).await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_rejection_is_not_retried_and_carries_the_venue_message() {
    let (base, calls) = serve(0, false).await;
    let c = VenueClient::new("fake", quick()).unwrap();
    let a = c.send(|h| h.get(format!("{base}/bad"))).await.unwrap();
    assert_eq!(a.status, 400);
    assert!(!a.is_success());
    assert_eq!(a.message(), "qty must be positive");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn exhausted_retries_open_the_breaker() {
    let (base, calls) = serve(100, false).await;
    let c = VenueClient::new("fake", quick()).unwrap();
    // Two calls, each exhausting its three attempts on 503s.
    for _ in 0..2 {
        let a = c.send(|h| h.get(format!("{base}/flaky"))).await.unwrap();
        assert_eq!(a.status, 503);
        assert_eq!(a.message(), "down for maintenance");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    let err = c
        .send(|h| h.get(format!("{base}/flaky")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::CircuitOpen { failures: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("circuit breaker open"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 6, "nothing sent while open");
}

#[tokio::test]
async fn unreachable_names_attempts_and_hides_the_url() {
    // A port nothing listens on: bind, read the port, drop the listener.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = VenueClient::new("fake", quick()).unwrap();
    let err = c
        .send(|h| h.get(format!("http://127.0.0.1:{port}/x?apikey=SECRET")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Unreachable { attempts: 3, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("SECRET"), "{err}");
    // The cause is named, not just "error sending request".
    let text = err.to_string().to_ascii_lowercase();
    assert!(
        text.contains("refused") || text.contains("connect"),
        "{err}"
    );
    assert_eq!(err.venue(), "fake");
}

#[tokio::test]
async fn a_failing_builder_stops_the_call() {
    let c = VenueClient::new("fake", quick()).unwrap();
    let err = c
        .try_send(|_| {
            Err::<nt_venue_http::reqwest::RequestBuilder, _>(HttpError::Request {
                venue: "fake".into(),
                detail: "cannot sign".into(),
            })
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "fake: cannot sign");
}
