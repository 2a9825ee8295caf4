#!/usr/bin/env bash
# Figures of the real desktop window (benchmarks that print numbers; not part of the tests):
# launch to first paint, frame times while 10,000 files sync, the permission diagram with
# 1,000 identities. Builds the release app with the UI embedded (`--features custom-protocol`),
# then runs tests-e2e/bench-app.mjs under Xvfb inside a private D-Bus session with an unlocked
# gnome-keyring (scripts/lib/with-keyring.sh), driven through tauri-driver + WebKitWebDriver.
#
# Usage: scripts/bench-app.sh [--runs N] [--files N] [--only launch|frames|diagram]
# Results are printed; docs/benchmarks.md ("Desktop app (real window)") has the last ones.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages
source scripts/lib/webdriver.sh
ensure_tauri_driver
build_embedded_ui
cargo build --locked --release -p pushdeck-app --features custom-protocol
export APP_BIN="$(bin_dir release)/pushdeck-app"
xvfb-run -a -s "-screen 0 1280x800x24" scripts/lib/with-keyring.sh node tests-e2e/bench-app.mjs "$@"
