-- News bundle: the cache of source answers (articles as JSON per source and
-- query key) and of rates series. Portable SQL (SQLite and PostgreSQL):
-- TEXT bodies, BIGINT milliseconds.

CREATE TABLE IF NOT EXISTS news_cache (
    source TEXT NOT NULL,
    query_key TEXT NOT NULL,
    body TEXT NOT NULL,
    fetched_ms BIGINT NOT NULL,
    PRIMARY KEY (source, query_key)
);

CREATE INDEX IF NOT EXISTS news_cache_fetched ON news_cache (fetched_ms);
