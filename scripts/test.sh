#!/usr/bin/env bash
# The project's test command (README): every crate's unit tests and the
# integration tests that drive the real binary over stdio and HTTP.
# PostgreSQL tests use postgres://postgres@127.0.0.1:5432/test (override with
# NT_TEST_POSTGRES_URL); they skip when it is unreachable unless CI=true.
# Model files (the news bundle's embedding model, all-MiniLM-L6-v2) are
# fetched into a cache outside the checkout by scripts/fetch-models.sh; the
# tests that need them skip when the fetch fails, unless CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${NT_EMBED_MODEL_DIR:-}" ]; then
  if models="$(bash scripts/fetch-models.sh)"; then
    export NT_EMBED_MODEL_DIR="$models"
  elif [ "${CI:-}" = "true" ]; then
    echo "test: scripts/fetch-models.sh failed; CI needs the model files" >&2
    exit 1
  else
    echo "test: model files not fetched; the tests that need them will say they skipped" >&2
  fi
fi
exec cargo test --workspace --locked "$@"
