//! The Docker provider against a fake Docker Engine API (axum, on
//! 127.0.0.1 or a unix socket in a temp dir). The fake checks the `/v1.44`
//! prefix, content types and request bodies and answers in the documented
//! shapes: JSON objects, the build's JSON-line stream, tar archives with
//! the `X-Docker-Container-Path-Stat` header (base64 JSON), and exec output
//! in the multiplexed stream format (8-byte headers: stream type, three
//! zero bytes, big-endian u32 length) cut at odd places. No Docker daemon
//! is used (none is available on this machine).
#![allow(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use nt_e2b::config::DockerSettings;
use nt_e2b::docker::DockerProvider;
use nt_e2b::docker_api::{FrameKind, frame};
use nt_e2b::provider::{CreateSpec, RunRequest, RunStatus, SandboxProvider, Stream};
use nt_e2b::templates::Registry;
use nt_e2b::{E2bBundle, store};
use nt_mcp_core::bundle::{BundleSettings, CancellationToken};
use nt_mcp_core::{NewBundle, Store, ToolBundle, ToolCtx};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Default)]
struct Ctr {
    labels: Value,
    env: Vec<String>,
    running: bool,
    removed: bool,
}

#[derive(Default)]
struct Fake {
    /// (method, path without the version, query, body as JSON when JSON).
    seen: Mutex<Vec<(String, String, String, Value)>>,
    images: Mutex<Vec<String>>,
    containers: Mutex<BTreeMap<String, Ctr>>,
    execs: Mutex<HashMap<String, (String, Value)>>,
    /// "<container>:<absolute path>" -> bytes.
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    dockerfiles: Mutex<Vec<String>>,
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf8")
}

fn query(q: &str, key: &str) -> Option<String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| decode(v))
}

fn err(code: StatusCode, msg: &str) -> Response {
    (code, axum::Json(json!({ "message": msg }))).into_response()
}

fn tar_entries(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(body);
    let mut out = Vec::new();
    for e in a.entries().expect("tar") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).expect("read");
        out.push((name, data));
    }
    out
}

