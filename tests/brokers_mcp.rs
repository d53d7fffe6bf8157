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

    // One audit row per call: the two placements (the second a repeat)
    // wrote theirs with the order, the refusal and the bad input through
    // the server, each with its outcome.
    let rows = audit_rows(&db.url, "broker_place_order").await;
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        outcomes,
        ["ok", "ok", "error:refused", "error:invalid_input"],
        "{rows:?}"
    );
    assert_eq!(rows[0].2, rows[1].2, "same arguments, same digest");
    assert_ne!(rows[0].2, rows[2].2);

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

/// The emergency kill rule read from the environment the risk bundle
/// reads (`NT_KILL_MAX_CONSECUTIVE_LOSSES`): after one losing closed trade
/// the dry-run check shows `kill_rule` failing, a buy is refused by it, and
/// a sell closing the rest of the position still fills.
#[tokio::test]
async fn the_kill_rule_stops_buys_after_losses_but_not_closing_sells() {
    let db = temp_db();
    let client = stdio_client_with_env(
        &["serve", "--variant", "enhanced", "--db", &db.url],
        &[("NT_KILL_MAX_CONSECUTIVE_LOSSES", "1".to_string())],
    )
    .await;
    let order = |id: &str, side: &str, qty: &str| json!({"client_order_id": id, "symbol": "SHOP.TO", "side": side, "qty": qty});
    let price = |p: &str| json!({"symbol": "SHOP.TO", "price": p});
    call(&client, "broker_paper_set_price", price("100")).await;
    let buy = call(&client, "broker_place_order", order("k-1", "buy", "10")).await;
    assert!(!is_error(&buy), "{}", text(&buy));
    call(&client, "broker_paper_set_price", price("90")).await;
    let sell = call(&client, "broker_place_order", order("k-2", "sell", "5")).await;
    assert!(!is_error(&sell), "{}", text(&sell));

    let dry = call(&client, "compliance_check_order", order("k-3", "buy", "1")).await;
    assert!(
        text(&dry).contains("would be refused by: kill_rule")
            && text(&dry).contains("1 losing periods in a row (limit 1)"),
        "{}",
        text(&dry)
    );
    let refused = call(&client, "broker_place_order", order("k-3", "buy", "1")).await;
    assert!(
        is_error(&refused) && text(&refused).contains("refused by rule `kill_rule`"),
        "{}",
        text(&refused)
    );
    let close = call(&client, "broker_place_order", order("k-4", "sell", "5")).await;
    assert!(!is_error(&close), "{}", text(&close));
    assert_eq!(structured(&close)["order"]["status"], json!("filled"));
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

/// Issue 9, items 1 and 7, through the real binary on the paper broker:
/// 10 SHOP.TO bought, then a plain `sell` of 15. The old checks let it
/// through (only `sell_short` was a short sale) and the paper venue
/// refused it by its own `position` rule; now the compliance refusal names
/// `short_sale`, and with `reduce_to_position` the sell goes out as 10.
/// `compliance_rules` states the CIRO rules covered and not covered.
#[tokio::test]
async fn a_plain_sell_beyond_the_position_is_a_short_sale_and_the_ciro_rules_are_listed() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "enhanced", "--db", &db.url]).await;
    call(
        &client,
        "broker_paper_set_price",
        json!({"symbol": "SHOP.TO", "price": "100"}),
    )
    .await;
    let buy = call(
        &client,
        "broker_place_order",
        json!({"client_order_id": "ss-1", "symbol": "SHOP.TO", "side": "buy", "qty": "10"}),
    )
    .await;
    assert!(!is_error(&buy), "{}", text(&buy));
    let sell = json!({"client_order_id": "ss-2", "symbol": "SHOP.TO", "side": "sell", "qty": "15"});
    let refused = call(&client, "broker_place_order", sell.clone()).await;
    assert!(is_error(&refused));
    assert!(
        text(&refused).contains("refused by rule `short_sale`")
            && text(&refused).contains("would sell 5 short"),
        "{}",
        text(&refused)
    );
    let mut reduce = sell;
    reduce["client_order_id"] = json!("ss-3");
    reduce["reduce_to_position"] = json!(true);
    let sold = call(&client, "broker_place_order", reduce).await;
    assert!(!is_error(&sold), "{}", text(&sold));
    assert_eq!(structured(&sold)["order"]["qty"], json!("10"));
    assert_eq!(structured(&sold)["order"]["status"], json!("filled"));
    assert!(
        text(&sold).contains("reduced from 15 to 10"),
        "{}",
        text(&sold)
    );
    let positions = call(&client, "broker_positions", json!({})).await;
    assert_eq!(
        structured(&positions)["positions"].as_array().map(Vec::len),
        Some(0),
        "flat, not short"
    );

    let rules = call(&client, "compliance_rules", json!({})).await;
    let t = text(&rules);
    assert!(
        t.contains("max order value 1000000 CAD")
            && t.contains("CIRO rules implemented: UMIR 6.2")
            && t.contains("not covered: ")
            && t.contains("UMIR 5.3 (Client priority)"),
        "{t}"
    );
    let ciro = structured(&rules)["ciro"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        ciro.iter()
            .any(|r| r["rule"] == json!("UMIR 5.3") && r["coverage"] == json!("not_covered")),
        "{ciro:?}"
    );
    assert!(
        ciro.iter()
            .any(|r| r["rule"] == json!("UMIR 6.2") && r["coverage"] == json!("implemented"))
    );
    // The refusal and the marking of the reduced sell are in the audit trail.
    let export = call(&client, "audit_export", json!({"format": "csv"})).await;
    let csv = structured(&export)["csv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        csv.contains("check_failed")
            && csv.contains("would sell 5 short")
            && csv.contains("UMIR 6.2 designation: long sale")
            && csv.contains("reduced from 15 to 10"),
        "{csv}"
    );
    let verify = call(&client, "audit_verify", json!({})).await;
    assert_eq!(structured(&verify)["report"]["intact"], json!(true));
    client.cancel().await.expect("close");
}

