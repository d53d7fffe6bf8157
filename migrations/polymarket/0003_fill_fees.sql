-- Polymarket bundle: the platform fee the taker paid on each local CLOB
-- match (CLOB V2 fees: taker-only, exact decimal TEXT). Fills written before
-- fees were charged paid none.
ALTER TABLE pm_fills ADD COLUMN taker_fee TEXT NOT NULL DEFAULT '0';