/// Cuts `bytes` into pieces of 7 so frame headers straddle reads.
fn stream_of(bytes: Vec<u8>, hang: bool) -> Body {
    let pieces: Vec<Bytes> = bytes.chunks(7).map(Bytes::copy_from_slice).collect();
    let s = futures::stream::unfold((pieces, 0usize), move |(p, i)| async move {
        if i < p.len() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let b = p[i].clone();
            Some((Ok::<_, std::io::Error>(b), (p, i + 1)))
        } else {
            if hang {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            None
        }
    });
    Body::from_stream(s)
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(path) = uri.path().strip_prefix("/v1.44") else {
        return err(
            StatusCode::BAD_REQUEST,
            "requests must name API version v1.44",
        );
    };
    let path = path.to_string();
    let q = uri.query().unwrap_or("").to_string();
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let json_body: Value = if ctype == "application/json" {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return err(StatusCode::BAD_REQUEST, "bad JSON"),
        }
    } else {
        Value::Null
    };
    fake.seen.lock().expect("lock").push((
        method.to_string(),
        path.clone(),
        q.clone(),
        json_body.clone(),
    ));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["_ping"]) => "OK".into_response(),
        ("GET", ["images", rest @ .., "json"]) => {
            let name = rest.join("/");
            if fake.images.lock().expect("lock").contains(&name) {
                axum::Json(json!({"Id": "sha256:feed", "RepoTags": [name]})).into_response()
            } else {
                err(StatusCode::NOT_FOUND, &format!("No such image: {name}"))
            }
        }
        ("POST", ["build"]) => {
            assert_eq!(ctype, "application/x-tar");
            let entries = tar_entries(&body);
            let df = String::from_utf8(entries[0].1.clone()).expect("utf8");
            assert_eq!(entries[0].0, "Dockerfile");
            assert_eq!(query(&q, "dockerfile").as_deref(), Some("Dockerfile"));
            let tag = query(&q, "t").expect("tag");
            if df.contains("RUN npm install -g") {
                // A failing step, as the daemon reports it: 200, then an
                // `error` object with its `errorDetail` in the stream.
                let msg = "The command '/bin/sh -c npm install -g @anthropic-ai/claude-code claude-flow@alpha' returned a non-zero code: 1";
                let lines = [
                    json!({"stream": "Step 4/5 : RUN npm install -g\n"}),
                    json!({"errorDetail": {"code": 1, "message": msg}, "error": msg}),
                ];
                let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
                return stream_of(text.into_bytes(), false).into_response();
            }
            fake.dockerfiles.lock().expect("lock").push(df.clone());
            fake.images.lock().expect("lock").push(tag.clone());
            let lines = [
                json!({"stream": "Step 1/3 : FROM debian\n"}),
                json!({"aux": {"ID": "sha256:feed"}}),
                json!({"stream": format!("Successfully tagged {tag}\n")}),
            ];
            let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            stream_of(text.into_bytes(), false).into_response()
        }
        ("POST", ["containers", "create"]) => {
            let image = json_body["Image"].as_str().unwrap_or("").to_string();
            if !fake.images.lock().expect("lock").contains(&image) {
                return err(StatusCode::NOT_FOUND, &format!("No such image: {image}"));
            }
            let mut cs = fake.containers.lock().expect("lock");
            let id = format!("{:064x}", cs.len() + 1);
            cs.insert(
                id.clone(),
                Ctr {
                    labels: json_body["Labels"].clone(),
                    env: serde_json::from_value(json_body["Env"].clone()).unwrap_or_default(),
                    ..Ctr::default()
                },
            );
            (
                StatusCode::CREATED,
                axum::Json(json!({"Id": id, "Warnings": []})),
            )
                .into_response()
        }
        ("GET", ["containers", "json"]) => {
            assert_eq!(query(&q, "all").as_deref(), Some("true"));
            let filters: Value =
                serde_json::from_str(&query(&q, "filters").expect("filters")).expect("json");
            assert_eq!(filters, json!({"label": ["nt.e2b.sandbox"]}));
            let cs = fake.containers.lock().expect("lock");
            let list: Vec<Value> = cs
                .iter()
                .filter(|(_, c)| !c.removed)
                .map(|(id, c)| {
                    json!({"Id": id, "Names": [format!("/{id}")], "Labels": c.labels,
                    "State": if c.running { "running" } else { "created" }})
                })
                .collect();
            axum::Json(list).into_response()
        }
        (m, ["containers", id, rest @ ..]) => {
            let id = id.to_string();
            let mut cs = fake.containers.lock().expect("lock");
            let Some(c) = cs.get_mut(&id).filter(|c| !c.removed) else {
                return err(StatusCode::NOT_FOUND, &format!("No such container: {id}"));
            };
            match (m, rest) {
                ("POST", ["start"]) => {
                    c.running = true;
                    StatusCode::NO_CONTENT.into_response()
                }
                ("POST", ["kill"]) if !c.running => err(
                    StatusCode::CONFLICT,
                    &format!("container {id} is not running"),
                ),
                ("POST", ["kill"]) => {
                    c.running = false;
                    StatusCode::NO_CONTENT.into_response()
                }
                ("DELETE", []) => {
                    assert_eq!(query(&q, "force").as_deref(), Some("true"));
                    c.removed = true;
                    StatusCode::NO_CONTENT.into_response()
                }
                ("POST", ["exec"]) => {
                    assert!(c.running, "exec in a stopped container");
                    let mut ex = fake.execs.lock().expect("lock");
                    let eid = format!("exec{}", ex.len() + 1);
                    ex.insert(eid.clone(), (id.clone(), json_body.clone()));
                    (StatusCode::CREATED, axum::Json(json!({"Id": eid}))).into_response()
                }
                ("PUT", ["archive"]) => {
                    assert_eq!(ctype, "application/x-tar");
                    let dir = query(&q, "path").expect("path");
                    let mut files = fake.files.lock().expect("lock");
                    for (name, data) in tar_entries(&body) {
                        let full = format!("{}/{name}", dir.trim_end_matches('/'));
                        files.insert(format!("{id}:{full}"), data);
                    }
                    StatusCode::OK.into_response()
                }
                ("GET", ["archive"]) => {
                    let want = query(&q, "path").expect("path");
                    let files = fake.files.lock().expect("lock");
                    let base = want.rsplit('/').next().unwrap_or("").to_string();
                    let mut b = tar::Builder::new(Vec::new());
                    let add = |b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
                        let mut h = tar::Header::new_gnu();
                        h.set_size(data.len() as u64);
                        h.set_mode(0o644);
                        b.append_data(&mut h, name, data).expect("append");
                    };
                    let (size, mode) = if let Some(data) = files.get(&format!("{id}:{want}")) {
                        add(&mut b, &base, data);
                        (data.len(), 0o644u64)
                    } else {
                        let prefix = format!("{id}:{want}/");
                        let under: Vec<_> = files
                            .iter()
                            .filter(|(k, _)| k.starts_with(&prefix))
                            .collect();
                        if under.is_empty() {
                            return err(
                                StatusCode::NOT_FOUND,
                                &format!("Could not find the file {want} in container {id}"),
                            );
                        }
                        let mut dirs = std::collections::BTreeSet::new();
                        for (k, data) in under {
                            let rest = &k[prefix.len()..];
                            let mut acc = String::new();
                            for part in rest
                                .split('/')
                                .collect::<Vec<_>>()
                                .iter()
                                .rev()
                                .skip(1)
                                .rev()
                            {
                                acc = if acc.is_empty() {
                                    part.to_string()
                                } else {
                                    format!("{acc}/{part}")
                                };
                                if dirs.insert(acc.clone()) {
                                    let mut h = tar::Header::new_gnu();
                                    h.set_entry_type(tar::EntryType::Directory);
                                    h.set_size(0);
                                    h.set_mode(0o755);
                                    b.append_data(&mut h, format!("{base}/{acc}/"), &[][..])
                                        .expect("dir");
                                }
                            }
                            add(&mut b, &format!("{base}/{rest}"), data);
                        }
                        (4096, 0o755u64 | (1 << 31))
                    };
                    let stat = json!({"name": base, "size": size, "mode": mode,
                        "mtime": "2026-12-02T04:00:00Z", "linkTarget": ""});
                    Response::builder()
                        .header("content-type", "application/x-tar")
                        .header(
                            "x-docker-container-path-stat",
                            base64::engine::general_purpose::STANDARD.encode(stat.to_string()),
                        )
                        .body(Body::from(b.into_inner().expect("tar")))
                        .expect("response")
                }
                _ => err(StatusCode::NOT_FOUND, &format!("no route {m} {path}")),
            }
        }
        ("POST", ["exec", eid, "start"]) => {
            let (cid, spec) = match fake.execs.lock().expect("lock").get(*eid) {
                Some(e) => e.clone(),
                None => return err(StatusCode::NOT_FOUND, "No such exec instance"),
            };
            if json_body["Detach"] == json!(true) {
                return StatusCode::OK.into_response();
            }
            assert_eq!(json_body, json!({"Detach": false, "Tty": false}));
            let cmd: Vec<String> = serde_json::from_value(spec["Cmd"].clone()).expect("cmd");
            let command = if cmd.len() == 3 {
                cmd[2].clone()
            } else {
                cmd[4].clone()
            };
            let mut out = Vec::new();
            if command == "printenv" {
                let mut env: BTreeMap<String, String> = BTreeMap::new();
                let container_env = fake.containers.lock().expect("lock")[&cid].env.clone();
                let exec_env: Vec<String> =
                    serde_json::from_value(spec["Env"].clone()).unwrap_or_default();
                for kv in container_env.iter().chain(exec_env.iter()) {
                    let (k, v) = kv.split_once('=').expect("K=V");
                    env.insert(k.into(), v.into());
                }
                let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                out.extend(frame(FrameKind::Stdout, text.as_bytes()));
            } else if command == "cat" {
                // The stdin file the wrapper redirects (`$2`).
                let data = fake.files.lock().expect("lock")[&format!("{cid}:{}", cmd[5])].clone();
                out.extend(frame(FrameKind::Stdout, &data));
            } else {
                out.extend(frame(FrameKind::Stdout, b"hello "));
                out.extend(frame(FrameKind::Stderr, b"warn\n"));
                out.extend(frame(FrameKind::Stdout, b"world\n"));
            }
            let hang = command.contains("sleep 999");
            Response::builder()
                .header("content-type", "application/vnd.docker.multiplexed-stream")
                .body(stream_of(out, hang))
                .expect("response")
        }
        ("GET", ["exec", eid, "json"]) => {
            let (cid, spec) = fake.execs.lock().expect("lock")[*eid].clone();
            let code = if spec["Cmd"][2].as_str().unwrap_or("").contains("exit 3") {
                3
            } else {
                0
            };
            axum::Json(
                json!({"ID": eid, "ContainerID": cid, "Running": false, "ExitCode": code,
                "ProcessConfig": {"entrypoint": "/bin/sh", "tty": false}, "Pid": 4242}),
            )
            .into_response()
        }
        _ => err(StatusCode::NOT_FOUND, &format!("no route {method} {path}")),
    }
}

