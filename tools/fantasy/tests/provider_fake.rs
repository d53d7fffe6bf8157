//! The BALLDONTLIE client against a local fake on 127.0.0.1 that answers
//! with the documented JSON shapes (https://docs.balldontlie.io, "Get All
//! Stats"): the auth header, `dates[]`, cursor pages, retries on 429/5xx,
//! the provider's error message, request spacing, and the import through
//! `fantasy_import_stats` with `format = "provider"`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nt_fantasy::FantasyBundle;
use nt_fantasy::data::{StatsProvider, StatsQuery};
use nt_fantasy::model::Sport;
use nt_fantasy::provider::{BallDontLie, BallDontLieConfig};
use nt_mcp_core::bundle::{BundleSettings, Caller, ToolBundle, ToolCtx, VenueMode};
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::progress::Progress;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolErrorKind};
use serde_json::{Value, json};

const KEY: &str = "test-key-123";

#[derive(Default)]
struct Fake {
    /// Answer 429 to this many requests before serving.
    throttle: AtomicUsize,
    /// Answer 503 to this many requests (after the 429s) before serving.
    fail: AtomicUsize,
    requests: AtomicUsize,
    seen: Mutex<Vec<(Option<String>, String)>>,
}

fn decode(s: &str) -> String {
    s.replace("%5B", "[")
        .replace("%5D", "]")
        .replace("%3A", ":")
}

fn stat(
    id: i64,
    player: (i64, &str, &str, &str),
    team: (i64, &str),
    game: (i64, &str, i64, i64),
    min: Value,
    pts: i64,
) -> Value {
    json!({
        "id": id, "ast": 6, "blk": 1, "dreb": 5, "fg3_pct": 0.333, "fg3a": 6, "fg3m": 2,
        "fg_pct": 0.474, "fga": 19, "fgm": 9, "ft_pct": 0.75, "fta": 4, "ftm": 3,
        "game": {"id": game.0, "date": game.1, "home_team_id": game.2, "home_team_score": 119,
                 "period": 4, "postseason": false, "season": 2024, "status": "Final",
                 "time": " ", "visitor_team_id": game.3, "visitor_team_score": 122},
        "min": min, "oreb": 1, "pf": 1,
        "player": {"id": player.0, "first_name": player.1, "last_name": player.2,
                   "position": player.3, "team_id": team.0},
        "pts": pts, "reb": 6, "stl": 2,
        "team": {"id": team.0, "abbreviation": team.1, "city": "X", "conference": "East",
                 "division": "Central", "full_name": "X", "name": "X"},
        "turnover": 3
    })
}

async fn stats(State(fake): State<Arc<Fake>>, headers: HeaderMap, q: RawQuery) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let query = decode(&q.0.unwrap_or_default());
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    fake.seen
        .lock()
        .unwrap()
        .push((auth.clone(), query.clone()));
    if auth.as_deref() != Some(KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "Unauthorized: invalid API key"})),
        )
            .into_response();
    }
    if fake
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            axum::Json(json!({"error": "Too many requests"})),
        )
            .into_response();
    }
    if fake
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream maintenance").into_response();
    }
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let dates: Vec<&str> = params
        .iter()
        .filter(|(k, _)| *k == "dates[]")
        .map(|(_, v)| *v)
        .collect();
    if dates.contains(&"2024-02-30") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "dates[] must be valid dates"})),
        )
            .into_response();
    }
    let cursor = params.iter().find(|(k, _)| *k == "cursor").map(|(_, v)| *v);
    // Game 1 on Christmas: MIL (16) at NYK (20); game 2 two days later: MIL hosts BOS (2).
    let page = match cursor {
        None => json!({
            "data": [
                stat(1, (246, "Giannis", "Antetokounmpo", "F"), (16, "MIL"), (1001, "2024-12-25", 20, 16), json!("36:47"), 23),
                stat(2, (300, "Jalen", "Brunson", "G"), (20, "NYK"), (1001, "2024-12-25", 20, 16), json!("38:00"), 30),
                stat(3, (301, "Bench", "Rider", "G-F"), (20, "NYK"), (1001, "2024-12-25", 20, 16), json!("00:00"), 0),
            ],
            "meta": {"next_cursor": 90, "per_page": 100}
        }),
        Some("90") => json!({
            "data": [
                stat(4, (246, "Giannis", "Antetokounmpo", "F"), (16, "MIL"), (1002, "2024-12-27", 16, 2), json!("30:00"), 17),
                stat(5, (400, "No", "Position", ""), (2, "BOS"), (1002, "2024-12-27", 16, 2), json!("12:00"), 4),
            ],
            "meta": {"per_page": 100}
        }),
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": format!("bad cursor {other}")})),
            )
                .into_response();
        }
    };
    axum::Json(page).into_response()
}

