#!/usr/bin/env bash
# End-to-end tests of the real desktop window: the app (debug, UI embedded) under Xvfb, inside
# a private D-Bus session with an unlocked gnome-keyring (scripts/lib/with-keyring.sh, which
# also points HOME and the XDG folders at a throwaway folder), driven through tauri-driver and
# WebKitWebDriver by tests-e2e/*.e2e.mjs (node --test, a fetch-based WebDriver client).
# Screenshots go to docs/screenshots/app-*.png.
# tauri-driver is installed once into $PUSHDECK_TOOLS_DIR (default ~/.cache/pushdeck-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages
source scripts/lib/webdriver.sh
ensure_tauri_driver
build_embedded_ui
# The app, and the CLI whose `pushdeck emulator` stands in for a real organization (key test).
cargo build --locked -p pushdeck-app -p pushdeck-cli --features pushdeck-app/custom-protocol
export APP_BIN="$(bin_dir debug)/pushdeck-app" PUSHDECK_BIN="$(bin_dir debug)/pushdeck"
export E2E_SCREENSHOTS="$(pwd)/docs/screenshots"
# An app that outlived its WebDriver session is stopped when the suite ends, pass or fail.
trap 'pkill -f "^$APP_BIN" || true' EXIT
# E2E_FILES picks some suites (e.g. E2E_FILES=tests-e2e/sample.e2e.mjs); all by default.
# shellcheck disable=SC2086
xvfb-run -a -s "-screen 0 1280x800x24" scripts/lib/with-keyring.sh node --test --test-concurrency=1 ${E2E_FILES:-tests-e2e/*.e2e.mjs}
