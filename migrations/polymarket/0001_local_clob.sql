-- Polymarket bundle: the embedded local CLOB's state, risk settings and forecasts.
-- Prices, sizes and USDC amounts are TEXT holding exact decimals; times are BIGINT ms.
CREATE TABLE IF NOT EXISTS pm_markets (
    condition_id TEXT PRIMARY KEY,
    spec         TEXT NOT NULL,
    resolved     TEXT,
    updated_ms   BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS pm_accounts (
    account    TEXT PRIMARY KEY,
    cash       TEXT NOT NULL,
    reserved   TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS pm_positions (
    account    TEXT NOT NULL,
    token_id   TEXT NOT NULL,
    shares     TEXT NOT NULL,
    reserved   TEXT NOT NULL,
    cost       TEXT NOT NULL,
    realized   TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (account, token_id)
);

CREATE TABLE IF NOT EXISTS pm_orders (
    order_id        TEXT PRIMARY KEY,
    client_order_id TEXT,
    account         TEXT NOT NULL,
    market          TEXT NOT NULL,
    token_id        TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    side            TEXT NOT NULL,
    price           TEXT NOT NULL,
    size            TEXT NOT NULL,
    filled          TEXT NOT NULL,
    status          TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    UNIQUE (account, client_order_id)
);
CREATE INDEX IF NOT EXISTS pm_orders_status_idx ON pm_orders (status, seq);

CREATE TABLE IF NOT EXISTS pm_fills (
    trade_id       TEXT PRIMARY KEY,
    seq            BIGINT NOT NULL,
    market         TEXT NOT NULL,
    yes_price      TEXT NOT NULL,
    size           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    taker_order_id TEXT NOT NULL,
    taker_account  TEXT NOT NULL,
    taker_outcome  TEXT NOT NULL,
    taker_side     TEXT NOT NULL,
    taker_price    TEXT NOT NULL,
    maker_order_id TEXT NOT NULL,
    maker_account  TEXT NOT NULL,
    maker_outcome  TEXT NOT NULL,
    maker_side     TEXT NOT NULL,
    maker_price    TEXT NOT NULL,
    at_ms          BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pm_fills_market_idx ON pm_fills (market, seq);

CREATE TABLE IF NOT EXISTS pm_risk (
    id          TEXT PRIMARY KEY,
    limits      TEXT NOT NULL,
    kill_switch BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS pm_forecasts (
    id          TEXT PRIMARY KEY,
    market      TEXT NOT NULL,
    probability TEXT NOT NULL,
    source      TEXT NOT NULL,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pm_forecasts_market_idx ON pm_forecasts (market, at_ms);
