-- Syndicates: pooled betting capital held as units at NAV. Amounts and
-- units are decimal TEXT, times ms since the epoch. Every change is written
-- with its ledger rows and its audit_log row in one transaction; `version`
-- guards against two calls changing the same syndicate at once.
CREATE TABLE IF NOT EXISTS syndicates (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    rules               TEXT NOT NULL,      -- JSON: quorum, approval, threshold, lock-up, fee, tiers
    cash                TEXT NOT NULL,
    at_risk             TEXT NOT NULL,
    units               TEXT NOT NULL,
    contributed         TEXT NOT NULL,
    withdrawn           TEXT NOT NULL,
    distributed         TEXT NOT NULL,
    realized_pnl        TEXT NOT NULL,
    version             BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_ms          BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS syndicate_members (
    syndicate_id        TEXT NOT NULL,
    member_id           TEXT NOT NULL,
    role                TEXT NOT NULL,      -- lead, analyst, member, observer
    units               TEXT NOT NULL,
    contributed         TEXT NOT NULL,
    withdrawn           TEXT NOT NULL,
    distributed         TEXT NOT NULL,
    locked_until_ms     BIGINT NOT NULL,
    joined_ms           BIGINT NOT NULL,
    PRIMARY KEY (syndicate_id, member_id)
);

CREATE TABLE IF NOT EXISTS syndicate_ledger (
    id                  TEXT PRIMARY KEY,
    syndicate_id        TEXT NOT NULL,
    seq                 BIGINT NOT NULL,
    member_id           TEXT,               -- null: the pool itself (bets)
    kind                TEXT NOT NULL,
    amount              TEXT NOT NULL,      -- signed: + into the pool
    units               TEXT NOT NULL,
    nav_per_unit        TEXT NOT NULL,
    reference           TEXT,
    at_ms               BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS syndicate_ledger_idx ON syndicate_ledger (syndicate_id, seq);

-- Bets: proposed (voting), rejected, placed, won, lost, void.
CREATE TABLE IF NOT EXISTS syndicate_bets (
    id                  TEXT PRIMARY KEY,
    syndicate_id        TEXT NOT NULL,
    proposer            TEXT NOT NULL,
    description         TEXT NOT NULL,
    selection           TEXT NOT NULL,
    odds                TEXT NOT NULL,
    stake               TEXT NOT NULL,
    probability         TEXT,
    status              TEXT NOT NULL,
    yes_units           TEXT NOT NULL,
    no_units            TEXT NOT NULL,
    pnl                 TEXT,
    created_ms          BIGINT NOT NULL,
    decided_ms          BIGINT,
    settled_ms          BIGINT
);
CREATE INDEX IF NOT EXISTS syndicate_bets_idx ON syndicate_bets (syndicate_id, created_ms);

CREATE TABLE IF NOT EXISTS syndicate_votes (
    bet_id              TEXT NOT NULL,
    member_id           TEXT NOT NULL,
    approve             BIGINT NOT NULL,    -- 1 yes, 0 no
    units               TEXT NOT NULL,
    at_ms               BIGINT NOT NULL,
    PRIMARY KEY (bet_id, member_id)
);
