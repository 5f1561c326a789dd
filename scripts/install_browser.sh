#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/test_browser.py), driven there by Playwright's Python package;
# no browser is downloaded from anywhere else. Idempotent; needs root or sudo the first time.
set -euo pipefail
if [ -x "${DYADSIM_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "install_browser: $("${DYADSIM_CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -1)"
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install_browser: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
