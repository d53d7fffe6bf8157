-- Sports bets, one row each, per account (the shared account or a caller's
-- own). Amounts are decimal TEXT; times are ms since the epoch. A bet is
-- written with its audit_log row in the same transaction; (account,
-- client_id) makes placing the same bet twice place it once.
CREATE TABLE IF NOT EXISTS sports_bets (
    id              TEXT PRIMARY KEY,
    account         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    venue           TEXT NOT NULL,
    venue_bet_id    TEXT,
    sport           TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    market          TEXT NOT NULL,
    selection       TEXT NOT NULL,
    book            TEXT NOT NULL,
    odds            TEXT NOT NULL,
    stake           TEXT NOT NULL,
    status          TEXT NOT NULL,      -- open, won, lost, void
    pnl             TEXT,               -- set when settled
    placed_ms       BIGINT NOT NULL,
    settled_ms      BIGINT,
    UNIQUE (account, client_id)
);
CREATE INDEX IF NOT EXISTS sports_bets_account_idx ON sports_bets (account, placed_ms);
