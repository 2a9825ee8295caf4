# shellcheck shell=bash
# Installs the UI's npm packages from the lock file (no install scripts: nothing downloads a
# browser or a driver) and builds ui/dist, which the desktop app embeds at compile time.
build_ui() {
  (cd ui && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && npm run build)
}
