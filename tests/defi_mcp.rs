//! The DeFi bundle through the real binary and a real MCP client over stdio:
//! the `defi` variant on the bundled Beefy snapshot (answers say `source:
//! snapshot`), paper deposits booked once per client id and kept across a
//! restart, bad input naming its field, sending refused without a key and
//! live trading, the bundle in `integrated`, and `BEEFY_API_URL` pointing
//! the server at a local fake Beefy API (answers say `source: api`).

mod common;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use common::*;
use nt_defi::beefy::{Endpoint, snapshot};
use serde_json::json;

#[tokio::test]
async fn defi_variant_on_the_snapshot_with_a_paper_ledger() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "defi", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in [
        "defi_chains",
        "defi_vaults",
        "defi_vault",
        "defi_apy_breakdown",
        "defi_position",
        "defi_build_deposit",
        "defi_build_withdraw",
        "defi_rank_vaults",
        "defi_allocate",
        "defi_impermanent_loss",
        "defi_paper_deposit",
        "defi_paper_withdraw",
    ] {
        assert!(names.contains(&t), "missing {t}: {names:?}");
    }
    let info = call(&client, "server_info", json!({})).await;
    assert_eq!(
        structured(&info)["venues"]["defi"][0]["name"],
        json!("beefy-snapshot")
    );
    assert_eq!(
        structured(&info)["venues"]["defi"][0]["mode"],
        json!("simulated")
    );

    let ranked = call(&client, "defi_rank_vaults", json!({"limit": 5})).await;
    assert!(!is_error(&ranked), "{}", text(&ranked));
    assert!(
        text(&ranked).contains("source: snapshot"),
        "{}",
        text(&ranked)
    );
    assert_eq!(structured(&ranked)["source"], json!("snapshot"));
    assert_eq!(
        structured(&ranked)["ranked"]
            .as_array()
            .expect("ranked")
            .len(),
        5
    );

    let deposit =
        json!({"vault_id": "morpho-base-usdc", "amount": "500", "client_id": "mcp-dep-1"});
    let first = call(&client, "defi_paper_deposit", deposit.clone()).await;
    assert!(!is_error(&first), "{}", text(&first));
    let second = call(&client, "defi_paper_deposit", deposit).await;
    assert_eq!(structured(&second)["fill"]["replayed"], json!(true));
    assert_eq!(
        structured(&first)["fill"]["shares"],
        structured(&second)["fill"]["shares"]
    );

    let bad = call(&client, "defi_allocate", json!({"budget_usd": "lots"})).await;
    assert!(is_error(&bad));
    assert_eq!(structured(&bad)["error"]["field"], json!("budget_usd"));
    let send = call(
        &client,
        "defi_send_transaction",
        json!({"vault_id": "morpho-base-usdc", "action": "deposit", "amount": "1", "confirm": true}),
    )
    .await;
    assert!(is_error(&send), "{}", text(&send));
    let build = call(
        &client,
        "defi_build_deposit",
        json!({"vault_id": "morpho-base-usdc", "amount": "1"}),
    )
    .await;
    assert!(!is_error(&build), "{}", text(&build));
    assert_eq!(
        structured(&build)["calls"][1]["call"]["selector"],
        json!("0xb6b55f25")
    );
    client.cancel().await.expect("close");

    // The deposit was booked once, audited, and survives a restart.
    let rows = audit_rows(&db.url, "defi_paper_deposit").await;
    assert_eq!(
        rows.iter().filter(|r| r.1 == "defi_paper_deposit").count(),
        1,
        "{rows:?}"
    );
    let again = stdio_client(&["serve", "--variant", "defi", "--db", &db.url]).await;
    let pos = call(
        &again,
        "defi_position",
        json!({"vault_id": "morpho-base-usdc"}),
    )
    .await;
    assert!(!is_error(&pos), "{}", text(&pos));
    let shares = structured(&pos)["positions"][0]["shares"].clone();
    assert_eq!(shares, structured(&first)["fill"]["shares"]);
    again.cancel().await.expect("close");
}

#[tokio::test]
async fn integrated_hosts_defi_and_the_api_url_switches_the_source() {
    let client = stdio_client(&[
        "serve",
        "--variant",
        "integrated",
        "--db",
        "sqlite::memory:",
    ])
    .await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "defi_allocate"));
    client.cancel().await.expect("close");

    let app = Router::new().route(
        "/{*path}",
        get(|Path(path): Path<String>| async move {
            let path = format!("/{path}");
            match Endpoint::ALL.iter().find(|e| e.path() == path) {
                Some(e) => (StatusCode::OK, snapshot::body(*e).to_string()),
                None => (StatusCode::NOT_FOUND, "{}".to_string()),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = stdio_client_with_env(
        &["serve", "--variant", "defi", "--db", "sqlite::memory:"],
        &[("BEEFY_API_URL", format!("http://{addr}"))],
    )
    .await;
    let vault = call(
        &client,
        "defi_vault",
        json!({"vault_id": "curve-arb-usdc-usdt"}),
    )
    .await;
    assert!(!is_error(&vault), "{}", text(&vault));
    assert_eq!(structured(&vault)["source"], json!("api"));
    assert!(
        text(&vault).starts_with("venue: beefy-api"),
        "{}",
        text(&vault)
    );
    client.cancel().await.expect("close");
}
