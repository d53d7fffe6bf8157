-- Background jobs: tool calls that outlived their deadline, and long work started as a job.
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    variant     TEXT NOT NULL,
    tool        TEXT NOT NULL,
    caller      TEXT NOT NULL,
    instance    TEXT NOT NULL,
    status      TEXT NOT NULL,
    progress    DOUBLE PRECISION,
    total       DOUBLE PRECISION,
    message     TEXT,
    result      TEXT,
    error       TEXT,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status_idx ON jobs (status, created_ms);

-- Append-only record of every tool call and every audited state change.
CREATE TABLE IF NOT EXISTS audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       BIGINT NOT NULL,
    variant     TEXT NOT NULL,
    tool        TEXT NOT NULL,
    caller      TEXT NOT NULL,
    args_digest TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_tool_idx ON audit_log (tool, at_ms);

CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
