#!/usr/bin/env bash
# Delete the Surge stack from AWS: functions, API, queues (with any message still in them,
# DLQs included) and alarms. The database, the Redis cluster and the secret are not part
# of the stack and stay.
#   AWS_REGION=eu-west-1 infra/destroy-aws.sh [--yes]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AWS_REGION:?set AWS_REGION}"
STACK_NAME=${STACK_NAME:-surge}
export AWS_DEFAULT_REGION=$AWS_REGION

if [ "${1:-}" != "--yes" ]; then
  printf 'Delete stack %s in %s, with its queues and any message in them? [y/N] ' "$STACK_NAME" "$AWS_REGION"
  read -r answer
  [ "$answer" = y ] || [ "$answer" = Y ] || { echo "aborted"; exit 1; }
fi
aws cloudformation delete-stack --stack-name "$STACK_NAME"
aws cloudformation wait stack-delete-complete --stack-name "$STACK_NAME"
echo "stack $STACK_NAME deleted"
