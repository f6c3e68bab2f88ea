#!/usr/bin/env bash
# Create (or refresh) .venv-localstack: LocalStack-core as a plain Python process, no Docker.
#
#   bash infra/localstack/setup.sh        # idempotent; prints the venv's python on stdout
#
# Exit codes: 0 ready; 3 no Python >= 3.13 on this machine (callers skip, never fail);
# anything else is a real install failure.
# Python: $LOCALSTACK_PYTHON if set, else python3.13/3.14 on PATH, else pyenv's versions.
# LocalStack 2026.3.0 needs 3.13 (it imports warnings.deprecated), though PyPI says >=3.10.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${LOCALSTACK_VENV:-.venv-localstack}
REQ=infra/localstack/requirements.txt

log() { printf '[localstack-setup] %s\n' "$*" >&2; }

usable() { # usable PYTHON: true when it runs and is >= 3.13
  [ -n "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 13))' >/dev/null 2>&1
}

find_python() {
  local candidate
  for candidate in "${LOCALSTACK_PYTHON:-}" python3.13 python3.14 \
    "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.1[3-9]*/bin/python3; do
    if usable "$candidate"; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

stamp="$(sha256sum "$REQ" | cut -c1-16)"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

if ! python=$(find_python); then
  log "no Python >= 3.13 found (tried \$LOCALSTACK_PYTHON, python3.13, python3.14, pyenv versions);"
  log "LocalStack-core 2026.3.0 cannot run on older Pythons. Install one (e.g. pyenv install 3.13) to enable it."
  exit 3
fi

log "installing $REQ into $VENV with $python"
start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
echo "$stamp" > "$VENV/.stamp"
log "ready in $(($(date +%s) - start)) s"
echo "$VENV/bin/python"
