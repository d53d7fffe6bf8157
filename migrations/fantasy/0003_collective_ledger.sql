-- Collective money as a ledger. Every movement of a collective's money is
-- one row here (written with an audit_log row in the same transaction);
-- balances are sums over it and are stored nowhere else:
--   pool         = SUM(amount) WHERE member IS NULL
--   member credit = SUM(amount) WHERE member = m       (withdrawable cash)
--   member stake  = -SUM(amount) WHERE member = m AND kind = 'capital'
--   member paid   = SUM(amount) WHERE member = m AND kind = 'payout'
-- Kinds: deposit, entry_fee, capital, league_fee, winnings, payout,
-- withdraw, opening (balances carried over from 0001's columns).
CREATE TABLE IF NOT EXISTS fantasy_collective_ledger (
    id              TEXT PRIMARY KEY,
    collective_id   TEXT NOT NULL,
    member          TEXT,               -- null: the collective's pool
    kind            TEXT NOT NULL,
    amount          TEXT NOT NULL,      -- signed decimal, + into the account
    reference       TEXT,               -- proposal id, league id, ...
    at_ms           BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS fantasy_collective_ledger_idx ON fantasy_collective_ledger (collective_id, member);

-- Entry fee each member pays into the pool on joining (not part of the stake).
ALTER TABLE fantasy_collectives ADD COLUMN member_fee TEXT NOT NULL DEFAULT '0';

-- Carry the balances of 0001's columns into the ledger, then clear the
-- columns (pool, stake, paid_out are no longer read: the ledger is the truth).
INSERT INTO fantasy_collective_ledger (id, collective_id, member, kind, amount, reference, at_ms)
    SELECT 'opening:' || id, id, NULL, 'opening', pool, NULL, created_ms FROM fantasy_collectives;
INSERT INTO fantasy_collective_ledger (id, collective_id, member, kind, amount, reference, at_ms)
    SELECT 'opening-stake:' || collective_id || ':' || member, collective_id, member, 'opening', stake, NULL, joined_ms
    FROM fantasy_collective_members;
INSERT INTO fantasy_collective_ledger (id, collective_id, member, kind, amount, reference, at_ms)
    SELECT 'opening-capital:' || collective_id || ':' || member, collective_id, member, 'capital', '-' || stake, NULL, joined_ms
    FROM fantasy_collective_members;
INSERT INTO fantasy_collective_ledger (id, collective_id, member, kind, amount, reference, at_ms)
    SELECT 'opening-paid:' || collective_id || ':' || member, collective_id, member, 'payout', paid_out, NULL, joined_ms
    FROM fantasy_collective_members;
UPDATE fantasy_collectives SET pool = '0';
UPDATE fantasy_collective_members SET stake = '0', paid_out = '0';
