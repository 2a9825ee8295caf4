#!/usr/bin/env bash
# The tray menu's screenshot for the README (docs/screenshots/app-tray-menu.png): the real app
# (UI embedded) under Xvfb with trayer as the desktop's status area, one folder synced into the
# Sandbox, the tray icon clicked with xdotool, the screen taken with ImageMagick. Not part of the
# test suite (the end-to-end suite checks the tray's state line through the app itself).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages
for tool in trayer xdotool import; do
  if ! command -v "$tool" >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
      apt-get install -y -qq --no-install-recommends trayer xdotool imagemagick >/dev/null
      break
    fi
    echo "$tool is missing; run as root: apt-get install -y trayer xdotool imagemagick" >&2
    exit 1
  fi
done
source scripts/lib/webdriver.sh
build_embedded_ui
cargo build --locked -p pushdeck-app --features pushdeck-app/custom-protocol
app="$(pwd)/target/debug/pushdeck-app"
out="$(pwd)/docs/screenshots/app-tray-menu.png"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/docs/Handbook" "$work/home/config/io.pushdeck.app"
echo "Welcome aboard." > "$work/docs/welcome.txt"
echo "Leave policy: 25 days a year." > "$work/docs/Handbook/leave.txt"
cat > "$work/home/config/io.pushdeck.app/config.toml" <<TOML
version = 1

[[folder]]
name = "Team handbook"
path = "$work/docs"
organization = "sandbox"
source = "documents"
provider = "sandbox"
TOML
cat > "$work/run.sh" <<SH
export XDG_CONFIG_HOME="$work/home/config" XDG_DATA_HOME="$work/home/data" XDG_CACHE_HOME="$work/home/cache"
trayer --edge top --align right --widthtype request --height 28 --SetDockType true --transparent false --tint 0xeeeeee &
sleep 2
"$app" >"$work/app.log" 2>&1 &
sleep 12
# The icon is the tray's only one, at the top right of the screen.
xdotool mousemove 1266 14 click 1
sleep 2
import -window root "$work/shot.png"
kill %2 %1
SH
xvfb-run -a -s "-screen 0 1280x800x24" scripts/lib/with-keyring.sh bash "$work/run.sh"
convert "$work/shot.png" -crop 660x260+620+0 +repage "$out"
echo "wrote $out"
