//! The candle models against independent references.
//!
//! * A tiny random BERT classifier (fixtures/tiny-bert-classifier, made by
//!   make_tiny_classifier.py with HF `tokenizers` and a numpy forward):
//!   token ids equal, logits to 1e-4, and the transformer path of
//!   `news_sentiment` / `news_signal` through the database cache (SQLite,
//!   and PostgreSQL when reachable). Needs no download.
//! * all-MiniLM-L6-v2 (fetched by scripts/fetch-models.sh; found through
//!   NT_EMBED_MODEL_DIR or the default cache dir): token ids equal HF
//!   `tokenizers`', embeddings equal the numpy reference
//!   (fixtures/minilm_embeddings.json, make_embedding_fixture.py) to 1e-4,
//!   similar sentences rank above unrelated ones, `news_similar` and
//!   semantic `news_search` use embeddings, embeddings/s printed. Skipped
//!   locally without the model; under CI=true a missing model fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolRouter};
use nt_news::classify::TransformerSentiment;
use nt_news::embed::{Embedder, cosine};
use nt_news::{NewsBundle, NewsConfig};
use serde_json::{Value, json};
use sqlx::Row;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn tiny_dir() -> PathBuf {
    fixtures().join("tiny-bert-classifier")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

/// The fetched all-MiniLM-L6-v2 directory, or None (printed) locally.
fn minilm_dir() -> Option<PathBuf> {
    let dir = match std::env::var("NT_EMBED_MODEL_DIR") {
        Ok(d) if !d.trim().is_empty() => PathBuf::from(d),
        _ => {
            let base = match std::env::var("NT_MODELS_DIR") {
                Ok(d) if !d.trim().is_empty() => PathBuf::from(d),
                _ => std::env::var("XDG_CACHE_HOME")
                    .ok()
                    .filter(|d| !d.trim().is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache")
                    })
                    .join("neural-trader-mcp/models"),
            };
            base.join("all-MiniLM-L6-v2")
        }
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "model not fetched at {} under CI=true: run scripts/fetch-models.sh",
        dir.display()
    );
    println!("skipped: model not fetched (run scripts/fetch-models.sh)");
    None
}

fn ids_of(v: &Value) -> Vec<u32> {
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_u64().expect("id") as u32)
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn tiny_classifier_matches_the_numpy_reference() {
    let m = TransformerSentiment::load(&tiny_dir()).expect("load");
    assert_eq!(m.labels(), ["positive", "negative", "neutral"]);
    let r = read_json(&tiny_dir().join("reference.json"));
    let rows = r["sentences"].as_array().expect("sentences");
    let texts: Vec<&str> = rows
        .iter()
        .map(|s| s["text"].as_str().expect("t"))
        .collect();
    for (s, t) in rows.iter().zip(&texts) {
        assert_eq!(m.tokenize(t), ids_of(s), "token ids of {t:?}");
    }
    // One batch: padded sequences must give the unpadded logits.
    let logits = m.logits(&texts).expect("logits");
    let probs = m.probabilities(&texts).expect("probs");
    let mut worst = 0f64;
    for ((s, l), p) in rows.iter().zip(&logits).zip(&probs) {
        worst = worst.max(max_abs_diff(l, &floats(&s["logits"])));
        let sc = m.scored(p);
        assert!(
            (sc.score - s["score"].as_f64().expect("score")).abs() < 1e-4,
            "{sc:?} vs {s}"
        );
    }
    println!(
        "tiny classifier: max |logit - numpy reference| = {worst:.2e} over {} texts",
        texts.len()
    );
    assert!(worst < 1e-4, "max abs diff {worst}");
}

async fn sqlite() -> Store {
    let store = Store::open("sqlite::memory:").await.expect("store");
    migrate(&store).await;
    store
}

async fn migrate(store: &Store) {
    let mut m = core_migrations();
    m.extend(nt_news::migrations());
    store.migrate(&m).await.expect("migrate");
}

fn bundle(c: NewsConfig) -> (Arc<NewsBundle>, ToolRouter) {
    let b = Arc::new(NewsBundle::from_config(c).expect("bundle"));
    let r = b.clone().routes();
    (b, r)
}

