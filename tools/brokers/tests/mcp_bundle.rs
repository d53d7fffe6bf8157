//! The bundle through a real rmcp client over an in-memory pipe: every
//! answer names its venue, a retried order places once, compliance refusals
//! name the rule, the audit chain verifies and exports, tax reports come
//! from the audited fills.

mod support;
use support::pg;

use serde_json::{Value, json};
use support::mcp::{body, call, connect, text};

#[tokio::test]
async fn paper_trading_compliance_audit_and_tax_over_mcp_sqlite() {
    paper_trading_compliance_audit_and_tax_over_mcp("sqlite::memory:").await;
}

#[tokio::test]
async fn paper_trading_compliance_audit_and_tax_over_mcp_postgres() {
    let Some(schema) = pg::schema("paper_trading_compliance_audit_and_tax_over_mcp_postgres").await
    else {
        return;
    };
    paper_trading_compliance_audit_and_tax_over_mcp(&schema.url).await;
    schema.drop_schema().await;
}

async fn paper_trading_compliance_audit_and_tax_over_mcp(url: &str) {
    let c = connect(url, "").await;
    let tools = c.list_all_tools().await.expect("tools");
    for name in [
        "broker_list",
        "broker_account",
        "broker_positions",
        "broker_quote",
        "broker_candles",
        "broker_place_order",
        "broker_cancel_order",
        "broker_orders",
        "broker_executions",
        "compliance_check_order",
        "compliance_rules",
        "audit_verify",
        "audit_export",
        "tax_acb",
        "tax_report_t5008",
    ] {
        assert!(tools.iter().any(|t| t.name == name), "{name}");
    }
    let list = call(&c, "broker_list", json!({})).await;
    assert_eq!(body(&list)["brokers"][0]["name"], "paper");
    // The guide and the tax rules are resources; the workflows are prompts.
    let uris: Vec<String> = c
        .list_all_resources()
        .await
        .expect("resources/list")
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    assert!(
        uris.iter().any(|u| u == "brokers://tool-guide")
            && uris.iter().any(|u| u == "brokers://canadian-tax"),
        "{uris:?}"
    );
    let tax = c
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "brokers://canadian-tax",
        ))
        .await
        .expect("resources/read");
    assert!(format!("{:?}", tax.contents).contains("Superficial loss"));
    let prompt = c
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("brokers_place_order_safely").with_arguments(
                serde_json::from_value(json!({"symbol": "SHOP.TO", "side": "buy", "qty": "5"}))
                    .expect("args"),
            ),
        )
        .await
        .expect("prompts/get");
    let rendered = format!("{:?}", prompt.messages);
    assert!(
        rendered.contains("compliance_check_order") && rendered.contains("buy 5 SHOP.TO"),
        "{rendered}"
    );
    // Candles: the text names the range and shows the last bars.
    let bars = call(
        &c,
        "broker_candles",
        json!({"symbol": "shop.to", "count": 3}),
    )
    .await;
    let t = text(&bars);
    assert!(t.contains("3 bars of SHOP.TO, "), "{t}");
    assert_eq!(t.matches(" O ").count(), 3, "{t}");
    assert_eq!(body(&bars)["candles"].as_array().map(Vec::len), Some(3));

    let r = call(
        &c,
        "broker_paper_set_price",
        json!({"symbol": "SHOP.TO", "price": "100"}),
    )
    .await;
    assert!(text(&r).starts_with("venue: paper"), "{}", text(&r));
    let order = json!({"client_order_id": "m-1", "symbol": "SHOP.TO", "side": "buy", "qty": "10"});
    let first = call(&c, "broker_place_order", order.clone()).await;
    assert!(
        text(&first).starts_with("venue: paper (paper)"),
        "{}",
        text(&first)
    );
    assert_eq!(body(&first)["order"]["status"], "filled");
    let again = call(&c, "broker_place_order", order).await;
    assert_eq!(body(&again)["new"], false);
    assert_eq!(body(&again)["order"]["id"], body(&first)["order"]["id"]);
    let fills = call(&c, "broker_executions", json!({})).await;
    assert_eq!(body(&fills)["executions"].as_array().map(Vec::len), Some(1));
    // The texts list what they count: the order with its fill, the
    // position, the execution.
    let orders = text(&call(&c, "broker_orders", json!({})).await);
    assert!(
        orders.contains("(m-1) buy 10 SHOP.TO market day: filled 10 at "),
        "{orders}"
    );
    let positions = text(&call(&c, "broker_positions", json!({})).await);
    assert!(positions.contains("\n- SHOP.TO 10 @ "), "{positions}");
    assert!(
        text(&fills).contains(" buy 10 SHOP.TO at "),
        "{}",
        text(&fills)
    );

    // Bad input names the field; compliance refusals name the rule.
    let bad = call(
        &c,
        "broker_place_order",
        json!({"client_order_id": "m-2", "symbol": "SHOP.TO", "side": "buy", "qty": "-1"}),
    )
    .await;
    assert_eq!(body(&bad)["error"]["field"], "qty");
    let big = call(
        &c,
        "broker_place_order",
        json!({"client_order_id": "m-3", "symbol": "SHOP.TO", "side": "buy", "qty": "20000"}),
    )
    .await;
    assert!(text(&big).contains("max_order_value"), "{}", text(&big));
    let band = call(&c, "compliance_check_order", json!({"client_order_id": "m-4", "symbol": "SHOP.TO", "side": "buy", "qty": "1", "order_type": "limit", "limit_price": "50"})).await;
    assert_eq!(body(&band)["allowed"], false);
    assert!(text(&band).contains("price_band"), "{}", text(&band));
    call(
        &c,
        "compliance_rules",
        json!({"set": {"restricted_symbols": ["AC.TO"], "allow_short": false}}),
    )
    .await;
    let restricted = call(
        &c,
        "broker_place_order",
        json!({"client_order_id": "m-5", "symbol": "ac.to", "side": "buy", "qty": "1"}),
    )
    .await;
    assert!(
        text(&restricted).contains("restricted_symbol"),
        "{}",
        text(&restricted)
    );
    let short = call(
        &c,
        "broker_place_order",
        json!({"client_order_id": "m-6", "symbol": "RY.TO", "side": "sell_short", "qty": "1"}),
    )
    .await;
    assert!(text(&short).contains("short_sale"), "{}", text(&short));
    // Wash trade: a resting sell at 101, then a buy limit at 102 would cross it.
    let rest = call(&c, "broker_place_order", json!({"client_order_id": "m-7", "symbol": "SHOP.TO", "side": "sell", "qty": "5", "order_type": "limit", "limit_price": "101", "time_in_force": "gtc"})).await;
    assert_eq!(body(&rest)["order"]["status"], "open");
    let wash = call(&c, "broker_place_order", json!({"client_order_id": "m-8", "symbol": "SHOP.TO", "side": "buy", "qty": "5", "order_type": "limit", "limit_price": "102"})).await;
    assert!(text(&wash).contains("wash_trade"), "{}", text(&wash));
    let cancel = call(&c, "broker_cancel_order", json!({"order_id": "m-7"})).await;
    assert_eq!(body(&cancel)["order"]["status"], "cancelled");

    let verify = call(&c, "audit_verify", json!({})).await;
    assert_eq!(body(&verify)["report"]["intact"], true);
    let export = call(&c, "audit_export", json!({"format": "csv"})).await;
    let csv = body(&export)["csv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        csv.contains("check_failed") && csv.contains("fill"),
        "{csv}"
    );

    let acb = call(&c, "tax_acb", json!({})).await;
    assert_eq!(body(&acb)["report"]["holdings"][0]["symbol"], "SHOP.TO");
    let t5008 = call(&c, "tax_report_t5008", json!({"year": 2024, "pdf": true, "trades": [
        {"date": "2024-01-02", "symbol": "ABC", "side": "buy", "qty": "100", "price": "6", "commission": "17"},
        {"date": "2024-06-03", "symbol": "ABC", "side": "sell", "qty": "100", "price": "10", "commission": "25"}]})).await;
    let taxable = body(&t5008)["schedule3"]["taxable_capital_gain"]
        .as_str()
        .and_then(|s| s.parse::<rust_decimal::Decimal>().ok());
    assert_eq!(taxable, Some(rust_decimal::Decimal::from(179)));
    assert!(
        body(&t5008)["pdf_base64"]
            .as_str()
            .is_some_and(|p| p.starts_with("JVBERi0"))
    );
    c.cancel().await.expect("close");
}

