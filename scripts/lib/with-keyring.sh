#!/usr/bin/env bash
# Runs "$@" inside a private D-Bus session with a real, unlocked gnome-keyring (Secret Service),
# so the keyring tests talk to a real keyring daemon and never touch the user's own keyring.
# HOME points to a throwaway folder (a fresh login.keyring is created there, already unlocked);
# cargo and rustup keep their real homes.
set -euo pipefail
if [ -z "${PUSHDECK_IN_KEYRING_SESSION:-}" ]; then
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  export PUSHDECK_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
export HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/.local/share" XDG_CONFIG_HOME="$keyring_home/.config"
echo -n "pushdeck-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
export PUSHDECK_TEST_KEYRING=secret-service
"$@"