async fn call(r: &ToolRouter, c: &ToolCtx, tool: &str, args: Value) -> Value {
    r.call(tool, args, c.clone())
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"))
        .structured
        .clone()
}

async fn vector_rows(s: &Store) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM news_vectors")
        .fetch_one(s.pool())
        .await
        .expect("count")
        .try_get::<i64, _>("n")
        .expect("n")
}

async fn transformer_sentiment_tools_on(s: Store) {
    let (_b, r) = bundle(NewsConfig {
        sentiment_model_dir: Some(tiny_dir()),
        ..NewsConfig::default()
    });
    let c = ToolCtx::new(s.clone()).with_clock(Arc::new(ManualClock::new(1_800_000_000_000)));
    let reference = read_json(&tiny_dir().join("reference.json"));
    let first = &reference["sentences"][0];
    let v = call(
        &r,
        &c,
        "news_sentiment",
        json!({"text": first["text"].as_str().expect("t")}),
    )
    .await;
    assert_eq!(v["method"], "transformer:tiny-bert-classifier", "{v}");
    let got = v["sentiment"]["score"].as_f64().expect("score");
    assert!(
        (got - first["score"].as_f64().expect("s")).abs() < 1e-4,
        "{v}"
    );
    assert!(v["lexicon"]["score"].is_number(), "{v}");
    let v = call(
        &r,
        &c,
        "news_sentiment",
        json!({"tickers": ["AAPL"], "window_hours": 720}),
    )
    .await;
    assert_eq!(v["method"], "transformer:tiny-bert-classifier", "{v}");
    let top = &v["tickers"][0]["top"][0];
    assert!(
        top["sentiment"].is_number() && top["lexicon_sentiment"].is_number(),
        "{v}"
    );
    let stored = vector_rows(&s).await;
    assert!(stored > 1, "{stored}");
    // Again: every text is in the database, nothing new is stored.
    let again = call(
        &r,
        &c,
        "news_sentiment",
        json!({"tickers": ["AAPL"], "window_hours": 720}),
    )
    .await;
    assert_eq!(
        again["tickers"][0]["sentiment"],
        v["tickers"][0]["sentiment"]
    );
    assert_eq!(vector_rows(&s).await, stored);
    let v = call(&r, &c, "news_signal", json!({"tickers": ["AAPL"]})).await;
    assert_eq!(v["sentiment_method"], "transformer:tiny-bert-classifier");
    // Without a model: the lexicon, and said so.
    let (_b, plain) = bundle(NewsConfig::default());
    let v = call(&plain, &c, "news_sentiment", json!({"text": "Apple beats"})).await;
    assert_eq!(v["method"], "lexicon");
}

#[tokio::test]
async fn transformer_sentiment_through_the_tools() {
    transformer_sentiment_tools_on(sqlite().await).await;
}

#[tokio::test]
async fn transformer_sentiment_through_the_tools_on_postgres() {
    let Some(pg) = nt_mcp_core::testing::pg_schema("nt_news_", "transformer_sentiment").await
    else {
        return;
    };
    let s = Store::open(&pg.url).await.expect("store");
    migrate(&s).await;
    transformer_sentiment_tools_on(s.clone()).await;
    s.pool().close().await;
    pg.drop_schema().await;
}

#[test]
fn a_model_dir_without_a_model_is_a_configuration_error() {
    let e = NewsBundle::from_config(NewsConfig {
        embed_model_dir: Some(fixtures()),
        ..NewsConfig::default()
    })
    .expect_err("no model there");
    assert!(e.to_string().contains("fetch-models"), "{e}");
}

