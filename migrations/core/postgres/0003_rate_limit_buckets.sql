-- Per-caller token buckets shared by every server process of a variant
-- (used on PostgreSQL; a SQLite server keeps its buckets in memory).
CREATE TABLE IF NOT EXISTS rate_limit_buckets (
    variant     TEXT NOT NULL,
    caller      TEXT NOT NULL,
    tokens      DOUBLE PRECISION NOT NULL,
    admitted    BOOLEAN NOT NULL,
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (variant, caller)
);
