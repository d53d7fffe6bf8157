-- E2B bundle: sandboxes (local directories or remote E2B sandboxes), the
-- runs made in them and template builds. Times are ms since the epoch;
-- JSON is TEXT. Portable SQL: runs unchanged on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS e2b_sandboxes (
    id              TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,      -- local, e2b
    template        TEXT NOT NULL,
    root            TEXT NOT NULL,      -- local: the sandbox directory; e2b: empty
    remote_id       TEXT,               -- e2b: the E2B sandbox id
    status          TEXT NOT NULL,      -- running, killed, expired, reaped
    env             TEXT NOT NULL,      -- JSON object the sandbox was created with
    metadata        TEXT NOT NULL,      -- JSON object
    instance        TEXT NOT NULL,      -- server instance that created it
    created_ms      BIGINT NOT NULL,
    expires_ms      BIGINT NOT NULL,
    ended_ms        BIGINT
);

CREATE INDEX IF NOT EXISTS e2b_sandboxes_status ON e2b_sandboxes (status, expires_ms);

CREATE TABLE IF NOT EXISTS e2b_runs (
    id              TEXT PRIMARY KEY,
    sandbox_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- run, start, agent
    command         TEXT NOT NULL,
    instance        TEXT NOT NULL,      -- server instance running it
    status          TEXT NOT NULL,      -- queued, running, exited, timeout, killed, failed, orphaned
    exit_code       BIGINT,
    started_ms      BIGINT NOT NULL,
    duration_ms     BIGINT,
    stdout_bytes    BIGINT NOT NULL DEFAULT 0,
    stderr_bytes    BIGINT NOT NULL DEFAULT 0,
    truncated       BIGINT NOT NULL DEFAULT 0,
    output_digest   TEXT,               -- SHA-256 of the full stdout then stderr
    error           TEXT
);

CREATE INDEX IF NOT EXISTS e2b_runs_sandbox ON e2b_runs (sandbox_id, started_ms);
CREATE INDEX IF NOT EXISTS e2b_runs_status ON e2b_runs (status);

CREATE TABLE IF NOT EXISTS e2b_builds (
    id              TEXT PRIMARY KEY,
    template        TEXT NOT NULL,
    target          TEXT NOT NULL,      -- e2b, local
    remote_template TEXT,
    remote_build    TEXT,
    status          TEXT NOT NULL,      -- prepared, waiting, building, ready, error
    request         TEXT NOT NULL,      -- JSON build request sent (or prepared)
    logs            TEXT NOT NULL,      -- JSON array of log lines
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL
);
