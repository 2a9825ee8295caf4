#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time each (default 60 s), one after the
# other; stops at the first crash, whose input cargo-fuzz leaves in fuzz/artifacts/TARGET/.
# A crash found becomes a regression test in the crate that owns the parser.
#
#   scripts/proof-fuzz.sh            # 60 s per target
#   scripts/proof-fuzz.sh 600        # 10 min per target
#   FUZZ_TARGETS="sync_config emulator_request" scripts/proof-fuzz.sh 30
#
# Needs a nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET="${1:-60}"
TARGETS="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
for target in $TARGETS; do
  echo "== fuzz $target for ${SECONDS_PER_TARGET}s" >&2
  mkdir -p "corpus/$target"
  log="$CARGO_TARGET_DIR/fuzz-$target.log"
  mkdir -p "$CARGO_TARGET_DIR"
  status=0
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY|Test unit written)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -30 "$log" >&2
    echo "fuzz target $target failed (exit $status): input in fuzz/artifacts/$target/, log in $log" >&2
    exit 1
  fi
done
echo "every target ran ${SECONDS_PER_TARGET}s without a crash: $TARGETS" >&2
