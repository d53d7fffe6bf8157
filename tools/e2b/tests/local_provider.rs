//! The local provider and the executor on real processes: a timeout kills
//! a grandchild too, output caps hold, the environment is only what the
//! sandbox and the call give, paths cannot leave the sandbox, a restart
//! reaps what an earlier instance left running, the concurrency limit holds
//! under many calls, and the rows work on SQLite and PostgreSQL.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nt_e2b::exec::Limits;
use nt_e2b::executor::Executor;
use nt_e2b::local::{LocalConfig, LocalProvider, RUN_MARKER, SANDBOX_MARKER, marked_pids};
use nt_e2b::provider::{CreateSpec, RunRequest, RunStatus, SandboxProvider};
use nt_e2b::store;
use nt_mcp_core::Store;

async fn store() -> Store {
    let s = Store::open("sqlite::memory:").await.expect("store");
    s.migrate(&store::migrations()).await.expect("migrate");
    s
}

fn config(root: &std::path::Path, cap: usize) -> LocalConfig {
    LocalConfig {
        root: root.to_path_buf(),
        limits: Limits {
            output_cap: cap,
            ..Limits::default()
        },
    }
}

fn spec(timeout: u64) -> CreateSpec {
    CreateSpec {
        template: "base".into(),
        timeout: Duration::from_secs(timeout),
        ..CreateSpec::default()
    }
}

fn req(command: &str, timeout_ms: u64) -> RunRequest {
    RunRequest {
        command: command.into(),
        timeout: Duration::from_millis(timeout_ms),
        ..RunRequest::default()
    }
}

/// Whether `pid` is gone or a zombie (killed, not yet reaped by its parent).
fn dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

async fn wait_dead(pid: i32) -> bool {
    for _ in 0..40 {
        if dead(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_timeout_kills_the_grandchild_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("open");
    let exec = Executor::new(2, Duration::from_secs(60), p.instance());
    let sb = p.create(spec(60)).await.expect("create");
    let started = Instant::now();
    // A grandchild (sleep, in the background of a child shell) that would outlive the run.
    let done = exec
        .run(
            &s,
            &p,
            &sb.id,
            "run",
            req("sh -c 'sleep 30 & echo $! > gc.pid; wait'", 800),
            None,
        )
        .await
        .expect("run");
    assert_eq!(done.output.status, RunStatus::Timeout);
    assert_eq!(done.output.exit_code, None);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let pid: i32 = std::fs::read_to_string(p.dir(&sb.id).await.expect("dir").join("gc.pid"))
        .expect("gc.pid")
        .trim()
        .parse()
        .expect("pid");
    assert!(
        wait_dead(pid).await,
        "grandchild {pid} survived the timeout"
    );
    let record = store::run_record(&s, &done.run_id)
        .await
        .expect("db")
        .expect("row");
    assert_eq!(record["status"], "timeout");
    assert_eq!(
        record["command"],
        "sh -c 'sleep 30 & echo $! > gc.pid; wait'"
    );
}

#[tokio::test]
async fn output_caps_hold_with_a_truncation_note_and_the_full_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path(), 1000))
        .await
        .expect("open");
    let exec = Executor::new(2, Duration::from_secs(60), p.instance());
    let sb = p.create(spec(60)).await.expect("create");
    let done = exec
        .run(
            &s,
            &p,
            &sb.id,
            "run",
            req(
                "head -c 200000 /dev/zero | tr '\\0' a; echo oops >&2; exit 3",
                10_000,
            ),
            None,
        )
        .await
        .expect("run");
    let out = &done.output;
    assert_eq!(out.status, RunStatus::Exited);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout_bytes, 200_000);
    assert!(out.truncated);
    assert!(out.stdout.starts_with(&"a".repeat(1000)));
    assert!(!out.stdout.starts_with(&"a".repeat(1001)));
    assert!(
        out.stdout
            .ends_with("[output truncated: kept 1000 of 200000 bytes]"),
        "{}",
        &out.stdout[990..]
    );
    assert_eq!(out.stderr, "oops\n");
    // The digest covers all 200000 bytes, not only the kept ones.
    let full: [u8; 32] = sha2::Digest::finalize(sha2::Digest::chain_update(
        sha2::Sha256::default(),
        vec![b'a'; 200_000],
    ))
    .into();
    let err: [u8; 32] = sha2::Digest::finalize(sha2::Digest::chain_update(
        sha2::Sha256::default(),
        b"oops\n",
    ))
    .into();
    assert_eq!(out.output_digest, nt_e2b::exec::output_digest(&full, &err));
    let record = store::run_record(&s, &done.run_id)
        .await
        .expect("db")
        .expect("row");
    assert_eq!(record["exit_code"], 3);
    assert_eq!(record["stdout_bytes"], 200_000);
    assert_eq!(record["truncated"], true);
    assert_eq!(record["output_digest"], out.output_digest.as_str());
}

