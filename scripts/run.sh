#!/usr/bin/env bash
# Runs the Pushdeck desktop app in Sandbox mode (the embedded Push API emulator; no Coveo
# account needed): installs what is missing (Debian packages as root, npm packages from the
# lock file), builds the web UI, builds the app with the UI embedded (feature custom-protocol:
# a plain `cargo build` would load the dev server's URL instead), and starts it.
# Needs a display ($DISPLAY or $WAYLAND_DISPLAY); on a headless machine run it under
# `xvfb-run -a scripts/run.sh`. The previous command-line Sandbox is `pushdeck emulator`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages
[ -d ui/node_modules ] || npm ci --ignore-scripts --no-audit --no-fund --prefix ui
npm --prefix ui run build
cargo build --locked -p pushdeck-app --features custom-protocol
exec "${CARGO_TARGET_DIR:-target}/debug/pushdeck-app" "$@"
