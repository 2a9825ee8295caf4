#!/usr/bin/env bash
# Builds the web UI and runs its tests in headless Debian Chromium against the fake host.
# Installs what it needs: chromium (apt-get, when run as root; otherwise it prints the line),
# then the npm packages from ui/package-lock.json (no install scripts, so nothing downloads a
# browser or a driver). Options:
#   --screenshots   also refresh docs/screenshots/*.png from the tests
#   --bench         then print the UI figures (first paint, diagram, frame times)
set -euo pipefail
cd "$(dirname "$0")/.."

screenshots=0
bench=0
for arg in "$@"; do
  case "$arg" in
    --screenshots) screenshots=1 ;;
    --bench) bench=1 ;;
    *) echo "unknown option $arg (try --screenshots or --bench)" >&2; exit 2 ;;
  esac
done

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing chromium (for the UI tests)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  else
    echo "chromium is missing; run as root:" >&2
    echo "  sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core" >&2
    exit 1
  fi
fi

cd ui
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
npm run build
if [ "$screenshots" -eq 1 ]; then export UPDATE_SCREENSHOTS=1; fi
npm test
if [ "$bench" -eq 1 ]; then npm run bench; fi
