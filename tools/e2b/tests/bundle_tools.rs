//! The bundle's tools through its route table: the `allow_local_exec`
//! gate, a sandbox's life (create, run, upload, download, list, extend,
//! kill), the agent runner on the trading-bot backtest with its artifact,
//! a local template deployment with its start command running, and a build
//! request prepared without E2B.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use nt_e2b::E2bBundle;
use nt_mcp_core::bundle::BundleSettings;
use nt_mcp_core::{NewBundle, Store, ToolBundle, ToolCtx, ToolErrorKind, ToolRouter};
use serde_json::{Value, json};

async fn setup(toml_text: &str) -> (ToolRouter, ToolCtx, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "sandbox_root = \"{}\"\n{toml_text}",
        dir.path().join("boxes").display()
    );
    let table: toml::Table = text.parse().expect("toml");
    let settings = BundleSettings {
        table: table.into_iter().collect(),
        live_trading: false,
    };
    let bundle = Arc::new(E2bBundle::from_settings(&settings).expect("bundle"));
    let store = Store::open("sqlite::memory:").await.expect("store");
    store.migrate(&bundle.migrations()).await.expect("migrate");
    (bundle.routes(), ToolCtx::new(store), dir)
}

async fn ok(router: &ToolRouter, name: &str, args: Value, ctx: &ToolCtx) -> Value {
    router
        .call(name, args, ctx.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: {}", e.to_text()))
        .structured
}

#[tokio::test]
async fn creating_and_running_are_refused_without_the_switch() {
    let (router, ctx, _dir) = setup("").await;
    for (tool, args) in [
        ("sandbox_create", json!({})),
        ("sandbox_run", json!({"sandbox_id": "x", "command": "true"})),
        ("agent_run", json!({"command": "true"})),
        ("template_deploy", json!({"name": "base"})),
    ] {
        let err = router.call(tool, args, ctx.clone()).await.expect_err(tool);
        assert_eq!(err.kind, ToolErrorKind::Refused, "{tool}");
        assert!(
            err.hint
                .as_deref()
                .unwrap_or("")
                .contains("allow_local_exec"),
            "{tool}"
        );
    }
    // Reading templates needs no switch.
    let list = ok(&router, "template_list", json!({}), &ctx).await;
    assert_eq!(list["templates"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        ok(&router, "sandbox_list", json!({}), &ctx).await["count"],
        0
    );
}

#[tokio::test]
async fn a_sandbox_life_through_the_tools() {
    let (router, ctx, _dir) = setup("allow_local_exec = true").await;
    let created = ok(
        &router,
        "sandbox_create",
        json!({"template": "base", "env": {"GREETING": "hi"}, "timeout_secs": 120}),
        &ctx,
    )
    .await;
    assert_eq!(created["venue"], "local");
    let id = created["sandbox"]["id"].as_str().expect("id").to_string();
    assert_eq!(created["sandbox"]["env_keys"], json!(["GREETING", "LANG"]));

    let up = ok(
        &router,
        "sandbox_upload",
        json!({"sandbox_id": id, "path": "in/data.txt", "content": "3\n4\n"}),
        &ctx,
    )
    .await;
    assert_eq!(up["bytes"], 4);
    let run = ok(
        &router,
        "sandbox_run",
        json!({"sandbox_id": id, "command": "echo $GREETING $EXTRA; awk '{s+=$1} END {print s}' data.txt; cat", "cwd": "in", "env": {"EXTRA": "there"}, "stdin": "piped"}),
        &ctx,
    )
    .await;
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["stdout"], "hi there\n7\npiped");
    assert!(
        ctx.progress.snapshot().total.is_some(),
        "progress was reported"
    );

    let bad = router
        .call(
            "sandbox_download",
            json!({"sandbox_id": id, "path": "../x"}),
            ctx.clone(),
        )
        .await
        .expect_err("escape");
    assert_eq!(bad.kind, ToolErrorKind::InvalidInput);
    assert!(bad.message.contains("`..`"), "{}", bad.message);

    let down = ok(
        &router,
        "sandbox_download",
        json!({"sandbox_id": id, "path": "in/data.txt", "encoding": "base64"}),
        &ctx,
    )
    .await;
    assert_eq!(down["content"], "Mwo0Cg==");
    let listing = ok(
        &router,
        "sandbox_download",
        json!({"sandbox_id": id, "path": ""}),
        &ctx,
    )
    .await;
    assert_eq!(listing["entries"][1]["path"], "in/data.txt");

    let ext = ok(
        &router,
        "sandbox_extend",
        json!({"sandbox_id": id, "timeout_secs": 600}),
        &ctx,
    )
    .await;
    assert!(ext["sandbox"]["expires_ms"].as_i64() > created["sandbox"]["expires_ms"].as_i64());
    let listed = ok(&router, "sandbox_list", json!({}), &ctx).await;
    assert_eq!(listed["count"], 1);
    let killed = ok(&router, "sandbox_kill", json!({"sandbox_id": id}), &ctx).await;
    assert_eq!(killed["sandbox"]["status"], "killed");
    let after = router
        .call(
            "sandbox_run",
            json!({"sandbox_id": id, "command": "true"}),
            ctx.clone(),
        )
        .await
        .expect_err("ended");
    assert_eq!(after.kind, ToolErrorKind::Refused);
    assert_eq!(
        ok(
            &router,
            "sandbox_list",
            json!({"include_ended": true}),
            &ctx
        )
        .await["sandboxes"][0]["status"],
        "killed"
    );
}

#[tokio::test]
async fn the_agent_runner_runs_a_named_task_and_collects_artifacts() {
    let (router, ctx, _dir) = setup("allow_local_exec = true").await;
    let out = ok(
        &router,
        "agent_run",
        json!({"template": "trading-bot", "task": "backtest", "artifacts": ["results.json", "missing.txt"]}),
        &ctx,
    )
    .await;
    assert_eq!(out["exit_code"], 0, "{out}");
    assert!(
        out["stdout"]
            .as_str()
            .unwrap_or("")
            .contains("bar 12/12 price 114")
    );
    // Worked example: the 3/5 cross is up from bar 5 (103.33 > 102.2) to
    // the end, so the bot buys 1000/105 units at 105 and holds to 114:
    // 1000 * 114 / 105 = 1085.71; buy and hold 1000 * 114 / 100 = 1140.
    let results: Value =
        serde_json::from_str(out["artifacts"][0]["content"].as_str().expect("content"))
            .expect("json");
    assert_eq!(
        results,
        json!({"bars": 12, "final_equity": 1085.71, "buy_and_hold": 1140.0})
    );
    assert!(
        out["artifacts"][1]["error"]
            .as_str()
            .unwrap_or("")
            .contains("not a file")
    );
    assert_eq!(out["torn_down"], true);
    assert_eq!(
        ok(&router, "sandbox_list", json!({}), &ctx).await["count"],
        0
    );
    let err = router
        .call(
            "agent_run",
            json!({"template": "trading-bot", "task": "nope"}),
            ctx.clone(),
        )
        .await
        .expect_err("unknown task");
    assert!(
        err.message.contains("its tasks: backtest"),
        "{}",
        err.message
    );
    let err = router
        .call(
            "agent_run",
            json!({"template": "claude-code", "task": "version"}),
            ctx.clone(),
        )
        .await
        .expect_err("required env");
    assert!(err.message.contains("ANTHROPIC_API_KEY"), "{}", err.message);
}

#[tokio::test]
async fn a_local_deploy_starts_the_templates_start_command() {
    let (router, ctx, _dir) = setup("allow_local_exec = true").await;
    let out = ok(
        &router,
        "template_deploy",
        json!({"name": "trading-bot", "timeout_secs": 60}),
        &ctx,
    )
    .await;
    let id = out["deployment"]["sandbox"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        out["deployment"]["start_command"],
        "python3 bot/heartbeat.py"
    );
    let mut beat = Value::Null;
    for _ in 0..60 {
        if let Ok(r) = router
            .call(
                "sandbox_download",
                json!({"sandbox_id": id, "path": "heartbeat.txt"}),
                ctx.clone(),
            )
            .await
        {
            beat = r.structured;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        beat["content"].as_str().unwrap_or("").ends_with(" paper\n"),
        "{beat}"
    );
    ok(&router, "sandbox_kill", json!({"sandbox_id": id}), &ctx).await;
    assert!(
        nt_e2b::local::marked_pids(nt_e2b::local::SANDBOX_MARKER, &id).is_empty(),
        "the start command died with the sandbox"
    );
}

#[tokio::test]
async fn a_build_without_e2b_is_prepared_and_its_status_readable() {
    let (router, ctx, _dir) = setup("").await;
    let out = ok(
        &router,
        "template_build",
        json!({"name": "base", "parameters": {"DEBIAN_TAG": "trixie-slim"}}),
        &ctx,
    )
    .await;
    let build = &out["build"];
    assert_eq!(build["status"], "prepared");
    assert_eq!(build["request"]["start"]["fromImage"], "debian:trixie-slim");
    assert_eq!(build["request"]["create"]["alias"], "nt-base");
    let id = build["id"].as_str().expect("id");
    let status = ok(
        &router,
        "template_build_status",
        json!({"build_id": id}),
        &ctx,
    )
    .await;
    assert_eq!(status["build"]["status"], "prepared");
    let err = router
        .call(
            "template_build",
            json!({"name": "base", "parameters": {"NOPE": "1"}}),
            ctx.clone(),
        )
        .await
        .expect_err("bad parameter");
    assert_eq!(err.field.as_deref(), Some("parameters"));
    let shown = ok(
        &router,
        "template_show",
        json!({"name": "trading-bot"}),
        &ctx,
    )
    .await;
    assert_eq!(shown["parameters"]["PYTHON_VERSION"], "3.12");
    let bad = router
        .call(
            "template_validate",
            json!({"name": "x", "e2b_toml": "template_name = \"x\"\ndockerfile = \"e2b.Dockerfile\"\ncpu_count = 9\nmemory_mb = 512", "dockerfile": "FROM a", "template_toml": "name = \"x\"\ndescription = \"d\"\n[resources]\ncpu_count = 9\nmemory_mb = 512\ntimeout_secs = 60"}),
            ctx.clone(),
        )
        .await
        .expect_err("broken");
    assert_eq!(bad.field.as_deref(), Some("e2b.toml:cpu_count"));
}
