#!/usr/bin/env bash
# Debian packages some tests use: Chromium (the dashboard's browser test, driven by
# Playwright from PyPI — never `playwright install`, which downloads its own browser),
# the deploy scripts' lint (shellcheck) and prometheus (promtool checks /metrics and the rules;
# `./surge up --observability` runs its server). Idempotent and quick when they are there.
# Exits 0 even when it cannot install: those tests then skip with a clear message.
set -uo pipefail
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-tools: no apt-get here; install ${missing[*]} yourself" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache policy "${missing[@]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
fi
if $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
  echo "install-system-tools: installed ${missing[*]}" >&2
else
  echo "install-system-tools: could not install ${missing[*]}; the tests that need them will skip" >&2
fi
exit 0
