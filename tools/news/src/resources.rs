//! The bundle's resources (the source list, how scores are made) and its
//! research prompt.

use std::collections::BTreeMap;

use nt_mcp_core::ToolError;
use nt_mcp_core::bundle::{PromptArg, PromptSpec, ResourceSpec, ResourceText, prompt_arg};

use crate::NewsBundle;

/// How the scores are made.
pub(crate) const SCORING: &str = "# How news scores are made\n\n\
## Dedup\n\
Articles with one canonical URL (https, host without www/m/amp, no fragment, no utm_* or other tracking \
parameters, remaining parameters sorted, no trailing / or /amp) are one page. Texts are compared as sets of \
word 2-shingles: 128 MinHash values in 32 LSH bands of 4 rows find candidates, and a pair whose exact Jaccard \
similarity is at least 0.5 is one story, unless both name companies and the sets are disjoint. A story lists \
every outlet that carried it.\n\n\
## Relevance\n\
score = 0.5·match + 0.3·recency + 0.2·source + coverage. match: a tagged ticker or the ticker in the title 1, \
an alias in the title 0.85, the ticker in the text 0.8, an alias in the text 0.6, averaged with the share of \
query words found (title 1, text 0.7). recency = 0.5^(age_hours / half_life_hours) (24 h by default). source: \
the best outlet weight among the carriers (wires and regulators 0.9-1, unknown 0.5). coverage = \
min(0.1, 0.1·ln(outlets)/ln(10)). `explain: true` returns every part.\n\n\
## Sentiment\n\
A finance lexicon written for this project (words and phrases valued -3 to +3). A negator within three words \
before a term multiplies it by -0.74; intensifiers and dampeners within two words before (or an -ly adverb \
right after) scale it ×0.5 to ×1.5. The sum s is normalised to s/sqrt(s²+15). Per ticker, stories in the \
window are averaged weighted by relevance. Alpha Vantage's own score is shown beside it when given.\n\n\
### Transformer sentiment\n\
When a sentiment model directory is configured (`sentiment_model_dir` / NEWS_SENTIMENT_MODEL_DIR: a Hugging \
Face BertForSequenceClassification in `model.safetensors` with `config.json` and `tokenizer.json` or \
`vocab.txt`, e.g. FinBERT), each story's title + summary is tokenized (BERT WordPiece, at most 256 tokens), run \
through the BERT encoder in candle on the CPU, the pooler (tanh of a dense layer on [CLS]) and the classifier; \
score = P(positive) − P(negative) from the softmax, labels from `id2label`. `news_sentiment` and `news_signal` \
then say `method: transformer:<model>` (else `lexicon`); the lexicon score is shown beside it. Outputs are \
kept in the database per model and text.\n\n\
## Signals\n\
volume_z = (stories in the last 24 h − mean per earlier day) / max(sd, 0.5); sentiment_shock = (mean sentiment \
today − earlier mean) / max(earlier sd, 0.25). long when volume_z ≥ threshold and shock ≥ 1, short when shock \
≤ −1. A suggestion is a paper order and its reason; nothing is placed.\n\n\
## Similar stories and semantic search\n\
With an embedding model (`embed_model_dir` / NEWS_EMBED_MODEL_DIR; all-MiniLM-L6-v2, fetched by \
scripts/fetch-models.sh): title + summary are tokenized (BERT WordPiece, uncased, at most 256 tokens), run \
through the 6-layer BERT encoder in candle (batches of 32 on the CPU), mean-pooled over the attention mask and \
L2-normalised, as sentence-transformers does (checked against an independent numpy implementation to 1e-4). \
Similarity is the cosine of two vectors (-1 to 1; default floor 0.3). Vectors are kept in the database \
(`news_vectors`, per model and text hash, 30 days), so a story is embedded once. `news_similar` then answers \
`method: embeddings`; `news_search` with `semantic: true` ranks the window's stories by the cosine of query and \
story (`method: embeddings:<model>`). Without a model, `news_similar` is lexical (`method: lexical`): Jaccard \
similarity of content-word sets averaged with that of word 3-shingles.\n";

