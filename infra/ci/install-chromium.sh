#!/usr/bin/env bash
# Install headless Chromium (Debian's package) for the dashboard's browser test.
# Idempotent and quick when it is already there. Playwright (PyPI, requirements-dev.txt)
# drives this binary; `playwright install` is never needed (it downloads its own browser).
# Exit 0 even when it cannot install: the test then skips with a clear message.
set -uo pipefail
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no apt-get here; install Chromium and set CHROMIUM_PATH" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
fi
if $SUDO apt-get install -y -qq chromium >/dev/null 2>&1 && [ -x "$CHROMIUM" ]; then
  echo "install-chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2
else
  echo "install-chromium: could not install the chromium package; the browser test will skip" >&2
fi
exit 0
