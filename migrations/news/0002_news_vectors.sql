-- News bundle: model outputs per text, so a text is run through a model
-- once per database (shared by replicas, kept across restarts): sentence
-- embeddings and transformer sentiment probabilities. Portable SQL (SQLite
-- and PostgreSQL): the f32 vector as little-endian hex TEXT, BIGINT ms.

CREATE TABLE IF NOT EXISTS news_vectors (
    model TEXT NOT NULL,
    text_key TEXT NOT NULL,
    vec TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (model, text_key)
);

CREATE INDEX IF NOT EXISTS news_vectors_created ON news_vectors (created_ms);
