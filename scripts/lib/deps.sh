# Shared by scripts/*.sh: install the Debian packages a command needs, or say how.
# shellcheck shell=bash

# Packages to build and test the workspace: a C compiler for bundled SQLite, pkg-config, the
# WebKitGTK stack the Tauri shell links against (Tauri's Linux prerequisites,
# https://v2.tauri.app/start/prerequisites/, plus the tray's appindicator), python3 for
# scripts/check-boundaries.sh, a D-Bus session and gnome-keyring for the real keyring tests,
# Xvfb and WebKitWebDriver for the end-to-end tests of the real window, and Chromium for the
# web UI tests.
PUSHDECK_TEST_PACKAGES=(
  build-essential pkg-config libssl-dev file python3
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  dbus dbus-x11 gnome-keyring libsecret-tools keyutils at-spi2-core
  xvfb xauth webkit2gtk-driver chromium fonts-dejavu-core
)

ensure_system_packages() {
  local missing=()
  local pkg
  for pkg in "${PUSHDECK_TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing system packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages; run as root:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    return 1
  fi
}
