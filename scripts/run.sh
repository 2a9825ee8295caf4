#!/usr/bin/env bash
# Runs Pushdeck's main job. Until the desktop app lands, that is the Sandbox: the local Push API
# emulator, on loopback, with organization "sandbox", source "documents", provider "sandbox".
# Extra arguments go to `pushdeck emulator` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages
exec cargo run --locked --quiet -p pushdeck-cli --bin pushdeck -- emulator "$@"
