#!/usr/bin/env bash
# Install the headless browser the tests open the HTML leaderboard in
# (tests/test_leaderboard_html.py): Debian's chromium and chromium-driver. The benchmark
# does not need it. Idempotent; without root or apt-get it says what to install and exits 0
# (the browser test is then skipped, saying why).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

[[ -x $CHROMIUM && -x $CHROMEDRIVER ]] && exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "zoo set-up: headless Chromium missing; as root on Debian or Ubuntu run:" >&2
    echo "  apt-get install chromium chromium-driver" >&2
    exit 0
fi

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
echo "zoo set-up: headless Chromium installed"
