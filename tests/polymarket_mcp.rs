//! The Polymarket bundle through the real binary and a real MCP client, on
//! the embedded local CLOB: listing, idempotent orders that survive a
//! restart, bad input, arbitrage, resources and prompts, and the `trade`
//! scope over HTTP.

mod common;

use common::*;
use serde_json::{Value, json};

async fn first_yes_token(client: &Client) -> (String, String) {
    let markets = call(client, "polymarket_markets", json!({"limit": 10})).await;
    let list = structured(&markets)["markets"]
        .as_array()
        .expect("markets")
        .clone();
    let binary = list
        .iter()
        .find(|m| m["neg_risk"] == json!(false))
        .expect("a binary market");
    let token = binary["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["outcome"] == json!("YES"))
        .expect("YES token");
    (
        token["token_id"].as_str().expect("id").to_string(),
        binary["tick_size"].as_str().expect("tick").to_string(),
    )
}

#[tokio::test]
async fn orders_are_idempotent_persist_across_restart_and_say_their_venue() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "polymarket", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "polymarket_place_order"));

    let info = call(&client, "server_info", json!({})).await;
    assert_eq!(
        structured(&info)["venues"]["polymarket"][0]["mode"],
        json!("simulated")
    );

    let (token, _tick) = first_yes_token(&client).await;
    let order = json!({
        "token_id": token, "side": "BUY", "price": "0.05", "size": "10",
        "order_type": "GTC", "client_order_id": "it-order-1"
    });
    let first = call(&client, "polymarket_place_order", order.clone()).await;
    assert!(!is_error(&first), "{}", text(&first));
    assert!(text(&first).contains("venue: simulated"));
    let second = call(&client, "polymarket_place_order", order).await;
    assert!(!is_error(&second), "{}", text(&second));
    let id_of = |v: &Value| v["order"]["order_id"].clone();
    assert_eq!(
        id_of(&structured(&first)),
        id_of(&structured(&second)),
        "one order for one client id"
    );

    // Bad input names the field; the session stays usable.
    let bad = call(
        &client,
        "polymarket_place_order",
        json!({"token_id": token, "side": "SIDEWAYS", "price": "0.05", "size": "10"}),
    )
    .await;
    assert!(is_error(&bad));
    assert_eq!(structured(&bad)["error"]["field"], json!("side"));

    // The seeded neg-risk event's YES asks sum to 0.99: an arbitrage before
    // fees, none after the local CLOB's default taker fee (rate 0.04:
    // 0.04 x 0.6781 = 0.027 per set > 0.01).
    let arb = call(
        &client,
        "polymarket_find_arbitrage",
        json!({"fee_bps": "0"}),
    )
    .await;
    let opportunities = structured(&arb)["opportunities"]
        .as_array()
        .expect("list")
        .clone();
    assert!(
        opportunities
            .iter()
            .any(|o| o["kind"] == json!("neg_risk_buy_all")),
        "the seeded neg-risk event sums below 1: {opportunities:?}"
    );
    let arb = call(&client, "polymarket_find_arbitrage", json!({})).await;
    assert_eq!(
        structured(&arb)["opportunities"],
        json!([]),
        "{}",
        text(&arb)
    );

    // Fee of a taker fill: 100 shares at 0.50 pay 100 x 0.04 x 0.25 = 1 USDC
    // (the local CLOB's default schedule); the same fill as maker pays 0.
    let fee = call(
        &client,
        "polymarket_fee_estimate",
        json!({"token_id": token, "side": "BUY", "price": "0.5", "size": "100"}),
    )
    .await;
    assert!(!is_error(&fee), "{}", text(&fee));
    assert_eq!(structured(&fee)["estimate"]["platform_fee"], json!("1"));
    assert_eq!(structured(&fee)["estimate"]["total_fee"], json!("1"));
    let maker = call(
        &client,
        "polymarket_fee_estimate",
        json!({"token_id": token, "side": "BUY", "price": "0.5", "size": "100", "role": "maker"}),
    )
    .await;
    assert_eq!(structured(&maker)["estimate"]["platform_fee"], json!("0"));

    let resources = client.list_all_resources().await.expect("resources/list");
    assert!(resources.iter().any(|r| r.uri == "polymarket://glossary"));
    let prompts = client.list_all_prompts().await.expect("prompts/list");
    assert!(prompts.iter().any(|p| p.name.starts_with("polymarket")));
    client.cancel().await.expect("close");

    // A new process on the same database still has the order.
    let client = stdio_client(&["serve", "--variant", "polymarket", "--db", &db.url]).await;
    let open = call(&client, "polymarket_open_orders", json!({})).await;
    let orders = structured(&open)["orders"]
        .as_array()
        .expect("orders")
        .clone();
    assert_eq!(orders.len(), 1, "{}", text(&open));
    client.cancel().await.expect("close");

    // One row per call from the runtime, plus the bundle's own row for the
    // one order it created (the repeated client id created nothing).
    let rows = audit_rows(&db.url, "polymarket_place_order").await;
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "ok").count(),
        2,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == "error:invalid_input")
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(rows.len(), 4, "{outcomes:?}");
}