#[test]
fn minilm_tokenizer_and_embeddings_match_the_reference() {
    let Some(dir) = minilm_dir() else { return };
    let e = Embedder::load(&dir).expect("load");
    assert_eq!((e.dim(), e.max_len()), (384, 256));
    let r = read_json(&fixtures().join("minilm_embeddings.json"));
    let rows = r["sentences"].as_array().expect("sentences");
    let texts: Vec<&str> = rows
        .iter()
        .map(|s| s["text"].as_str().expect("t"))
        .collect();
    let mut same = 0;
    for (s, t) in rows.iter().zip(&texts) {
        assert_eq!(e.tokenize(t), ids_of(s), "token ids of {t:?}");
        same += 1;
    }
    println!(
        "tokenizer parity with HF tokenizers: {same}/{} texts",
        rows.len()
    );
    let v = e.embed(&texts).expect("embed");
    let mut worst = 0f64;
    for (s, got) in rows.iter().zip(&v) {
        let d = max_abs_diff(got, &floats(&s["embedding"]));
        worst = worst.max(d);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    println!(
        "all-MiniLM-L6-v2: max |embedding - numpy reference| = {worst:.2e} over {} texts (padded batches)",
        texts.len()
    );
    assert!(worst < 1e-4, "max abs diff {worst}");
    // Alone (no padding) the same vectors.
    let alone = e.embed(&texts[..1]).expect("embed");
    assert!(max_abs_diff(&alone[0], &floats(&rows[0]["embedding"])) < 1e-4);

    let q = e
        .embed(&[
            "Apple beats earnings estimates",
            "Apple quarterly profit tops forecasts",
            "Heavy rain floods the city",
        ])
        .expect("embed");
    let (near, far) = (cosine(&q[0], &q[1]), cosine(&q[0], &q[2]));
    println!("cosine: earnings/profit {near:.4}, earnings/rain {far:.4}");
    assert!(near > far + 0.3, "{near} vs {far}");
}

#[test]
fn embeddings_per_second_on_cpu() {
    let Some(dir) = minilm_dir() else { return };
    let e = Embedder::load(&dir).expect("load");
    let texts: Vec<String> = nt_news::corpus::labelled()
        .iter()
        .take(64)
        .map(|l| format!("{}. {}", l.article.title, l.article.summary))
        .collect();
    let t0 = Instant::now();
    let v = e.embed(&texts).expect("embed");
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(v.len(), texts.len());
    let tokens: usize = texts.iter().map(|t| e.tokenize(t).len()).sum();
    println!(
        "embeddings: {} corpus articles (title + summary, {:.0} tokens on average) in {:.2} s: {:.1} embeddings/s on CPU ({} threads available)",
        texts.len(),
        tokens as f64 / texts.len() as f64,
        dt,
        texts.len() as f64 / dt,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}

#[tokio::test]
async fn similar_and_semantic_search_use_embeddings() {
    let Some(dir) = minilm_dir() else { return };
    let (_b, r) = bundle(NewsConfig {
        embed_model_dir: Some(dir),
        ..NewsConfig::default()
    });
    let s = sqlite().await;
    let c = ToolCtx::new(s.clone()).with_clock(Arc::new(ManualClock::new(1_800_000_000_000)));
    let l = nt_news::corpus::labelled()
        .iter()
        .find(|l| l.kind == "original" && l.article.title.contains("buyback"))
        .expect("a buyback story");
    // A paraphrase of the buyback story: the company's other stories share
    // its name, only the meaning picks the buyback.
    let probe = "Canadian Natural Resources approves a larger stock repurchase plan and increases its quarterly payout";
    let v = call(&r, &c, "news_similar", json!({"text": probe, "limit": 5})).await;
    assert_eq!(v["method"], "embeddings", "{v}");
    let titles: Vec<&str> = v["stories"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["title"].as_str().expect("t"))
        .collect();
    println!("news_similar (embeddings) for {probe:?}: {titles:?}");
    assert_eq!(
        titles.first().copied(),
        Some(l.article.title.as_str()),
        "{v}"
    );
    let lexical = call(
        &r,
        &c,
        "news_similar",
        json!({"text": probe, "limit": 5, "method": "lexical"}),
    )
    .await;
    assert_eq!(lexical["method"], "lexical");
    let stored = vector_rows(&s).await;
    assert!(stored > 10, "{stored}");
    // Semantic search: the stories are embedded already (only the query is new).
    let v = call(
        &r,
        &c,
        "news_search",
        json!({"query": "company repurchasing its own stock", "semantic": true, "since_hours": 720, "limit": 3}),
    )
    .await;
    assert!(
        v["method"].as_str().expect("m").starts_with("embeddings:"),
        "{v}"
    );
    let top = v["stories"][0]["title"].as_str().expect("t").to_lowercase();
    assert!(top.contains("buyback") || top.contains("repurchase"), "{v}");
    assert_eq!(vector_rows(&s).await, stored + 1);
}
