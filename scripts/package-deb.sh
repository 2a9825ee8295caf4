#!/usr/bin/env bash
# Builds the desktop app as a Debian package (release build, the UI embedded) with the Tauri CLI
# from ui/'s lock file (`@tauri-apps/cli`, a prebuilt binary from npm). Prints the .deb's path.
# Installs what is missing first, as the other commands do. Not part of the default test run
# (a release build takes several minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages
source scripts/lib/ui-build.sh
build_ui
# The CLI looks for the Tauri project from the current folder (run it from the repository
# root) and runs beforeBuildCommand in the frontend folder, which it would otherwise guess from
# the first package.json it finds.
TAURI_FRONTEND_PATH="$(pwd)/ui" ui/node_modules/.bin/tauri build --bundles deb --ci "$@"
TARGET="${CARGO_TARGET_DIR:-target}"
DEB="$(ls -t "$TARGET"/release/bundle/deb/*.deb | head -n 1)"
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Description:/p'
echo "$DEB"