async fn start_tcp() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new().fallback(any(handle)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (host, fake)
}

async fn store() -> Store {
    let s = Store::open("sqlite::memory:").await.expect("store");
    s.migrate(&store::migrations()).await.expect("migrate");
    s
}

fn settings(host: &str) -> DockerSettings {
    DockerSettings {
        host: host.to_string(),
        image: None,
        network: "none".into(),
    }
}

async fn open(s: &Store, host: &str) -> DockerProvider {
    open_capped(s, host, 1024).await
}

async fn open_capped(s: &Store, host: &str, cap: usize) -> DockerProvider {
    DockerProvider::open(
        s.clone(),
        settings(host),
        Registry::load(None).expect("registry"),
        cap,
    )
    .await
    .unwrap_or_else(|e| panic!("open: {e}"))
    .0
}

fn spec(env: &[(&str, &str)], secs: u64) -> CreateSpec {
    CreateSpec {
        template: "base".into(),
        timeout: Duration::from_secs(secs),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        metadata: BTreeMap::new(),
        files: vec![("notes/readme.txt".into(), b"read me".to_vec())],
    }
}

fn run_req(command: &str, env: &[(&str, &str)], timeout: Duration) -> RunRequest {
    RunRequest {
        command: command.into(),
        cwd: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        stdin: None,
        timeout,
        run_id: "run_t1".into(),
        cancel: CancellationToken::new(),
    }
}

