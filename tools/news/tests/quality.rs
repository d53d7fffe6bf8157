//! Quality figures printed by the tests: dedup precision and recall on the
//! corpus (a constructed syndicated set with ground-truth story labels),
//! lexicon sentiment accuracy on the project's labelled headlines, and the
//! throughput of dedup + relevance + sentiment. Run with `--nocapture` to
//! see the figures.

use std::time::Instant;

use nt_news::article::{Article, canonical_url};
use nt_news::corpus::labelled;
use nt_news::dedup::{DedupConfig, cluster, dedup, pair_scores};
use nt_news::relevance::{RelevanceConfig, score as relevance};
use nt_news::sentiment::score as sentiment;
use nt_news::symbols::SymbolTable;

#[test]
fn dedup_precision_and_recall_on_the_syndicated_corpus() {
    let all = labelled();
    let articles: Vec<Article> = all.iter().map(|l| l.article.clone()).collect();
    let labels: Vec<&str> = all.iter().map(|l| l.story.as_str()).collect();
    let cfg = DedupConfig::default();
    let (clusters, links) = cluster(&articles, &cfg);
    let (p, r, true_pairs, pred_pairs) = pair_scores(&clusters, &labels);
    let stories: std::collections::BTreeSet<&str> = labels.iter().copied().collect();
    println!(
        "dedup: {} articles, {} true stories, {} clusters; pairs true {true_pairs} predicted {pred_pairs}; \
         precision {p:.4} recall {r:.4}; url links {}, text links {}",
        articles.len(),
        stories.len(),
        clusters.len(),
        links
            .iter()
            .filter(|l| l.2 == nt_news::dedup::Link::Url)
            .count(),
        links
            .iter()
            .filter(|l| l.2 == nt_news::dedup::Link::Text)
            .count(),
    );
    assert!(p >= 0.98, "precision {p}");
    assert!(r >= 0.95, "recall {r}");
    // URL-only baseline for comparison: far lower recall.
    let url_only = DedupConfig {
        threshold: 2.0,
        ..cfg
    };
    let (c2, _) = cluster(&articles, &url_only);
    let (p2, r2, _, _) = pair_scores(&c2, &labels);
    println!("dedup, canonical URL only: precision {p2:.4} recall {r2:.4}");
    assert!(r2 < r);

    // The ten-outlet story is one item listing ten outlets.
    let out = dedup(articles, &cfg);
    let max = out.iter().map(|s| s.outlets).max().unwrap_or(0);
    assert_eq!(max, 10, "a story carried by ten outlets lists ten");
}

#[test]
fn canonical_url_joins_the_corpus_url_duplicates() {
    let all = labelled();
    for l in all.iter().filter(|l| l.kind == "url-dup") {
        let orig = all
            .iter()
            .find(|o| o.story == l.story && o.kind == "original")
            .expect("original");
        assert_eq!(
            canonical_url(&l.article.url),
            orig.article.url,
            "{}",
            l.article.id
        );
    }
}

fn headlines() -> Vec<(i32, &'static str)> {
    include_str!("../fixtures/labelled_headlines.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (sign, text) = l.split_once('\t').expect("tab");
            (sign.parse().expect("sign"), text)
        })
        .collect()
}

#[test]
fn lexicon_sentiment_has_the_right_sign_on_labelled_headlines() {
    let set = headlines();
    let mut right = 0;
    let mut wrong = Vec::new();
    for (sign, text) in &set {
        let s = sentiment(text);
        if (s.score > 0.05 && *sign > 0) || (s.score < -0.05 && *sign < 0) {
            right += 1;
        } else {
            wrong.push(format!("{sign:+} {:.3} {text}", s.score));
        }
    }
    let acc = f64::from(right) / set.len() as f64;
    println!(
        "sentiment: {right}/{} headlines with the right sign, accuracy {acc:.3}",
        set.len()
    );
    for w in &wrong {
        println!("  wrong: {w}");
    }
    assert!(set.len() >= 50);
    assert!(acc >= 0.85, "accuracy {acc}");
}

#[test]
fn corpus_story_sentiment_follows_the_generator_sign() {
    // The generator wrote each event with a sign; beats and misses must
    // come out on their side.
    let all = labelled();
    let beats = all
        .iter()
        .filter(|l| l.article.title.contains("beats quarterly profit"));
    for l in beats {
        assert!(
            sentiment(&l.article.text()).score > 0.0,
            "{}",
            l.article.title
        );
    }
    let misses = all
        .iter()
        .filter(|l| l.article.title.contains("misses profit forecasts"));
    for l in misses {
        assert!(
            sentiment(&l.article.text()).score < 0.0,
            "{}",
            l.article.title
        );
    }
}

