-- Brokers bundle: paper broker state, venue order map, compliance rules,
-- FX rates, OAuth tokens and the hash-chained audit trail.
-- Prices, quantities and cash are TEXT holding decimals; times are BIGINT ms.
CREATE TABLE IF NOT EXISTS broker_paper_accounts (
    account_id    TEXT PRIMARY KEY,
    base_currency TEXT NOT NULL,
    created_ms    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS broker_paper_cash (
    account_id TEXT NOT NULL,
    currency   TEXT NOT NULL,
    amount     TEXT NOT NULL,
    PRIMARY KEY (account_id, currency)
);
CREATE TABLE IF NOT EXISTS broker_paper_orders (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    side            TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    tif             TEXT NOT NULL,
    qty             TEXT NOT NULL,
    limit_price     TEXT,
    stop_price      TEXT,
    trail_amount    TEXT,
    trail_percent   TEXT,
    extreme_price   TEXT,
    triggered       BIGINT NOT NULL,
    status          TEXT NOT NULL,
    filled_qty      TEXT NOT NULL,
    avg_fill_price  TEXT,
    commission      TEXT NOT NULL,
    reason          TEXT,
    checked_step    BIGINT NOT NULL,
    expires_ms      BIGINT,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    UNIQUE (account_id, client_order_id)
);
CREATE INDEX IF NOT EXISTS broker_paper_orders_status_idx ON broker_paper_orders (account_id, status);
CREATE TABLE IF NOT EXISTS broker_paper_fills (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    account_id TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    currency   TEXT NOT NULL,
    side       TEXT NOT NULL,
    qty        TEXT NOT NULL,
    price      TEXT NOT NULL,
    commission TEXT NOT NULL,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS broker_paper_fills_account_idx ON broker_paper_fills (account_id, at_ms);
CREATE TABLE IF NOT EXISTS broker_paper_positions (
    account_id   TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    qty          TEXT NOT NULL,
    avg_price    TEXT NOT NULL,
    realized_pnl TEXT NOT NULL,
    PRIMARY KEY (account_id, symbol)
);
CREATE TABLE IF NOT EXISTS broker_paper_marks (
    symbol TEXT PRIMARY KEY,
    price  TEXT NOT NULL,
    at_ms  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS broker_venue_orders (
    venue           TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    venue_order_id  TEXT,
    status          TEXT NOT NULL,
    body            TEXT,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    PRIMARY KEY (venue, client_order_id)
);
CREATE TABLE IF NOT EXISTS broker_compliance_rules (
    account_id TEXT PRIMARY KEY,
    rules      TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS broker_fx_rates (
    currency TEXT NOT NULL,
    day      TEXT NOT NULL,
    rate     TEXT NOT NULL,
    PRIMARY KEY (currency, day)
);
CREATE TABLE IF NOT EXISTS broker_oauth_tokens (
    venue         TEXT PRIMARY KEY,
    refresh_token TEXT NOT NULL,
    access_token  TEXT,
    api_server    TEXT,
    expires_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS broker_audit (
    seq             BIGINT PRIMARY KEY,
    at_ms           BIGINT NOT NULL,
    venue           TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    order_id        TEXT,
    client_order_id TEXT,
    payload         TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