/// Issue 9 item 2 over MCP, the worked example: 100 held at $10; day 1 sell
/// 50 at $8; day 2 sell 50 at $12; day 10 buy 50 at $8. The day-1 loss of
/// $100 is superficial and goes to the ACB of the 50 bought on day 10, so
/// `tax_acb` shows gains 0 and +$100 and a final ACB of $500, and
/// `tax_report_t5008` a denied total of $100 (the old engine: 0, 0, $400).
#[tokio::test]
async fn tax_tools_over_mcp_put_the_superficial_loss_on_the_repurchased_shares() {
    let c = connect("sqlite::memory:", "").await;
    let trades = json!([
        {"date": "2025-01-02", "symbol": "ABC", "side": "buy", "qty": "100", "price": "10"},
        {"date": "2025-03-03", "symbol": "ABC", "side": "sell", "qty": "50", "price": "8"},
        {"date": "2025-03-04", "symbol": "ABC", "side": "sell", "qty": "50", "price": "12"},
        {"date": "2025-03-12", "symbol": "ABC", "side": "buy", "qty": "50", "price": "8"}
    ]);
    let amount = |v: &Value| {
        v.as_str()
            .and_then(|s| s.parse::<rust_decimal::Decimal>().ok())
            .unwrap_or_else(|| panic!("not an amount: {v}"))
    };
    let acb = call(&c, "tax_acb", json!({"trades": trades})).await;
    let report = &body(&acb)["report"];
    let gains: Vec<_> = report["dispositions"]
        .as_array()
        .expect("dispositions")
        .iter()
        .map(|d| amount(&d["gain"]))
        .collect();
    assert_eq!(
        gains,
        [
            rust_decimal::Decimal::ZERO,
            rust_decimal::Decimal::from(100)
        ],
        "{}",
        text(&acb)
    );
    assert_eq!(
        amount(&report["dispositions"][0]["superficial_loss_denied"]),
        rust_decimal::Decimal::from(100)
    );
    assert_eq!(
        report["dispositions"][0]["substituted_property"][0]["trade_date"],
        "2025-03-12"
    );
    assert_eq!(
        amount(&report["holdings"][0]["acb"]),
        rust_decimal::Decimal::from(500)
    );
    let t5008 = call(
        &c,
        "tax_report_t5008",
        json!({"year": 2025, "trades": trades}),
    )
    .await;
    let s3 = &body(&t5008)["schedule3"];
    assert_eq!(
        (
            amount(&s3["superficial_losses_denied"]),
            amount(&s3["net_gain"])
        ),
        (
            rust_decimal::Decimal::from(100),
            rust_decimal::Decimal::from(100)
        ),
        "{}",
        text(&t5008)
    );
    let csv = body(&t5008)["t5008_csv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        csv.contains("2025,2025-03-03,2025-03-04,ABC,50,CAD,500.00,400.00,0.00,0.00,100.00"),
        "{csv}"
    );
    c.cancel().await.expect("close");
}
