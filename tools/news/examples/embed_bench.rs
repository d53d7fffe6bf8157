//! Embeddings per second on the CPU: every corpus article's title + summary
//! through all-MiniLM-L6-v2 (batched), and the same one at a time.
//!
//! ```sh
//! NT_EMBED_MODEL_DIR="$(scripts/fetch-models.sh)" \
//!   cargo run --release -p nt-news --example embed_bench
//! ```

use std::path::PathBuf;
use std::time::Instant;

use nt_news::embed::Embedder;

fn main() {
    let dir = std::env::var("NT_EMBED_MODEL_DIR")
        .or_else(|_| std::env::var("NEWS_EMBED_MODEL_DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/neural-trader-mcp/models/all-MiniLM-L6-v2")
        });
    let t0 = Instant::now();
    let e = match Embedder::load(&dir) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("{err} (run scripts/fetch-models.sh and set NT_EMBED_MODEL_DIR)");
            std::process::exit(2);
        }
    };
    println!(
        "loaded {} from {} in {:.2} s",
        e.name(),
        dir.display(),
        t0.elapsed().as_secs_f64()
    );
    let texts: Vec<String> = nt_news::corpus::labelled()
        .iter()
        .map(|l| format!("{}. {}", l.article.title, l.article.summary))
        .collect();
    let tokens: usize = texts.iter().map(|t| e.tokenize(t).len()).sum();
    let t0 = Instant::now();
    let v = e.embed(&texts).expect("embed");
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(v.len(), texts.len());
    println!(
        "batched: {} articles ({:.0} tokens on average) in {dt:.2} s: {:.1} embeddings/s, {:.0} tokens/s ({} threads)",
        texts.len(),
        tokens as f64 / texts.len() as f64,
        texts.len() as f64 / dt,
        tokens as f64 / dt,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let n = 32.min(texts.len());
    let t0 = Instant::now();
    for t in &texts[..n] {
        e.embed(std::slice::from_ref(t)).expect("embed");
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "one at a time: {n} articles in {dt:.2} s: {:.1} embeddings/s",
        n as f64 / dt
    );
}
