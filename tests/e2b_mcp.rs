//! The e2b bundle through the real binary and a real MCP client over
//! stdio: in `integrated` creating and running are off (reading templates
//! is not); in the `e2b` variant a client creates a local sandbox, runs a
//! command that prints over a few seconds while progress notifications
//! carrying its output arrive, reads a file the command wrote, kills the
//! sandbox (a run after that is refused), and a restart keeps the list.

mod common;

use common::*;
use serde_json::{Value, json};

async fn ok(client: &Client, name: &str, args: Value) -> Value {
    let result = call(client, name, args).await;
    assert!(!is_error(&result), "{name}: {}", text(&result));
    structured(&result)
}

#[tokio::test]
async fn integrated_hosts_e2b_with_creating_and_running_off() {
    let db = temp_db();
    let root = db.dir.path().join("boxes").display().to_string();
    let client = stdio_client_with_env(
        &["serve", "--variant", "integrated", "--db", &db.url],
        &[("E2B_LOCAL_ROOT", root)],
    )
    .await;
    let refused = call(&client, "sandbox_create", json!({})).await;
    assert!(is_error(&refused));
    assert!(
        text(&refused).contains("allow_local_exec"),
        "{}",
        text(&refused)
    );
    let templates = ok(&client, "template_list", json!({})).await;
    assert_eq!(templates["templates"].as_array().map(Vec::len), Some(5));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn create_run_with_progress_read_output_and_kill_over_stdio() {
    let db = temp_db();
    let root = db.dir.path().join("boxes").display().to_string();
    let args = ["serve", "--variant", "e2b", "--db", &db.url];
    let client = stdio_client_with_env(&args, &[("E2B_LOCAL_ROOT", root.clone())]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in [
        "sandbox_create",
        "sandbox_list",
        "sandbox_run",
        "sandbox_upload",
        "sandbox_download",
        "sandbox_kill",
        "sandbox_extend",
        "agent_run",
        "template_list",
        "template_show",
        "template_validate",
        "template_build",
        "template_deploy",
        "template_build_status",
    ] {
        assert!(names.contains(&t), "missing {t}: {names:?}");
    }

    let created = ok(
        &client,
        "sandbox_create",
        json!({"template": "base", "env": {"WHO": "mcp"}}),
    )
    .await;
    assert_eq!(created["venue"], "local");
    let id = created["sandbox"]["id"].as_str().expect("id").to_string();

    // A command that prints over ~2 s: the client sees progress while it runs.
    let handle = start_call(
        &client,
        "sandbox_run",
        json!({"sandbox_id": id, "command": "for i in 1 2 3; do echo step $i $WHO; sleep 0.7; done; echo done > out.txt", "timeout_secs": 30}),
    )
    .await;
    let response = handle.await_response().await.expect("run");
    let rmcp::model::ServerResult::CallToolResult(run) = response else {
        panic!("unexpected {response:?}");
    };
    assert!(!is_error(&run), "{}", text(&run));
    let body = structured(&run);
    assert_eq!(body["exit_code"], 0);
    assert_eq!(body["stdout"], "step 1 mcp\nstep 2 mcp\nstep 3 mcp\n");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let progress = client.service().progress.lock().expect("lock").clone();
    assert!(progress.len() >= 3, "{progress:?}");
    assert!(
        progress.windows(2).all(|w| w[0].progress <= w[1].progress),
        "progress never goes back"
    );
    assert!(progress.iter().all(|p| p.total == Some(30.0)));
    let messages: Vec<String> = progress.iter().filter_map(|p| p.message.clone()).collect();
    assert!(
        messages.iter().any(|m| m.contains("step 1 mcp")),
        "{messages:?}"
    );

    let file = ok(
        &client,
        "sandbox_download",
        json!({"sandbox_id": id, "path": "out.txt"}),
    )
    .await;
    assert_eq!(file["content"], "done\n");
    let escape = call(
        &client,
        "sandbox_download",
        json!({"sandbox_id": id, "path": "../state.db"}),
    )
    .await;
    assert!(
        is_error(&escape) && text(&escape).contains("refused"),
        "{}",
        text(&escape)
    );

    let listed = ok(&client, "sandbox_list", json!({})).await;
    assert_eq!(listed["count"], 1);
    let killed = ok(&client, "sandbox_kill", json!({"sandbox_id": id})).await;
    assert_eq!(killed["sandbox"]["status"], "killed");
    let after = call(
        &client,
        "sandbox_run",
        json!({"sandbox_id": id, "command": "true"}),
    )
    .await;
    assert!(
        is_error(&after) && text(&after).contains("killed"),
        "{}",
        text(&after)
    );
    let kept = ok(&client, "sandbox_create", json!({})).await;
    client.cancel().await.expect("close");

    // A restart on the same database still lists the running sandbox.
    let client = stdio_client_with_env(&args, &[("E2B_LOCAL_ROOT", root)]).await;
    let listed = ok(&client, "sandbox_list", json!({"include_ended": true})).await;
    let statuses: Vec<(String, String)> = listed["sandboxes"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_string(),
                s["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(id.clone(), "killed".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(
            kept["sandbox"]["id"].as_str().unwrap_or("").to_string(),
            "running".into()
        )),
        "{statuses:?}"
    );
    client.cancel().await.expect("close");
}