/// The source list, with what is configured now.
fn source_list(b: &NewsBundle) -> String {
    let mut t = String::from(
        "# News and rates sources\n\n\
| source | kind | needs |\n|---|---|---|\n\
| corpus | embedded, project-written articles with syndicated copies | nothing |\n\
| newsapi | NewsAPI v2 everything / top-headlines | NEWSAPI_KEY |\n\
| finnhub | Finnhub company-news / news | FINNHUB_API_KEY |\n\
| alphavantage | Alpha Vantage NEWS_SENTIMENT | ALPHAVANTAGE_API_KEY |\n\
| sec-edgar | SEC EDGAR 8-K Atom feeds | NEWS_LIVE_FEEDS=true and NEWS_SEC_USER_AGENT |\n\
| gdelt | GDELT DOC 2.0 article list | NEWS_LIVE_FEEDS=true |\n\
| rss:<name> | RSS/Atom feeds (default Federal Reserve, SEC press) | NEWS_LIVE_FEEDS=true or NEWS_RSS_FEEDS |\n\
| treasury | US Treasury daily par yield curve | NEWS_LIVE_FEEDS=true |\n\
| fred | FRED series | FRED_API_KEY |\n\
| boc | Bank of Canada Valet series | NEWS_LIVE_FEEDS=true |\n\n\
## Configured now\n\n",
    );
    for s in &b.aggregator.sources {
        t.push_str(&format!(
            "- {} ({})\n",
            s.source.name(),
            if s.source.live() { "live" } else { "embedded" }
        ));
    }
    for (name, on) in [
        ("treasury", b.treasury.is_some()),
        ("fred", b.fred.is_some()),
        ("boc", b.boc.is_some()),
    ] {
        if on {
            t.push_str(&format!("- {name} (rates)\n"));
        }
    }
    t
}

/// The resources the bundle publishes.
pub(crate) fn resources() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            uri: "news://sources".into(),
            name: "News and rates sources".into(),
            description:
                "Every source the bundle can use, what each needs, and which are configured.".into(),
            mime_type: "text/markdown".into(),
        },
        ResourceSpec {
            uri: "news://scoring".into(),
            name: "How news scores are made".into(),
            description:
                "Dedup, relevance, lexicon and transformer sentiment, signals, embeddings and similarity, with their formulas."
                    .into(),
            mime_type: "text/markdown".into(),
        },
    ]
}

/// Reads one of the resources.
pub(crate) fn read_resource(b: &NewsBundle, uri: &str) -> Result<ResourceText, ToolError> {
    let text = match uri {
        "news://sources" => source_list(b),
        "news://scoring" => SCORING.to_string(),
        _ => return Err(ToolError::not_found(format!("no resource {uri}"))),
    };
    Ok(ResourceText {
        mime_type: "text/markdown".into(),
        text,
    })
}

/// The prompts the bundle publishes.
pub(crate) fn prompts() -> Vec<PromptSpec> {
    vec![PromptSpec {
        name: "news_research".into(),
        description: "Research the news on a ticker: deduplicated stories, sentiment, the news signal and the rates backdrop.".into(),
        arguments: vec![
            PromptArg {
                name: "ticker".into(),
                description: "Ticker or company name, e.g. AAPL or Apple.".into(),
                required: true,
            },
            PromptArg {
                name: "days".into(),
                description: "How many days back to look (default 7).".into(),
                required: false,
            },
        ],
    }]
}

/// Renders a prompt.
pub(crate) fn render_prompt(
    name: &str,
    args: &BTreeMap<String, String>,
) -> Result<String, ToolError> {
    if name != "news_research" {
        return Err(ToolError::not_found(format!("no prompt {name}")));
    }
    let ticker = prompt_arg(args, "ticker")?;
    let days: u32 = match args.get("days").map(|d| d.trim()).filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse()
            .map_err(|_| ToolError::invalid("days", "a whole number of days"))?,
        None => 7,
    };
    Ok(format!(
        "Research the news on {ticker} over the last {days} days.\n\n\
1. Call `news_search` with tickers [\"{ticker}\"], since_hours {h}, explain true. Note which stories many outlets carried and which sources answered.\n\
2. Call `news_sentiment` for {ticker} with window_hours {h}; read the strongest positive and negative stories and check the lexicon hits make sense.\n\
3. Call `news_signal` for {ticker}: is news volume unusual (volume_z) and is the tone shifting (sentiment_shock)?\n\
4. Call `rates_yield_curve` for the rates backdrop when rates matter to the name.\n\
5. Summarise: the three stories that matter, the tone and whether it is changing, the signal and its reason, and what would change your view. Say which sources the answers came from (`source: corpus` means the embedded corpus, not live news).",
        h = days * 24
    ))
}
