#!/usr/bin/env bash
# The project's test command (README): every crate's unit tests and the
# integration tests that drive the real binary over stdio and HTTP.
# PostgreSQL tests use postgres://postgres@127.0.0.1:5432/test (override with
# NT_TEST_POSTGRES_URL); they skip when it is unreachable unless CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --locked "$@"
