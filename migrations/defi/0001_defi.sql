-- DeFi bundle: Beefy API cache and the paper DeFi ledger.
-- Portable SQL (SQLite and PostgreSQL): TEXT for decimals, BIGINT for ms.

CREATE TABLE IF NOT EXISTS defi_api_cache (
    base TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    body TEXT NOT NULL,
    fetched_ms BIGINT NOT NULL,
    PRIMARY KEY (base, endpoint)
);

-- One paper vault per account: the price per share starts at the data's
-- price per full share when the account first deposits and grows at the
-- vault's APY from then on.
CREATE TABLE IF NOT EXISTS defi_paper_vaults (
    account TEXT NOT NULL,
    vault_id TEXT NOT NULL,
    ppfs_start TEXT NOT NULL,
    apy TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    shares TEXT NOT NULL,
    cost_want TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (account, vault_id)
);

CREATE TABLE IF NOT EXISTS defi_paper_ledger (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    client_id TEXT NOT NULL,
    vault_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    want_amount TEXT NOT NULL,
    shares TEXT NOT NULL,
    ppfs TEXT NOT NULL,
    fee_want TEXT NOT NULL,
    usd_value TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS defi_paper_ledger_client
    ON defi_paper_ledger (account, client_id);
