-- Polymarket bundle: orders sent to the real CLOB, keyed by the caller's client
-- order id so the same id twice posts one order. The row is written (status
-- 'pending', with the signed order) before the order is posted; the venue's
-- order id and answer are filled in after. Prices/sizes are exact decimal TEXT.
CREATE TABLE IF NOT EXISTS pm_live_orders (
    client_order_id TEXT PRIMARY KEY,
    venue_order_id  TEXT,
    market          TEXT NOT NULL,
    token_id        TEXT NOT NULL,
    side            TEXT NOT NULL,
    price           TEXT NOT NULL,
    size            TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    signed_order    TEXT NOT NULL,
    response        TEXT,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pm_live_orders_venue_idx ON pm_live_orders (venue_order_id);