#[tokio::test]
async fn the_environment_is_only_the_sandboxs_and_the_calls() {
    assert!(
        std::env::var("CARGO_MANIFEST_DIR").is_ok(),
        "the test process has a variable to leak"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path(), 65536))
        .await
        .expect("open");
    let exec = Executor::new(2, Duration::from_secs(60), p.instance());
    let mut create = spec(60);
    create.env = BTreeMap::from([("FROM_TEMPLATE".to_string(), "t".to_string())]);
    let sb = p.create(create).await.expect("create");
    let mut run = req("env", 10_000);
    run.env = BTreeMap::from([("FROM_CALL".to_string(), "c".to_string())]);
    let done = exec
        .run(&s, &p, &sb.id, "run", run, None)
        .await
        .expect("run");
    let mut keys: Vec<&str> = done
        .output
        .stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| !matches!(*k, "PWD" | "SHLVL" | "_" | "OLDPWD"))
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "FROM_CALL",
            "FROM_TEMPLATE",
            "HOME",
            SANDBOX_MARKER,
            RUN_MARKER,
            "PATH"
        ],
        "{}",
        done.output.stdout
    );
    assert!(done.output.stdout.contains(&format!(
        "HOME={}",
        p.dir(&sb.id).await.expect("dir").display()
    )));
    assert!(!done.output.stdout.contains("CARGO"));
}

#[tokio::test]
async fn paths_outside_the_sandbox_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path().join("boxes").as_path(), 4096))
        .await
        .expect("open");
    let exec = Executor::new(2, Duration::from_secs(60), p.instance());
    let sb = p.create(spec(60)).await.expect("create");
    std::fs::write(dir.path().join("secret.txt"), "s3cret").expect("write");
    // A process inside makes a symlink that leads out.
    let made = exec
        .run(
            &s,
            &p,
            &sb.id,
            "run",
            req(&format!("ln -s {} out", dir.path().display()), 5000),
            None,
        )
        .await
        .expect("ln");
    assert_eq!(made.output.exit_code, Some(0), "{}", made.output.stderr);
    for path in [
        "../secret.txt",
        "/etc/passwd",
        "out/secret.txt",
        "a/../../x",
    ] {
        let err = p.download(&sb.id, path).await.expect_err(path).to_string();
        assert!(err.contains("refused"), "{path}: {err}");
        let err = p
            .upload(&sb.id, path, b"x")
            .await
            .expect_err(path)
            .to_string();
        assert!(err.contains("refused"), "{path}: {err}");
    }
    let mut run = req("pwd", 5000);
    run.cwd = Some("out".into());
    assert!(
        exec.run(&s, &p, &sb.id, "run", run, None)
            .await
            .expect_err("cwd")
            .to_string()
            .contains("leads outside")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secret.txt")).expect("read"),
        "s3cret"
    );
    // Inside paths work, parents are created.
    assert_eq!(
        p.upload(&sb.id, "data/in.txt", b"hello")
            .await
            .expect("upload"),
        5
    );
    assert_eq!(
        p.download(&sb.id, "./data/in.txt").await.expect("download"),
        b"hello"
    );
    let files = p.list_files(&sb.id, "", 3).await.expect("list");
    let names: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.path.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![("data", "dir"), ("data/in.txt", "file"), ("out", "symlink")]
    );
}