/// Issue 9, item 6, through the real binary: the paper account's base
/// currency is CAD and the order-value limit is read in CAD. With daily
/// rates of 1.37 CAD per USD and 0.0092 CAD per JPY loaded for today:
/// - 5,000 AAPL at 200 USD = 1,000,000 USD = 1,370,000 CAD, over the
///   default 1,000,000 CAD limit (the old check compared 1,000,000 USD
///   with it and let it through);
/// - with a 20,000 CAD limit, 10,000 USD_JPY at 150 = 1,500,000 JPY =
///   13,800 CAD passes (the old check compared 1,500,000 JPY with it and
///   refused it).
#[tokio::test]
async fn the_order_value_limit_is_in_the_account_currency() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "enhanced", "--db", &db.url]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let today = nt_mcp_core::dates::format_date(nt_mcp_core::dates::day_of_ms(now));
    let loaded = call(
        &client,
        "tax_load_fx_rates",
        json!({"rates": [{"date": today, "currency": "USD", "rate": "1.37"},
                          {"date": today, "currency": "JPY", "rate": "0.0092"}]}),
    )
    .await;
    assert!(!is_error(&loaded), "{}", text(&loaded));
    for (symbol, price) in [("AAPL", "200"), ("USD_JPY", "150")] {
        call(
            &client,
            "broker_paper_set_price",
            json!({"symbol": symbol, "price": price}),
        )
        .await;
    }
    let aapl = call(
        &client,
        "compliance_check_order",
        json!({"client_order_id": "v-1", "symbol": "AAPL", "side": "buy", "qty": "5000",
               "order_type": "limit", "limit_price": "200"}),
    )
    .await;
    assert_eq!(
        structured(&aapl)["allowed"],
        json!(false),
        "{}",
        text(&aapl)
    );
    assert!(
        text(&aapl).contains("max_order_value: order value 1000000.00 USD = 1370000.00 CAD")
            && text(&aapl).contains("against a limit of 1000000 CAD"),
        "{}",
        text(&aapl)
    );
    call(
        &client,
        "compliance_rules",
        json!({"set": {"max_order_value": "20000"}}),
    )
    .await;
    let fx = call(
        &client,
        "compliance_check_order",
        json!({"client_order_id": "v-2", "symbol": "USD_JPY", "side": "buy", "qty": "10000",
               "order_type": "limit", "limit_price": "150"}),
    )
    .await;
    assert_eq!(structured(&fx)["allowed"], json!(true), "{}", text(&fx));
    let max = structured(&fx)["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["rule"] == json!("max_order_value"))
        .cloned()
        .expect("max");
    assert!(
        max["detail"]
            .as_str()
            .is_some_and(|d| d.contains("1500000.00 JPY = 13800.00 CAD")),
        "{max}"
    );
    client.cancel().await.expect("close");
}
