//! The real binary over stdio with rmcp's client: initialize, list, call,
//! bad input then a good call on the same session, resources, prompts,
//! progress, and the audit rows the calls leave.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn stdio_session_lists_calls_and_survives_bad_input() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--db", &db.url]).await;

    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().expect("serverInfo").name,
        "neural-trader-mcp"
    );
    assert!(
        info.instructions
            .as_deref()
            .unwrap_or("")
            .contains("server_info")
    );

    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "ping",
        "server_info",
        "job_status",
        "job_cancel",
        "job_list",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let ping = tools.iter().find(|t| t.name == "ping").expect("ping");
    assert_eq!(ping.input_schema.get("type"), Some(&json!("object")));

    let pong = call(&client, "ping", json!({"message": "hello"})).await;
    assert!(!is_error(&pong));
    assert_eq!(text(&pong), "pong: hello");
    assert_eq!(structured(&pong)["pong"], json!(true));

    // Wrong type: a tool error naming the field and the expected type.
    let bad = call(&client, "job_list", json!({"limit": "ten"})).await;
    assert!(is_error(&bad));
    let err = &structured(&bad)["error"];
    assert_eq!(err["field"], json!("limit"));
    assert_eq!(err["kind"], json!("invalid_input"));
    assert!(text(&bad).contains("expected u32"), "{}", text(&bad));

    // Missing field, and an unknown field.
    let missing = call(&client, "job_status", json!({})).await;
    assert!(is_error(&missing));
    assert_eq!(structured(&missing)["error"]["field"], json!("job_id"));
    let unknown = call(&client, "ping", json!({"mesage": "typo"})).await;
    assert!(is_error(&unknown));
    assert!(
        text(&unknown).contains("unknown field `mesage`"),
        "{}",
        text(&unknown)
    );

    // A rule broken inside a well-typed value.
    let out_of_range = call(&client, "job_list", json!({"limit": 0})).await;
    assert_eq!(structured(&out_of_range)["error"]["field"], json!("limit"));

    // An unknown tool is a protocol error, and the session stays usable.
    let unknown_tool = client.call_tool(params("no_such_tool", json!({}))).await;
    assert!(unknown_tool.is_err());
    let again = call(&client, "ping", json!({})).await;
    assert_eq!(text(&again), "pong");

    let info = call(&client, "server_info", json!({})).await;
    let s = structured(&info);
    assert_eq!(s["variant"], json!("integrated"));
    assert_eq!(s["live_trading"], json!(false));
    assert!(
        s["bundles"]
            .as_array()
            .expect("bundles")
            .contains(&json!("system"))
    );

    client.cancel().await.expect("close");

    // Every call left an audit row with its outcome.
    let rows = audit_rows(&db.url, "ping").await;
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(outcomes, vec!["ok", "error:invalid_input", "ok"]);
    assert!(rows.iter().all(|r| r.0 == "stdio" && r.2.len() == 64));
    let list_rows = audit_rows(&db.url, "job_list").await;
    assert_eq!(list_rows.len(), 2);
}

#[tokio::test]
async fn resources_and_progress_over_stdio() {
    let client = stdio_client(&["serve", "--db", "sqlite::memory:"]).await;
    let resources = client.list_all_resources().await.expect("resources/list");
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert!(
        uris.contains(&"jobs://recent") && uris.contains(&"server://info"),
        "{uris:?}"
    );
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new("server://info"))
        .await
        .expect("resources/read");
    let body = format!("{:?}", read.contents);
    assert!(body.contains("integrated"), "{body}");
    let prompts = client.list_all_prompts().await.expect("prompts/list");
    assert!(prompts.iter().any(|p| p.name == "explore_server"));
    let prompt = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("explore_server").with_arguments(
                serde_json::from_value(json!({"goal": "hedge my book"})).expect("args"),
            ),
        )
        .await
        .expect("prompts/get");
    let rendered = format!("{:?}", prompt.messages);
    assert!(
        rendered.contains("hedge my book") && rendered.contains("server_info"),
        "{rendered}"
    );

    // diag_long_running reports one progress notification per step.
    let handle = start_call(
        &client,
        "diag_long_running",
        json!({"duration_ms": 200, "steps": 4}),
    )
    .await;
    let response = handle.await_response().await.expect("response");
    let rmcp::model::ServerResult::CallToolResult(result) = response else {
        panic!("unexpected response {response:?}");
    };
    assert!(!is_error(&result), "{}", text(&result));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let progress = client.service().progress.lock().expect("lock").clone();
    let steps: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    assert_eq!(steps, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(progress.iter().all(|p| p.total == Some(4.0)));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn the_claude_optimized_variant_is_short_and_says_how_to_start() {
    let client = stdio_client(&[
        "serve",
        "--variant",
        "claude-optimized",
        "--db",
        "sqlite::memory:",
    ])
    .await;
    let info = client.peer_info().expect("server info");
    let instructions = info.instructions.clone().unwrap_or_default();
    assert!(
        instructions.starts_with("Start with server_info"),
        "{instructions}"
    );
    let tools = client.list_all_tools().await.expect("tools/list");
    // 16 chosen tools plus the 5 every variant has.
    assert_eq!(
        tools.len(),
        21,
        "{:?}",
        tools.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    for tool in tools
        .iter()
        .filter(|t| t.name.contains('_') && !t.name.starts_with("job_") && t.name != "server_info")
    {
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(description.len() < 130, "{}: {description}", tool.name);
    }
    // The short descriptions change what the agent reads, not what runs.
    let quote = call(&client, "broker_quote", json!({"symbol": "SHOP.TO"})).await;
    assert!(!is_error(&quote), "{}", text(&quote));
    client.cancel().await.expect("close");
}