fn seen(fake: &Fake, method: &str, path: &str) -> Vec<(String, Value)> {
    fake.seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|(m, p, _, _)| m == method && p == path)
        .map(|(_, _, q, b)| (q.clone(), b.clone()))
        .collect()
}

#[tokio::test]
async fn a_sandbox_is_a_container_of_the_template_image_and_runs_report_output_and_exit_code() {
    let (host, fake) = start_tcp().await;
    let s = store().await;
    let p = open(&s, &host).await;
    let info = p
        .create(spec(&[("GREETING", "hi")], 300))
        .await
        .expect("create");
    assert_eq!(info.provider, "docker");
    // The image: the base template's Dockerfile rendered with its
    // defaults, tagged by the first 12 hex digits of its SHA-256.
    let t = Registry::load(None).expect("r").get("base").expect("base");
    let rendered = nt_e2b::dockerfile::render(&t.dockerfile, &BTreeMap::new()).expect("render");
    // Docker resolves the ARG default itself.
    assert!(rendered.contains("ARG DEBIAN_TAG=bookworm-slim\nFROM debian:${DEBIAN_TAG}\n"));
    let tag = format!(
        "nt-e2b/base:{}",
        &hex::encode(Sha256::digest(rendered.as_bytes()))[..12]
    );
    assert_eq!(
        fake.dockerfiles.lock().expect("lock").clone(),
        vec![rendered]
    );
    let (q, body) = seen(&fake, "POST", "/containers/create").remove(0);
    assert_eq!(q, format!("name=nt-e2b-{}", info.id));
    assert_eq!(body["Image"], tag);
    assert_eq!(
        body["Env"],
        json!(["GREETING=hi", format!("NT_SANDBOX_ID={}", info.id)])
    );
    assert_eq!(body["WorkingDir"], "/home/user");
    // base: 512 MiB, 2 CPUs (templates/base/template.toml).
    assert_eq!(
        body["HostConfig"],
        json!({"NetworkMode": "none", "Memory": 536_870_912u64, "NanoCpus": 2_000_000_000u64})
    );
    assert_eq!(body["Labels"]["nt.e2b.sandbox"], info.id);
    assert_eq!(body["Labels"]["nt.e2b.template"], "base");
    // The template's files were put before the start.
    let put = seen(&fake, "PUT", &format!("/containers/{:064x}/archive", 1));
    assert_eq!(put[0].0, "path=%2F");

    // A second sandbox of the same template does not rebuild.
    let second = p.create(spec(&[], 300)).await.expect("create 2");
    assert_eq!(fake.dockerfiles.lock().expect("lock").len(), 1);
    p.kill(&second.id).await.expect("kill 2");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = p
        .run(
            &info.id,
            run_req("echo; exit 3", &[], Duration::from_secs(10)),
            Some(tx),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Exited);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout, "hello world\n");
    assert_eq!(out.stderr, "warn\n");
    assert_eq!(
        (out.stdout_bytes, out.stderr_bytes, out.truncated),
        (12, 5, false)
    );
    let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    assert_eq!(
        out.output_digest,
        nt_e2b::exec::output_digest(&sha(b"hello world\n"), &sha(b"warn\n"))
    );
    let mut streamed = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        streamed.push((ev.stream, String::from_utf8(ev.data).expect("utf8")));
    }
    assert_eq!(
        streamed,
        vec![
            (Stream::Stdout, "hello ".to_string()),
            (Stream::Stderr, "warn\n".to_string()),
            (Stream::Stdout, "world\n".to_string())
        ]
    );
    let (_, exec) = seen(&fake, "POST", &format!("/containers/{:064x}/exec", 1)).remove(0);
    assert_eq!(exec["Cmd"], json!(["/bin/sh", "-c", "echo; exit 3"]));
    assert_eq!(exec["Tty"], false);
    assert_eq!(exec["AttachStdout"], true);

    // The environment is exactly the sandbox's and the call's (plus the
    // two markers): the fake prints what the container would see.
    env_is_exactly_the_sandboxs_and_the_calls(&p, &info.id).await;

    // Output over the cap is counted, not kept, and says so.
    let capped = open_capped(&s, &host, 8).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = capped
        .run(
            &info.id,
            run_req("echo", &[], Duration::from_secs(10)),
            Some(tx),
        )
        .await
        .expect("capped run");
    assert_eq!(
        out.stdout,
        "hello wo\n[output truncated: kept 8 of 12 bytes]"
    );
    assert_eq!(out.stderr, "warn\n");
    assert!(out.truncated);
    assert_eq!(out.stdout_bytes, 12);
    let mut kept = String::new();
    while let Ok(ev) = rx.try_recv() {
        if ev.stream == Stream::Stdout {
            kept.push_str(std::str::from_utf8(&ev.data).expect("utf8"));
        }
    }
    assert_eq!(kept, "hello wo", "only kept bytes are streamed");
}

