#!/usr/bin/env bash
# Delete the stack that infra/deploy-localstack.sh created in LocalStack (and its secret).
set -euo pipefail
ENDPOINT=${LOCALSTACK_ENDPOINT:-http://localhost:4566}
STACK_NAME=${STACK_NAME:-surge}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_ENDPOINT_URL=$ENDPOINT
awsl() {
  if command -v awslocal >/dev/null 2>&1; then awslocal "$@"; else aws "$@"; fi
}
awsl cloudformation delete-stack --stack-name "$STACK_NAME"
awsl cloudformation wait stack-delete-complete --stack-name "$STACK_NAME"
awsl secretsmanager delete-secret --secret-id "$STACK_NAME/mysql" --force-delete-without-recovery >/dev/null 2>&1 || true
echo "stack $STACK_NAME deleted from $ENDPOINT"
