#!/usr/bin/env bash
# Side-by-side benchmark: Pushdeck against Coveo's official JavaScript and Python Push API
# clients, each against its own local emulator (see bench/compare.py and docs/benchmarks.md).
#
#   scripts/bench-compare.sh --smoke              # 60 files: checks that the harness works
#   scripts/bench-compare.sh                      # 2,000 files (~40 MB); writes nothing
#   scripts/bench-compare.sh --out docs/benchmarks.md --count 2000
#
# Needs GNU time (/usr/bin/time, Debian package "time") for CPU time and peak memory.
# Installs what it needs first: the JS client from bench/official-js/package-lock.json
# (npm ci --ignore-scripts), the Python client in a venv under $CARGO_TARGET_DIR (or target/),
# and a release build of the pushdeck binary. Every other argument goes to bench/compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

echo "== installing the official JavaScript client (npm ci)" >&2
npm ci --ignore-scripts --no-audit --no-fund --silent --prefix bench/official-js >&2

VENV="$TARGET/bench-venv"
echo "== installing the official Python client in $VENV" >&2
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/official-py/requirements.txt >&2

echo "== building pushdeck (release)" >&2
cargo build --release --quiet -p pushdeck-cli >&2

exec python3 bench/compare.py --pushdeck "$TARGET/release/pushdeck" --python "$VENV/bin/python" "$@"