#[tokio::test]
async fn a_read_only_token_cannot_place_orders_over_http() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    const SECRET: &str = "polymarket-test-secret-0123456789abcdef";
    let db = temp_db();
    let manifest = write_manifest(
        db.dir.path(),
        "pm-jwt",
        "name = \"pm-jwt\"\nbundles = [\"polymarket\"]\n[auth]\nmode = \"jwt\"\n",
    );
    let server = http_server(
        &["serve", "--manifest", &manifest, "--db", &db.url],
        &[("NT_JWT_SECRET", SECRET)],
    )
    .await;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        + 600;
    let token = |scope: &str| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "reader", "exp": exp, "scope": scope}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode")
    };
    let reader = http_client(&server.url, Some(&token("read")))
        .await
        .expect("connect");
    let (token_id, _) = first_yes_token(&reader).await;
    let order = json!({"token_id": token_id, "side": "BUY", "price": "0.05", "size": "10", "client_order_id": "jwt-1"});
    let refused = call(&reader, "polymarket_place_order", order.clone()).await;
    assert!(is_error(&refused));
    assert!(
        text(&refused).contains("`trade` scope"),
        "{}",
        text(&refused)
    );
    reader.cancel().await.expect("close");

    let trader = http_client(&server.url, Some(&token("read trade")))
        .await
        .expect("connect");
    let placed = call(&trader, "polymarket_place_order", order).await;
    assert!(!is_error(&placed), "{}", text(&placed));
    trader.cancel().await.expect("close");
}

/// CLOB V2 through the real binary over stdio: a signed order equal to
/// py-clob-client-v2's (fixture case 4: POLY_1271 with a builder code,
/// signed by the owner key for the deposit wallet), the pUSD collateral
/// tool on the local CLOB, and V1 arguments refused by name.
#[tokio::test]
async fn clob_v2_orders_and_pusd_collateral_over_stdio() {
    let fx: Value = serde_json::from_str(include_str!(
        "../tools/polymarket/fixtures/signing_fixtures.json"
    ))
    .expect("fixtures");
    let case = &fx["orders"][4];
    assert_eq!(case["signature_type"], 3);
    let db = temp_db();
    let client = stdio_client_with_env(
        &["serve", "--variant", "polymarket", "--db", &db.url],
        &[
            (
                "POLYMARKET_PRIVATE_KEY",
                case["key"].as_str().expect("key").to_string(),
            ),
            ("POLYMARKET_SIGNATURE_TYPE", "3".to_string()),
            (
                "POLYMARKET_FUNDER",
                case["funder"].as_str().expect("funder").to_string(),
            ),
        ],
    )
    .await;
    let built = call(
        &client,
        "polymarket_build_order",
        json!({
            "token_id": case["asset"], "side": case["side"], "price": case["price"], "size": case["size"],
            "tick_size": case["tick_size"], "neg_risk": case["neg_risk"], "salt": case["salt"],
            "timestamp_ms": case["timestamp_ms"], "metadata": case["metadata"],
            "builder_code": case["builder"], "expiration": case["expiration"]
        }),
    )
    .await;
    assert!(!is_error(&built), "{}", text(&built));
    let s = structured(&built);
    assert_eq!(s["order"]["signature"], case["signature"]);
    assert_eq!(s["order"]["signer"], case["funder"]);
    assert_eq!(s["domain_version"], "2");
    assert!(text(&built).contains("CLOB V2"), "{}", text(&built));

    let v1 = call(
        &client,
        "polymarket_build_order",
        json!({"token_id": "1", "side": "BUY", "price": "0.5", "size": "10", "fee_rate_bps": 0}),
    )
    .await;
    assert!(is_error(&v1));
    assert!(text(&v1).contains("fee_rate_bps"), "{}", text(&v1));

    let status = call(&client, "polymarket_collateral", json!({})).await;
    assert!(!is_error(&status), "{}", text(&status));
    assert_eq!(structured(&status)["collateral"], "pUSD");
    assert!(text(&status).contains("venue: simulated"));
    let approvals = call(
        &client,
        "polymarket_collateral",
        json!({"action": "approvals"}),
    )
    .await;
    assert_eq!(
        structured(&approvals)["calls"].as_array().map(Vec::len),
        Some(12)
    );
    assert_eq!(structured(&approvals)["sent"], false);
    let bad = call(
        &client,
        "polymarket_collateral",
        json!({"action": "unwrap", "amount": "-3"}),
    )
    .await;
    assert!(is_error(&bad));
    assert!(text(&bad).contains("amount"), "{}", text(&bad));
}
