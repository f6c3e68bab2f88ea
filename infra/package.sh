#!/usr/bin/env bash
# Build the deployable artifact into build/<stage>/ (sam.json + deployment.zip) and lint it.
#   infra/package.sh [--stage prod|localstack] [--out DIR]
# Needs a region (default us-east-1) but no AWS credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=prod
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stage=*) stage=${1#--stage=}; shift ;;
    *) shift ;;
  esac
done
out=$(.venv/bin/python -m infra.package "${args[@]}" | tail -n 1)
.venv/bin/cfn-lint "$out/sam.json"
echo "$out"
echo "packaged stage $stage: $out/sam.json $out/deployment.zip (cfn-lint clean)" >&2
