//! `nt-news`: the news bundle (`news`).
//!
//! * [`article`]: the one article type and canonical URLs;
//! * [`source`]: the source trait, the query, per-source health;
//! * [`corpus`]: the embedded default corpus (`source: corpus`);
//! * [`symbols`]: tickers and company aliases;
//! * [`aggregate`]: concurrent fan-out, merge, the database [`cache`];
//! * [`dedup`]: canonical-URL and MinHash/LSH near-duplicate clustering;
//! * [`relevance`]: ticker/alias match, recency decay, source weight;
//! * [`sentiment`]: the finance lexicon scorer.

pub mod aggregate;
pub mod article;
pub mod cache;
pub mod clients;
pub mod corpus;
pub mod dedup;
pub mod error;
pub mod rates;
pub mod relevance;
pub mod sentiment;
pub mod source;
pub mod symbols;

pub use error::NewsError;

use nt_mcp_core::Migration;

/// The bundle's migrations (`migrations/news`).
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "news/0001_news",
        include_str!("../../../migrations/news/0001_news.sql"),
    )]
}
