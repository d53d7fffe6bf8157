//! The brokers bundle through the real binary and a real MCP client, on the
//! paper broker: idempotent orders that survive a restart, compliance
//! refusals naming their rule, the hash-chained audit trail, and the
//! integrated variant hosting every bundle.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn paper_orders_are_idempotent_compliant_audited_and_survive_restart() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "enhanced", "--db", &db.url]).await;
    let info = call(&client, "server_info", json!({})).await;
    let venues = &structured(&info)["venues"]["brokers"];
    assert_eq!(venues[0]["mode"], json!("paper"), "{venues}");

    let pinned = call(
        &client,
        "broker_paper_set_price",
        json!({"symbol": "SHOP.TO", "price": "100"}),
    )
    .await;
    assert!(!is_error(&pinned), "{}", text(&pinned));
    let order =
        json!({"client_order_id": "bin-1", "symbol": "SHOP.TO", "side": "buy", "qty": "10"});
    let first = call(&client, "broker_place_order", order.clone()).await;
    assert!(!is_error(&first), "{}", text(&first));
    assert!(text(&first).starts_with("venue: paper"), "{}", text(&first));
    let again = call(&client, "broker_place_order", order).await;
    assert_eq!(structured(&again)["new"], json!(false));
    assert_eq!(
        structured(&again)["order"]["id"],
        structured(&first)["order"]["id"]
    );

    let too_big = call(
        &client,
        "broker_place_order",
        json!({"client_order_id": "bin-2", "symbol": "SHOP.TO", "side": "buy", "qty": "20000"}),
    )
    .await;
    assert!(is_error(&too_big));
    assert!(
        text(&too_big).contains("max_order_value"),
        "{}",
        text(&too_big)
    );
    let bad = call(
        &client,
        "broker_place_order",
        json!({"client_order_id": "bin-3", "symbol": "SHOP.TO", "side": "buy", "qty": "ten"}),
    )
    .await;
    assert_eq!(structured(&bad)["error"]["field"], json!("qty"));
    client.cancel().await.expect("close");

    // A new process on the same file: the position and the audit chain are there.
    let client = stdio_client(&["serve", "--variant", "enhanced", "--db", &db.url]).await;
    let positions = call(&client, "broker_positions", json!({})).await;
    let held = structured(&positions).to_string();
    assert!(held.contains("SHOP.TO"), "{held}");
    let verify = call(&client, "audit_verify", json!({})).await;
    assert_eq!(
        structured(&verify)["report"]["intact"],
        json!(true),
        "{}",
        text(&verify)
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn the_integrated_variant_hosts_every_bundle() {
    let client = stdio_client(&["serve", "--db", "sqlite::memory:"]).await;
    let info = call(&client, "server_info", json!({})).await;
    let bundles = structured(&info)["bundles"].clone();
    for name in ["system", "brokers", "fantasy", "polymarket", "diagnostics"] {
        assert!(
            bundles.as_array().expect("bundles").contains(&json!(name)),
            "{bundles}"
        );
    }
    assert_eq!(structured(&info)["live_trading"], json!(false));
    let tools = client.list_all_tools().await.expect("tools/list");
    for prefix in ["broker_", "fantasy_", "polymarket_", "job_"] {
        assert!(
            tools.iter().any(|t| t.name.starts_with(prefix)),
            "no {prefix} tools"
        );
    }
    client.cancel().await.expect("close");
}