async fn env_is_exactly_the_sandboxs_and_the_calls(p: &DockerProvider, id: &str) {
    let out = p
        .run(
            id,
            run_req("printenv", &[("EXTRA", "1")], Duration::from_secs(10)),
            None,
        )
        .await
        .expect("printenv");
    assert_eq!(
        out.stdout,
        format!("EXTRA=1\nGREETING=hi\nNT_SANDBOX_ID={id}\nNT_SANDBOX_RUN=run_t1\n")
    );
}

#[tokio::test]
async fn files_and_stdin_go_through_tar_archives() {
    let (host, fake) = start_tcp().await;
    let s = store().await;
    let p = open(&s, &host).await;
    let id = p.create(spec(&[], 300)).await.expect("create").id;
    let cid = format!("{:064x}", 1);
    let data = b"t,price\n1,100\n2,101\n".to_vec();
    assert_eq!(
        p.upload(&id, "data/in.csv", &data).await.expect("upload"),
        20
    );
    assert_eq!(
        fake.files.lock().expect("lock")[&format!("{cid}:/home/user/data/in.csv")],
        data
    );
    assert_eq!(
        p.download(&id, "data/in.csv").await.expect("download"),
        data
    );
    let listing = p.list_files(&id, "", 2).await.expect("list");
    let rows: Vec<(String, String, u64)> = listing
        .into_iter()
        .map(|f| (f.path, f.kind, f.size))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("data".into(), "dir".into(), 0),
            ("data/in.csv".into(), "file".into(), 20),
            ("notes".into(), "dir".into(), 0),
            ("notes/readme.txt".into(), "file".into(), 7),
        ]
    );
    let missing = p.download(&id, "nope.txt").await.expect_err("missing");
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    let dir = p.download(&id, "data").await.expect_err("a folder");
    assert!(dir.to_string().contains("not a file"), "{dir}");
    let before = fake.seen.lock().expect("lock").len();
    let escape = p
        .upload(&id, "../etc/passwd", b"x")
        .await
        .expect_err("escape");
    assert!(escape.to_string().contains("`..`"), "{escape}");
    let abs = p.download(&id, "/etc/passwd").await.expect_err("absolute");
    assert!(abs.to_string().contains("absolute"), "{abs}");
    assert_eq!(
        fake.seen.lock().expect("lock").len(),
        before,
        "refused before any request"
    );

    let mut req = run_req("cat", &[], Duration::from_secs(10));
    req.stdin = Some(b"piped input".to_vec());
    let out = p.run(&id, req, None).await.expect("cat");
    assert_eq!(out.stdout, "piped input");
    let (_, exec) = seen(&fake, "POST", &format!("/containers/{cid}/exec")).remove(0);
    assert_eq!(
        exec["Cmd"],
        json!([
            "/bin/sh",
            "-c",
            "exec 0<\"$2\"; rm -f \"$2\"; exec /bin/sh -c \"$1\"",
            "sh",
            "cat",
            "/tmp/.nt-stdin-run_t1"
        ])
    );
}

