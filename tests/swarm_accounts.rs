//! Per-caller accounts over HTTP: with `[accounts] per_caller = true`, 16
//! agents with their own tokens work at once and each gets its own paper
//! broker account and local-CLOB wallet: the same client order id places one
//! order per agent, positions and balances never mix, and nobody can cancel
//! another agent's order. Without the switch, callers share one account.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const SECRET: &str = "swarm-accounts-secret-swarm-accounts-secret";

fn token(sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "exp": now + 600, "scope": "read trade"}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode")
}

fn manifest(per_caller: bool) -> String {
    format!(
        "name = \"swarm\"\nbundles = [\"brokers\", \"polymarket\"]\n\
         [limits]\ncalls_per_minute = 0\n\
         [auth]\nmode = \"jwt\"\nalgorithms = [\"HS256\"]\n\
         [accounts]\nper_caller = {per_caller}\n"
    )
}

fn shares(positions: &Value, symbol: &str) -> String {
    positions["positions"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["symbol"] == json!(symbol)))
        .map(|p| p["qty"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| "0".into())
}

#[tokio::test]
async fn sixteen_agents_each_trade_on_their_own_accounts() {
    let db = temp_db();
    let path = write_manifest(db.dir.path(), "swarm", &manifest(true));
    let server = http_server(
        &["serve", "--manifest", &path, "--db", &db.url],
        &[("NT_JWT_SECRET", SECRET)],
    )
    .await;
    let url = server.url.clone();

    let mut agents = Vec::new();
    for i in 0..16usize {
        let url = url.clone();
        agents.push(tokio::spawn(async move {
            let name = format!("agent-{i}");
            let client = http_client(&url, Some(&token(&name))).await.expect("connect");
            // The same client order id for every agent: one order each.
            let qty = (i + 1).to_string();
            let placed = call(
                &client,
                "broker_place_order",
                json!({"client_order_id": "swarm-1", "symbol": "SHOP.TO", "side": "buy", "qty": qty}),
            )
            .await;
            assert!(!is_error(&placed), "{name}: {}", text(&placed));
            assert_eq!(structured(&placed)["new"], json!(true), "{name}");
            let pm = call(
                &client,
                "polymarket_place_order",
                json!({"market": "fed-cut-next-fomc", "outcome": "YES", "side": "BUY",
                       "price": "0.40", "size": "10", "client_order_id": "swarm-pm"}),
            )
            .await;
            assert!(!is_error(&pm), "{name}: {}", text(&pm));
            let pm_id = structured(&pm)["order"]["order_id"]
                .as_str()
                .expect("order id")
                .to_string();
            (name, client, qty, pm_id)
        }));
    }
    let mut done = Vec::new();
    for agent in agents {
        done.push(agent.await.expect("agent"));
    }
    for (i, (name, client, qty, _)) in done.iter().enumerate() {
        let positions = structured(&call(client, "broker_positions", json!({})).await);
        assert_eq!(shares(&positions, "SHOP.TO"), *qty, "{name}: {positions}");
        let orders = structured(&call(client, "broker_orders", json!({})).await);
        assert_eq!(
            orders["orders"].as_array().map(Vec::len),
            Some(1),
            "{name}: {orders}"
        );
        let pm = structured(&call(client, "polymarket_open_orders", json!({})).await);
        assert_eq!(
            pm["orders"].as_array().map(Vec::len),
            Some(1),
            "{name}: {pm}"
        );
        // The audit export shows the agent's own trail only, and it is not
        // empty (its order, its fill).
        let trail = structured(&call(client, "audit_export", json!({"limit": 5000})).await);
        let rows = trail["rows"].as_array().expect("rows");
        assert!(rows.len() >= 2, "{name}: {trail}");
        let own = format!("paper-1/{name}");
        assert!(
            rows.iter().all(|r| r["account_id"] == json!(own)),
            "{name} sees other accounts' audit rows: {trail}"
        );
        let wallet = structured(&call(client, "polymarket_positions", json!({})).await);
        assert_eq!(wallet["account"], json!(name), "{wallet}");
        // Nobody can cancel the next agent's Polymarket order.
        let other = &done[(i + 1) % done.len()].3;
        let refused = call(
            client,
            "polymarket_cancel_order",
            json!({"order_ids": [other]}),
        )
        .await;
        assert!(is_error(&refused), "{name} cancelled another agent's order");
    }
    for (_, client, _, _) in done {
        client.cancel().await.expect("close");
    }
}

#[tokio::test]
async fn without_the_switch_callers_share_one_account() {
    let db = temp_db();
    let path = write_manifest(db.dir.path(), "shared", &manifest(false));
    let server = http_server(
        &["serve", "--manifest", &path, "--db", &db.url],
        &[("NT_JWT_SECRET", SECRET)],
    )
    .await;
    let a = http_client(&server.url, Some(&token("a")))
        .await
        .expect("a");
    let b = http_client(&server.url, Some(&token("b")))
        .await
        .expect("b");
    let order =
        json!({"client_order_id": "shared-1", "symbol": "SHOP.TO", "side": "buy", "qty": "3"});
    let first = call(&a, "broker_place_order", order.clone()).await;
    assert_eq!(structured(&first)["new"], json!(true), "{}", text(&first));
    let again = call(&b, "broker_place_order", order).await;
    assert_eq!(structured(&again)["new"], json!(false), "{}", text(&again));
    let positions = structured(&call(&b, "broker_positions", json!({})).await);
    assert_eq!(shares(&positions, "SHOP.TO"), "3", "{positions}");
    a.cancel().await.expect("close");
    b.cancel().await.expect("close");
}

#[tokio::test]
async fn over_stdio_the_account_flag_names_the_caller() {
    let db = temp_db();
    let path = write_manifest(db.dir.path(), "stdio", &manifest(true));
    let alice = stdio_client(&[
        "serve",
        "--manifest",
        &path,
        "--db",
        &db.url,
        "--account",
        "alice",
    ])
    .await;
    let placed = call(
        &alice,
        "broker_place_order",
        json!({"client_order_id": "a-1", "symbol": "SHOP.TO", "side": "buy", "qty": "2"}),
    )
    .await;
    assert!(!is_error(&placed), "{}", text(&placed));
    alice.cancel().await.expect("close");
    let bob = stdio_client(&[
        "serve",
        "--manifest",
        &path,
        "--db",
        &db.url,
        "--account",
        "bob",
    ])
    .await;
    let positions = structured(&call(&bob, "broker_positions", json!({})).await);
    assert_eq!(shares(&positions, "SHOP.TO"), "0", "{positions}");
    bob.cancel().await.expect("close");
    let alice = stdio_client(&[
        "serve",
        "--manifest",
        &path,
        "--db",
        &db.url,
        "--account",
        "alice",
    ])
    .await;
    let positions = structured(&call(&alice, "broker_positions", json!({})).await);
    assert_eq!(shares(&positions, "SHOP.TO"), "2", "{positions}");
    alice.cancel().await.expect("close");
}