#[tokio::test]
async fn a_restart_reaps_orphans_and_expired_sandboxes_and_keeps_the_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (first, _) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("open");
    let kept = first.create(spec(600)).await.expect("create");
    let short = first.create(spec(1)).await.expect("create");
    let short_dir = first.dir(&short.id).await.expect("dir");
    // A run the first instance left running when it died: its row says
    // `running` and its process carries the markers.
    store::insert_run(
        &s,
        "run_left",
        &kept.id,
        "run",
        "sleep 60",
        first.instance(),
        1,
    )
    .await
    .expect("row");
    let mut orphan = std::process::Command::new("sleep")
        .arg("60")
        .env_clear()
        .env(SANDBOX_MARKER, &kept.id)
        .env(RUN_MARKER, "run_left")
        .spawn()
        .expect("spawn");
    let pid = i32::try_from(orphan.id()).expect("pid");
    assert_eq!(marked_pids(RUN_MARKER, "run_left"), vec![pid]);
    // A second server opening the same database while the first is alive
    // (Claude Desktop and Claude Code on one file) leaves its runs alone.
    let (neighbour, report) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("open beside");
    assert!(report.orphan_runs.is_empty(), "{report:?}");
    assert!(!report.killed_pids.contains(&pid), "{report:?}");
    assert!(
        orphan.try_wait().expect("try_wait").is_none(),
        "a live neighbour's process was killed"
    );
    drop(neighbour);
    drop(first);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let (second, report) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("reopen");
    assert_eq!(report.orphan_runs, vec!["run_left".to_string()]);
    assert!(report.killed_pids.contains(&pid), "{report:?}");
    assert_eq!(report.expired, vec![short.id.clone()]);
    let status = orphan.wait().expect("wait");
    assert!(!status.success(), "the orphan was killed: {status:?}");
    let record = store::run_record(&s, "run_left")
        .await
        .expect("db")
        .expect("row");
    assert_eq!(record["status"], "orphaned");
    assert!(
        !short_dir.exists(),
        "the expired sandbox's directory is removed"
    );
    let listed = second.list(false).await.expect("list");
    assert_eq!(
        listed.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec![kept.id.as_str()]
    );
    assert_eq!(second.get(&short.id).await.expect("get").status, "expired");
    assert!(
        second
            .run(&short.id, req("true", 1000), None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_concurrency_limit_holds_under_many_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("open");
    let exec = Executor::new(3, Duration::from_secs(60), p.instance());
    let sb = p.create(spec(120)).await.expect("create");
    let started = Instant::now();
    // Each run notes its own start and end so overlap can be counted
    // independently of the executor's own counter.
    let calls = (0..12).map(|i| {
        let (s, p, exec, id) = (&s, &p, &exec, sb.id.clone());
        async move {
            exec.run(
                s,
                p,
                &id,
                "run",
                req(
                    &format!("date +%s%N > s{i}; sleep 0.3; date +%s%N > e{i}"),
                    20_000,
                ),
                None,
            )
            .await
            .expect("run")
        }
    });
    let done = futures::future::join_all(calls).await;
    let elapsed = started.elapsed();
    assert!(done.iter().all(|d| d.output.exit_code == Some(0)));
    assert_eq!(exec.high_water(), 3);
    // 12 runs of 0.3 s, 3 at a time: at least 4 rounds, well under 12 s.
    assert!(elapsed >= Duration::from_millis(1200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(12), "{elapsed:?}");
    let root = p.dir(&sb.id).await.expect("dir");
    let read = |name: String| -> u128 {
        std::fs::read_to_string(root.join(name))
            .expect("time")
            .trim()
            .parse()
            .expect("ns")
    };
    let spans: Vec<(u128, u128)> = (0..12)
        .map(|i| (read(format!("s{i}")), read(format!("e{i}"))))
        .collect();
    let most = spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s2, e2)| s2 <= start && start < e2)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(most <= 3, "{most} runs overlapped");
}

