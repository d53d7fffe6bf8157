-- Neural bundle: trained models, one row per (name, version); versions count
-- up from 1 per name. Portable SQL (SQLite and PostgreSQL): JSON in TEXT,
-- times in BIGINT ms since the epoch, the weights as safetensors bytes
-- written in hex TEXT (no BLOB/BYTEA difference to carry), with their
-- SHA-256 to check on load. The f64 vectors a prediction uses are hex of
-- their little-endian bytes too, so a reloaded model is bit-exact.
CREATE TABLE IF NOT EXISTS neural_models (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    version         BIGINT NOT NULL,
    architecture    TEXT NOT NULL,      -- nbeats, nhits, gru, momentum
    hyper           TEXT NOT NULL,      -- hyper-parameters, JSON
    precision       TEXT NOT NULL,      -- f32, bf16 (trained in)
    device          TEXT NOT NULL,      -- cpu, cuda:0 (trained on)
    input_width     BIGINT NOT NULL,
    scaler          TEXT NOT NULL,      -- per-series scaler: JSON {mean, std}, each f64 LE hex
    residuals       TEXT NOT NULL,      -- sorted validation residuals per step: JSON [f64 LE hex]
    context         TEXT NOT NULL,      -- tail of the training series, f64 LE hex
    data_digest     TEXT NOT NULL,      -- sha256 of the series (f64 LE bytes)
    data_source     TEXT NOT NULL,
    data_points     BIGINT NOT NULL,
    metrics         TEXT NOT NULL,      -- holdout scores, JSON
    history         TEXT NOT NULL,      -- loss per epoch, JSON
    params          BIGINT NOT NULL,    -- scalar weights
    weights         TEXT NOT NULL,      -- safetensors bytes, hex
    weights_sha256  TEXT NOT NULL,
    created_ms      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX IF NOT EXISTS neural_models_created_idx ON neural_models (created_ms);
