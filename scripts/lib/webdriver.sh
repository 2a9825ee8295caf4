# shellcheck shell=bash
# What the WebDriver suites (scripts/test-e2e.sh, scripts/bench-app.sh) share: tauri-driver,
# installed once with cargo into $PUSHDECK_TOOLS_DIR (default ~/.cache/pushdeck-tools), the UI
# built for embedding, and where cargo puts the binaries.

ensure_tauri_driver() {
  local tools="${PUSHDECK_TOOLS_DIR:-$HOME/.cache/pushdeck-tools}"
  if [ ! -x "$tools/bin/tauri-driver" ]; then
    cargo install tauri-driver --version '^2' --locked --root "$tools"
  fi
  export TAURI_DRIVER="$tools/bin/tauri-driver" NO_AT_BRIDGE=1
}

# Builds ui/dist (npm packages from the lock file when they are missing).
build_embedded_ui() {
  [ -d ui/node_modules ] || npm ci --ignore-scripts --no-audit --no-fund --prefix ui
  npm --prefix ui run build
}

# The absolute folder of cargo's PROFILE (debug or release) binaries; honours CARGO_TARGET_DIR.
bin_dir() {
  local target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$(pwd)/$target" ;; esac
  echo "$target/$1"
}