#[test]
fn throughput_of_dedup_relevance_and_sentiment() {
    // The corpus as it is (327 articles, syndicated groups of 1-10), run
    // through the whole pipeline several times: dedup, relevance of every
    // story for its ticker, lexicon sentiment of every article.
    let base: Vec<Article> = labelled().iter().map(|l| l.article.clone()).collect();
    let sym = SymbolTable::new();
    let now = nt_news::corpus::as_of_ms();
    let rounds = 5;
    let t0 = Instant::now();
    let mut acc = 0.0;
    let mut stories = 0;
    for _ in 0..rounds {
        let out = dedup(base.clone(), &DedupConfig::default());
        stories = out.len();
        for s in &out {
            let t: Vec<String> = s.tickers.iter().take(1).cloned().collect();
            acc += relevance(s, &t, None, now, &sym, &RelevanceConfig::default()).score;
        }
        for a in &base {
            acc += sentiment(&a.text()).score;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let n = base.len() * rounds;
    println!(
        "throughput: {n} articles through dedup + relevance + lexicon sentiment in {:.1} ms: {:.0} articles/s \
         ({} build; {stories} stories per round)",
        secs * 1000.0,
        n as f64 / secs,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert!(acc.is_finite());
    assert_eq!(stories, 94);
}

/// A small deterministic generator (64-bit LCG, Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn dedup_on_a_second_set_built_from_short_headlines() {
    // Independent of the corpus generator: each labelled headline is a
    // story (same-company stories about different events are the hard
    // negatives), carried by 1-6 outlets as exact copies, wire copies with
    // a dateline and tail, or copies with one word changed, some at the
    // same URL with tracking parameters. Headlines are short, so one changed
    // word removes a large share of shingles; this test prints what that
    // costs.
    let heads = headlines();
    let mut rng = Lcg(42);
    let outlets = [
        "Reuters",
        "Bloomberg",
        "CNBC",
        "MarketWatch",
        "Yahoo Finance",
        "Barron's",
    ];
    let swaps = [
        ("shares", "stock"),
        ("after", "following"),
        ("as", "while"),
        ("on", "amid"),
    ];
    let mut articles = Vec::new();
    let mut labels = Vec::new();
    for (k, (_, h)) in heads.iter().enumerate() {
        let copies = 1 + rng.next(6) as usize;
        for c in 0..copies {
            let (title, summary) = match if c == 0 { 0 } else { rng.next(3) } {
                0 => (h.to_string(), String::new()),
                1 => (
                    h.to_string(),
                    format!("({}) - {h}. More to follow.", outlets[0]),
                ),
                _ => {
                    let mut t = h.to_string();
                    for (a, b) in swaps {
                        let pat = format!(" {a} ");
                        if t.contains(&pat) {
                            t = t.replacen(&pat, &format!(" {b} "), 1);
                            break;
                        }
                    }
                    (t, String::new())
                }
            };
            let url = if c > 0 && rng.next(4) == 0 {
                format!("https://www.example-{k}.com/story/{k}?utm_source=feed")
            } else {
                format!(
                    "https://{}.example.com/{k}/{c}",
                    outlets[c % outlets.len()].replace(' ', "").to_lowercase()
                )
            };
            articles.push(Article {
                id: format!("h{k}-{c}"),
                source: "test".into(),
                outlet: outlets[c % outlets.len()].into(),
                url: canonical_url(&url),
                title,
                summary,
                body: None,
                published_ms: 1_796_000_000_000 + (k as i64) * 60_000 + c as i64,
                tickers: Vec::new(),
                language: "en".into(),
                provider_sentiment: None,
            });
            labels.push(format!("h{k}"));
        }
    }
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let (clusters, _) = cluster(&articles, &DedupConfig::default());
    let (p, r, t, pr) = pair_scores(&clusters, &labels);
    println!(
        "dedup, headline set: {} articles, {} stories, {} clusters; pairs true {t} predicted {pr}; precision {p:.4} recall {r:.4}",
        articles.len(),
        heads.len(),
        clusters.len()
    );
    assert!(p >= 0.95, "precision {p}");
    assert!(r >= 0.9, "recall {r}");
}