#[tokio::test]
async fn a_run_past_its_timeout_kills_the_container() {
    let (host, fake) = start_tcp().await;
    let s = store().await;
    let p = open(&s, &host).await;
    let id = p.create(spec(&[], 300)).await.expect("create").id;
    let cid = format!("{:064x}", 1);
    let started = std::time::Instant::now();
    let out = p
        .run(
            &id,
            run_req("sleep 999", &[], Duration::from_millis(300)),
            None,
        )
        .await
        .expect("run");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status, RunStatus::Timeout);
    assert_eq!(out.exit_code, None);
    assert_eq!(
        out.stdout, "hello world\n",
        "output before the kill is kept"
    );
    assert_eq!(
        seen(&fake, "POST", &format!("/containers/{cid}/kill")).len(),
        1
    );
    assert_eq!(
        seen(&fake, "DELETE", &format!("/containers/{cid}")).len(),
        1
    );
    assert!(fake.containers.lock().expect("lock")[&cid].removed);
    assert_eq!(p.get(&id).await.expect("get").status, "killed");
    let again = p
        .run(&id, run_req("true", &[], Duration::from_secs(1)), None)
        .await;
    assert!(again.expect_err("ended").to_string().contains("killed"));
}

#[tokio::test]
async fn a_restart_removes_containers_whose_sandbox_is_gone_or_expired() {
    let (host, fake) = start_tcp().await;
    let s = store().await;
    let first = open(&s, &host).await;
    let keep = first.create(spec(&[], 300)).await.expect("keep").id;
    let old = first.create(spec(&[], 300)).await.expect("old").id;
    let lost = first.create(spec(&[], 300)).await.expect("lost").id;
    drop(first);
    store::set_expiry(&s, &old, 1).await.expect("expire");
    {
        let mut cs = fake.containers.lock().expect("lock");
        // A container whose sandbox row does not exist (another database,
        // or a row deleted by hand).
        cs.insert(
            "f".repeat(64),
            Ctr {
                labels: json!({"nt.e2b.sandbox": "sbx_ghost"}),
                running: true,
                ..Ctr::default()
            },
        );
        // The third sandbox's container vanished while the server was down.
        cs.get_mut(&format!("{:064x}", 3)).expect("c3").removed = true;
    }
    let (second, report) = DockerProvider::open(
        s.clone(),
        settings(&host),
        Registry::load(None).expect("registry"),
        64,
    )
    .await
    .expect("reopen");
    let mut removed = report.removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        vec![
            (format!("{:064x}", 2), old.clone()),
            ("f".repeat(64), "sbx_ghost".to_string())
        ]
    );
    assert_eq!(report.expired, vec![old.clone()]);
    assert_eq!(report.reaped, vec![lost.clone()]);
    {
        let cs = fake.containers.lock().expect("lock");
        assert!(
            !cs[&format!("{:064x}", 1)].removed,
            "the live sandbox keeps its container"
        );
        assert!(cs[&format!("{:064x}", 2)].removed && cs[&"f".repeat(64)].removed);
    }
    let live: Vec<String> = second
        .list(false)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(live, vec![keep]);
    assert_eq!(second.get(&lost).await.expect("lost").status, "reaped");
}