async fn start_fake(fake: Arc<Fake>) -> String {
    let app = axum::Router::new()
        .route("/v1/stats", get(stats))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn client(base: &str, key: &str, rpm: u32) -> BallDontLie {
    let mut cfg = BallDontLieConfig::new(key);
    cfg.base_url = base.to_string();
    cfg.requests_per_minute = rpm;
    cfg.max_retries = 2;
    cfg.backoff = Duration::from_millis(5);
    cfg.timeout = Duration::from_secs(5);
    BallDontLie::new(cfg).unwrap()
}

fn query(dates: &[&str]) -> StatsQuery {
    StatsQuery {
        season: None,
        week: Some(9),
        dates: dates.iter().map(|d| d.to_string()).collect(),
    }
}

#[tokio::test]
async fn maps_documented_stats_and_follows_cursor_pages() {
    let fake = Arc::new(Fake::default());
    fake.throttle.store(1, Ordering::SeqCst);
    fake.fail.store(1, Ordering::SeqCst);
    let base = start_fake(fake.clone()).await;
    let bdl = client(&base, KEY, 60_000);
    let batch = bdl
        .fetch(Sport::Nba, &query(&["2024-12-25", "2024-12-27"]))
        .await
        .unwrap();
    // 429, 503, page 1, page 2.
    assert_eq!(fake.requests.load(Ordering::SeqCst), 4);
    let seen = fake.seen.lock().unwrap().clone();
    for (auth, q) in &seen {
        assert_eq!(
            auth.as_deref(),
            Some(KEY),
            "documented header `Authorization: KEY`"
        );
        assert!(
            q.contains("dates[]=2024-12-25") && q.contains("dates[]=2024-12-27"),
            "{q}"
        );
        assert!(q.contains("per_page=100"), "{q}");
    }
    assert!(seen[3].1.contains("cursor=90"), "second page by cursor");

    // Giannis: two games summed into week 9; Brunson one game; the
    // zero-minute row and the player without a position are left out.
    assert_eq!(batch.stats.len(), 2, "{:?}", batch.stats);
    let g = batch
        .stats
        .iter()
        .find(|s| s.player_id == "nba-bdl-246")
        .unwrap();
    assert_eq!((g.season, g.week), (2024, 9));
    assert_eq!(g.opponent.as_deref(), Some("NYK"), "first game's opponent");
    let v = |k: &str| g.stats.get(k).map(|d| d.to_string());
    assert_eq!(v("pts").as_deref(), Some("40"));
    assert_eq!(v("min").as_deref(), Some("66.78"));
    assert_eq!(v("tov").as_deref(), Some("6"));
    assert_eq!(v("tpm").as_deref(), Some("4"));
    assert_eq!(v("reb").as_deref(), Some("12"));
    assert_eq!(v("fgm").as_deref(), Some("18"));
    let giannis = batch
        .players
        .iter()
        .find(|p| p.id == "nba-bdl-246")
        .unwrap();
    assert_eq!(giannis.name, "Giannis Antetokounmpo");
    assert_eq!(giannis.team, "MIL");
    assert_eq!(giannis.positions, vec!["SF", "PF"]);
    let brunson = batch
        .players
        .iter()
        .find(|p| p.id == "nba-bdl-300")
        .unwrap();
    assert_eq!(brunson.positions, vec!["PG", "SG"]);
    assert_eq!(batch.notes.len(), 1, "{:?}", batch.notes);
    assert!(batch.notes[0].contains("nba-bdl-400"), "{:?}", batch.notes);
}

#[tokio::test]
async fn errors_name_the_status_and_the_providers_message() {
    let fake = Arc::new(Fake::default());
    let base = start_fake(fake.clone()).await;
    // Wrong key: 401 is not retried and its message comes through.
    let err = client(&base, "wrong", 60_000)
        .fetch(Sport::Nba, &query(&["2024-12-25"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401") && err.contains("Unauthorized: invalid API key"),
        "{err}"
    );
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
    // 400 with the provider's reason.
    let err = client(&base, KEY, 60_000)
        .fetch(Sport::Nba, &query(&["2024-02-30"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("400") && err.contains("dates[] must be valid dates"),
        "{err}"
    );
    // 503 every time: three tries (max_retries = 2), then a clear error.
    fake.requests.store(0, Ordering::SeqCst);
    fake.fail.store(100, Ordering::SeqCst);
    let err = client(&base, KEY, 60_000)
        .fetch(Sport::Nba, &query(&["2024-12-25"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("503") && err.contains("upstream maintenance"),
        "{err}"
    );
    assert!(err.contains("gave up after 3 tries"), "{err}");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3);
    // Bad input never reaches the network.
    fake.requests.store(0, Ordering::SeqCst);
    let bdl = client(&base, KEY, 60_000);
    for (q, field) in [
        (query(&["25/12/2024"]), "dates[0]"),
        (query(&[]), "dates"),
        (
            StatsQuery {
                week: None,
                ..query(&["2024-12-25"])
            },
            "week",
        ),
    ] {
        let err = bdl.fetch(Sport::Nba, &q).await.unwrap_err();
        assert!(
            matches!(&err, nt_fantasy::FantasyError::Invalid { field: f, .. } if f == field),
            "{err}"
        );
    }
    let err = bdl
        .fetch(Sport::Nfl, &query(&["2024-12-25"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nba"), "{err}");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn requests_are_spaced_to_the_rate_limit() {
    let fake = Arc::new(Fake::default());
    let base = start_fake(fake.clone()).await;
    // 300 per minute: 200 ms between requests; two pages take at least 200 ms.
    let bdl = client(&base, KEY, 300);
    let started = Instant::now();
    bdl.fetch(Sport::Nba, &query(&["2024-12-25"]))
        .await
        .unwrap();
    assert_eq!(fake.requests.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
}

async fn ctx_store() -> (Store, ToolCtx) {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let mut all = core_migrations();
    all.extend(nt_fantasy::migrations());
    store.migrate(&all).await.unwrap();
    let mut ctx = ToolCtx::new(store.clone())
        .with_clock(Arc::new(ManualClock::new(1_735_000_000_000)))
        .with_caller(Caller::local());
    ctx.progress = Progress::recording();
    ctx.variant = Arc::from("fantasy");
    (store, ctx)
}

#[tokio::test]
async fn import_stats_pulls_a_week_through_the_provider() {
    let fake = Arc::new(Fake::default());
    let base = start_fake(fake.clone()).await;
    let (store, ctx) = ctx_store().await;

    // Without a provider the tool says how to configure one.
    let plain = FantasyBundle::new(&BundleSettings::default()).unwrap();
    if std::env::var("BALLDONTLIE_API_KEY").is_err() {
        let err = Arc::new(plain.clone())
            .routes()
            .call(
                "fantasy_import_stats",
                json!({"sport": "nba", "format": "provider", "dates": ["2024-12-25"], "week": 9}),
                ctx.clone(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ToolErrorKind::Refused);
        assert!(
            err.hint
                .as_deref()
                .unwrap_or("")
                .contains("BALLDONTLIE_API_KEY"),
            "{err:?}"
        );
    }

    let bundle = plain.with_stats_provider(Arc::new(client(&base, KEY, 60_000)));
    assert!(
        bundle
            .venues()
            .iter()
            .any(|v| v.name == "balldontlie" && v.mode == VenueMode::Live)
    );
    let router = Arc::new(bundle.clone()).routes();
    let out = router
        .call(
            "fantasy_import_stats",
            json!({"sport": "nba", "format": "provider", "dates": ["2024-12-25", "2024-12-27"], "week": 9}),
            ctx.clone(),
        )
        .await
        .unwrap();
    assert_eq!(out.structured["source"], "balldontlie");
    assert_eq!(out.structured["counts"]["stat_lines"], 2);
    assert!(out.text.contains("Left out"), "{}", out.text);
    let stats: String = sqlx::query_scalar(
        "SELECT stats FROM fantasy_player_stats WHERE player_id = 'nba-bdl-246' AND season = 2024 AND week = 9",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["pts"], "40");
    let source: String =
        sqlx::query_scalar("SELECT source FROM fantasy_players WHERE id = 'nba-bdl-300'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(source, "balldontlie");
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE tool = 'fantasy_import_stats' AND detail LIKE '%balldontlie%'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(n, 1, "the import is audited");
    // The provider's failure reaches the agent as an upstream error.
    let err = router
        .call(
            "fantasy_import_stats",
            json!({"sport": "nba", "format": "provider", "dates": ["2024-02-30"], "week": 9}),
            ctx.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Upstream);
    assert!(
        err.message.contains("dates[] must be valid dates"),
        "{}",
        err.message
    );
    // Bad tool input names the field.
    let err = router
        .call(
            "fantasy_import_stats",
            json!({"sport": "nba", "format": "provider", "dates": ["xmas"], "week": 9}),
            ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("dates[0]"), "{err:?}");
}
