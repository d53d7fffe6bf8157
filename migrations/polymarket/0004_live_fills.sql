-- Polymarket bundle: what the CLOB's authenticated user WebSocket channel
-- (wss://ws-subscriptions-clob.polymarket.com/ws/user) reports of this API
-- key's orders and trades.
--
-- pm_live_orders.size_matched: shares of the order matched so far, from the
-- channel's `order` events (NULL until one arrives).
--
-- pm_live_fills: one row per venue trade id; a repeated frame changes
-- nothing, a newer status (MATCHED -> MINED -> CONFIRMED, RETRYING, FAILED)
-- updates the row. client_order_id names the order of this server the fill
-- belongs to, NULL when this server did not place it (placed_here = 0).
-- Prices and sizes are exact decimal TEXT; times are BIGINT ms.
ALTER TABLE pm_live_orders ADD COLUMN size_matched TEXT;

CREATE TABLE IF NOT EXISTS pm_live_fills (
    trade_id        TEXT PRIMARY KEY,
    market          TEXT NOT NULL,
    asset_id        TEXT NOT NULL,
    side            TEXT NOT NULL,
    price           TEXT NOT NULL,
    size            TEXT NOT NULL,
    outcome         TEXT,
    status          TEXT NOT NULL,
    taker_order_id  TEXT NOT NULL,
    role            TEXT NOT NULL,
    venue_order_id  TEXT,
    client_order_id TEXT,
    placed_here     BIGINT NOT NULL,
    own_size        TEXT NOT NULL,
    own_price       TEXT NOT NULL,
    maker_orders    TEXT NOT NULL,
    match_time      TEXT,
    last_update     TEXT,
    first_seen_ms   BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pm_live_fills_order_idx ON pm_live_fills (client_order_id);
CREATE INDEX IF NOT EXISTS pm_live_fills_updated_idx ON pm_live_fills (updated_ms);