#[tokio::test]
async fn an_unreachable_daemon_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let host = format!("unix://{}", dir.path().join("docker.sock").display());
    let s = store().await;
    let e = DockerProvider::open(s, settings(&host), Registry::load(None).expect("r"), 64)
        .await
        .err()
        .expect("no daemon");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "docker: cannot reach the Docker daemon at {host}:"
        )),
        "{text}"
    );
    assert!(text.contains("is Docker running?"), "{text}");
}

async fn bundle_over(host: &str, dir: &tempfile::TempDir) -> (nt_mcp_core::ToolRouter, ToolCtx) {
    let text = format!(
        "allow_local_exec = true\nlocal_docker = true\ndocker_host = \"{host}\"\nsandbox_root = \"{}\"\n",
        dir.path().join("boxes").display()
    );
    let table: toml::Table = text.parse().expect("toml");
    let settings = BundleSettings {
        table: table.into_iter().collect(),
        live_trading: false,
    };
    let bundle = Arc::new(E2bBundle::from_settings(&settings).expect("bundle"));
    let s = Store::open("sqlite::memory:").await.expect("store");
    s.migrate(&bundle.migrations()).await.expect("migrate");
    (bundle.routes(), ToolCtx::new(s))
}

#[tokio::test]
async fn the_switch_serves_the_tools_from_docker_over_a_unix_socket() {
    let dir = tempfile::tempdir().expect("tmp");
    let sock = dir.path().join("docker.sock");
    let fake = Arc::new(Fake::default());
    let app = Router::new().fallback(any(handle)).with_state(fake.clone());
    let listener = tokio::net::UnixListener::bind(&sock).expect("bind");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let host = format!("unix://{}", sock.display());
    let (router, ctx) = bundle_over(&host, &dir).await;
    let created = router
        .call(
            "sandbox_create",
            json!({"template": "base", "env": {"GREETING": "hi"}}),
            ctx.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(created["venue"], "docker");
    let id = created["sandbox"]["id"].as_str().expect("id").to_string();
    let run = router
        .call(
            "sandbox_run",
            json!({"sandbox_id": id, "command": "printenv"}),
            ctx.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(run["exit_code"], 0);
    let stdout = run["stdout"].as_str().expect("stdout");
    assert!(
        stdout.starts_with("GREETING=hi\nLANG=C.UTF-8\nNT_SANDBOX_ID="),
        "{stdout}"
    );
    let killed = router
        .call("sandbox_kill", json!({"sandbox_id": id}), ctx.clone())
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(killed["sandbox"]["status"], "killed");
    assert!(fake.containers.lock().expect("lock")[&format!("{:064x}", 1)].removed);

    // The same switch with no daemon: the tool says so.
    let (router, ctx) = bundle_over(
        &format!("unix://{}", dir.path().join("none.sock").display()),
        &dir,
    )
    .await;
    let e = router
        .call("sandbox_create", json!({"template": "base"}), ctx)
        .await
        .expect_err("no daemon");
    assert!(
        e.message.contains("cannot reach the Docker daemon"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_sandbox_past_its_time_loses_its_container_without_a_call() {
    let (host, fake) = start_tcp().await;
    let s = store().await;
    let p = open(&s, &host).await;
    let id = p.create(spec(&[], 1)).await.expect("create").id;
    let cid = format!("{:064x}", 1);
    // Extended to 2 s: still there after the first second.
    p.extend(&id, Duration::from_secs(2)).await.expect("extend");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(!fake.containers.lock().expect("lock")[&cid].removed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(fake.containers.lock().expect("lock")[&cid].removed);
    // Read straight from the table: nothing asked the provider.
    let row = store::sandbox(&s, &id).await.expect("row").expect("some");
    assert_eq!(row.status, "expired");
}

#[tokio::test]
async fn a_configured_image_skips_the_build_and_a_failed_build_names_the_step() {
    let (host, fake) = start_tcp().await;
    let s = store().await;
    fake.images
        .lock()
        .expect("lock")
        .push("python:3.12-slim".into());
    let mut set = settings(&host);
    set.image = Some("python:3.12-slim".into());
    let (p, _) = DockerProvider::open(s.clone(), set, Registry::load(None).expect("r"), 64)
        .await
        .expect("open");
    p.create(spec(&[], 60)).await.expect("create");
    assert!(seen(&fake, "POST", "/build").is_empty());
    let (_, body) = seen(&fake, "POST", "/containers/create").remove(0);
    assert_eq!(body["Image"], "python:3.12-slim");

    let built = open(&s, &host).await;
    let mut flow = spec(&[], 60);
    flow.template = "claude-flow".into();
    let e = built.create(flow).await.expect_err("build fails");
    let text = e.to_string();
    assert!(text.contains("for template `claude-flow` failed"), "{text}");
    assert!(text.contains("returned a non-zero code: 1"), "{text}");
    assert_eq!(
        seen(&fake, "POST", "/containers/create").len(),
        1,
        "no container made"
    );
}

#[tokio::test]
async fn a_docker_deploy_starts_the_templates_start_command_detached() {
    let (host, fake) = start_tcp().await;
    let dir = tempfile::tempdir().expect("tmp");
    let (router, ctx) = bundle_over(&host, &dir).await;
    let out = router
        .call("template_deploy", json!({"name": "trading-bot"}), ctx)
        .await
        .unwrap_or_else(|e| panic!("{}", e.to_text()))
        .structured;
    assert_eq!(out["venue"], "docker");
    assert_eq!(
        out["deployment"]["start_command"],
        "python3 bot/heartbeat.py"
    );
    let cid = format!("{:064x}", 1);
    assert!(
        fake.files
            .lock()
            .expect("lock")
            .contains_key(&format!("{cid}:/home/user/bot/heartbeat.py"))
    );
    let (_, exec) = seen(&fake, "POST", &format!("/containers/{cid}/exec")).remove(0);
    assert_eq!(exec["Cmd"][4], "python3 bot/heartbeat.py");
    assert_eq!(exec["AttachStdout"], false);
    let starts = seen(&fake, "POST", "/exec/exec1/start");
    assert_eq!(starts[0].1, json!({"Detach": true, "Tty": false}));
    let (_, create) = seen(&fake, "POST", "/containers/create").remove(0);
    // trading-bot: 1024 MiB, 2 CPUs; the network mode defaults to bridge.
    assert_eq!(
        create["HostConfig"],
        json!({"NetworkMode": "bridge", "Memory": 1_073_741_824u64, "NanoCpus": 2_000_000_000u64})
    );
}