#[tokio::test]
async fn kill_ends_running_processes_and_extend_moves_the_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("open");
    let p = std::sync::Arc::new(p);
    let sb = p.create(spec(60)).await.expect("create");
    let before = sb.expires_ms;
    let extended = p
        .extend(&sb.id, Duration::from_secs(600))
        .await
        .expect("extend");
    assert!(extended.expires_ms >= before + 500_000);
    let (p2, id) = (p.clone(), sb.id.clone());
    let running = tokio::spawn(async move { p2.run(&id, req("sleep 30", 60_000), None).await });
    for _ in 0..40 {
        if !marked_pids(SANDBOX_MARKER, &sb.id).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let killed = p.kill(&sb.id).await.expect("kill");
    assert_eq!(killed.status, "killed");
    let out = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("ends")
        .expect("join")
        .expect("run");
    assert_eq!(out.status, RunStatus::Killed);
    assert!(marked_pids(SANDBOX_MARKER, &sb.id).is_empty());
    assert!(
        p.run(&sb.id, req("true", 1000), None)
            .await
            .expect_err("ended")
            .to_string()
            .contains("killed")
    );
}

#[tokio::test]
async fn rows_work_on_postgres() {
    let Some(pg) = nt_mcp_core::testing::pg_schema("nt_sandbox_", "rows_work_on_postgres").await
    else {
        return;
    };
    let s = Store::open(&pg.url).await.expect("open pg");
    s.migrate(&store::migrations()).await.expect("migrate");
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, _) = LocalProvider::open(s.clone(), config(dir.path(), 4096))
        .await
        .expect("open");
    let exec = Executor::new(2, Duration::from_secs(60), p.instance());
    let sb = p.create(spec(60)).await.expect("create");
    let done = exec
        .run(&s, &p, &sb.id, "run", req("echo hi", 5000), None)
        .await
        .expect("run");
    assert_eq!(done.output.stdout, "hi\n");
    let record = store::run_record(&s, &done.run_id)
        .await
        .expect("db")
        .expect("row");
    assert_eq!(record["exit_code"], 0);
    assert_eq!(p.list(false).await.expect("list").len(), 1);
    p.kill(&sb.id).await.expect("kill");
    assert_eq!(p.list(true).await.expect("list")[0].status, "killed");
    pg.drop_schema().await;
}

#[tokio::test]
async fn cpu_memory_and_file_limits_stop_a_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store().await;
    let limits = Limits {
        cpu_secs: 1,
        memory_mb: 256,
        file_mb: 1,
        output_cap: 4096,
    };
    let (p, _) = LocalProvider::open(
        s.clone(),
        LocalConfig {
            root: dir.path().to_path_buf(),
            limits,
        },
    )
    .await
    .expect("open");
    let exec = Executor::new(2, Duration::from_secs(60), p.instance());
    let sb = p.create(spec(60)).await.expect("create");
    // A busy loop gets SIGXCPU after one CPU second, long before the 20 s timeout.
    let started = Instant::now();
    let busy = exec
        .run(
            &s,
            &p,
            &sb.id,
            "run",
            req("while :; do :; done", 20_000),
            None,
        )
        .await
        .expect("busy");
    assert_eq!(busy.output.status, RunStatus::Exited);
    assert_eq!(busy.output.exit_code, None, "ended by a signal");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // 512 MiB cannot be had under a 256 MiB address-space limit.
    let big = exec
        .run(
            &s,
            &p,
            &sb.id,
            "run",
            req(
                "python3 -c 'x = bytearray(512 * 1024 * 1024)' || echo refused",
                20_000,
            ),
            None,
        )
        .await
        .expect("memory");
    assert!(big.output.stdout.contains("refused"), "{:?}", big.output);
    // A file grows to 1 MiB and no further.
    let file = exec
        .run(
            &s,
            &p,
            &sb.id,
            "run",
            req("head -c 3000000 /dev/zero > big.bin; echo code $?", 20_000),
            None,
        )
        .await
        .expect("file");
    assert!(!file.output.stdout.contains("code 0"), "{:?}", file.output);
    let size = std::fs::metadata(p.dir(&sb.id).await.expect("dir").join("big.bin"))
        .expect("big.bin")
        .len();
    assert_eq!(size, 1024 * 1024);
}
