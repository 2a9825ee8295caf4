#!/usr/bin/env bash
# Runs every test of the default suite. Installs what it needs first:
# system packages through apt-get when run as root (otherwise it prints the apt-get line),
# npm packages from the lock files, Rust crates through cargo, tauri-driver through cargo.
# Slow suites (benchmarks, soak, fuzz) have their own commands, listed in ARCHITECTURE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source scripts/lib/ui-build.sh
ensure_system_packages
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Dependency boundaries (ARCHITECTURE.md, invariant 2): seconds, so before the long builds.
bash scripts/check-boundaries.sh
# The UI is built first: the desktop app embeds ui/dist.
build_ui
cargo build --workspace --locked --all-targets
# Keyring tests need a real Secret Service: run the suite under a private D-Bus session.
scripts/lib/with-keyring.sh cargo test --workspace --locked
# The web UI in headless Chromium against the fake host.
bash scripts/test-ui.sh
# The real desktop window under Xvfb, driven over WebDriver.
bash scripts/test-e2e.sh
