#!/usr/bin/env bash
# Deploy the packaged AWS stack into the LocalStack of `docker compose up`.
#
#   docker compose up -d          # LocalStack, Redis, MySQL, ...
#   infra/deploy-localstack.sh
#
# The stage `localstack` is packaged (queues surge-stack-*, so they never collide with the
# queues the compose stack creates for the local runtime). The functions run in LocalStack's
# Lambda containers, so Redis and MySQL are reached by their compose service names (LocalStack
# needs LAMBDA_DOCKER_NETWORK set to the compose network for that).
# Environment (defaults in brackets):
#   LOCALSTACK_ENDPOINT [http://localhost:4566]  STACK_NAME [surge]
#   STACK_REDIS_URL [redis://redis:6379/0]       STACK_MYSQL_HOST [mysql]  STACK_MYSQL_PORT [3306]
#   MYSQL_DATABASE [surge]  MYSQL_USER [root]  MYSQL_PASSWORD [empty, as docker-compose.yml]
# The stack migrates the schema itself (its SchemaMigration custom resource).
set -euo pipefail
cd "$(dirname "$0")/.."

ENDPOINT=${LOCALSTACK_ENDPOINT:-http://localhost:4566}
STACK_NAME=${STACK_NAME:-surge}
BUCKET=${DEPLOY_BUCKET:-surge-deployments}
MYSQL_DATABASE=${MYSQL_DATABASE:-surge}
MYSQL_USER=${MYSQL_USER:-root}
MYSQL_PASSWORD=${MYSQL_PASSWORD-}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

log() { printf '\033[1m[deploy-localstack]\033[0m %s\n' "$*" >&2; }
# awslocal when installed (pip install awscli-local), else the aws CLI; AWS_ENDPOINT_URL also
# reaches the S3 client that `cloudformation package` makes on its own
export AWS_ENDPOINT_URL=$ENDPOINT
awsl() {
  if command -v awslocal >/dev/null 2>&1; then awslocal "$@"; else aws "$@"; fi
}

curl -fsS "$ENDPOINT/_localstack/health" >/dev/null || { log "no LocalStack at $ENDPOINT: docker compose up -d"; exit 1; }

log "packaging stage localstack"
out=$(infra/package.sh --stage localstack --out build/localstack | tail -n 1)

awsl s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1 || awsl s3 mb "s3://$BUCKET" >/dev/null
awsl cloudformation package --template-file "$out/sam.json" --s3-bucket "$BUCKET" --s3-prefix "$STACK_NAME" \
  --output-template-file "$out/packaged.yaml" >/dev/null

secret_name="$STACK_NAME/mysql"
secret=$(printf '{"username":"%s","password":"%s","engine":"mysql"}' "$MYSQL_USER" "$MYSQL_PASSWORD")
if secret_arn=$(awsl secretsmanager describe-secret --secret-id "$secret_name" --query ARN --output text 2>/dev/null); then
  awsl secretsmanager put-secret-value --secret-id "$secret_name" --secret-string "$secret" >/dev/null
else
  secret_arn=$(awsl secretsmanager create-secret --name "$secret_name" --secret-string "$secret" --query ARN --output text)
fi

log "deploying stack $STACK_NAME"
awsl cloudformation deploy \
  --template-file "$out/packaged.yaml" \
  --stack-name "$STACK_NAME" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset \
  --parameter-overrides \
    "RedisUrl=${STACK_REDIS_URL:-redis://redis:6379/0}" \
    "RedisPrefix=${REDIS_PREFIX:-surge-stack:}" \
    "MysqlHost=${STACK_MYSQL_HOST:-mysql}" \
    "MysqlPort=${STACK_MYSQL_PORT:-3306}" \
    "MysqlDatabase=$MYSQL_DATABASE" \
    "MysqlSecretArn=$secret_arn" \
    "MysqlTls=false" \
    "MysqlSessionInit=true" \
    "WafEnabled=false"

api_id=$(awsl cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query "Stacks[0].Outputs[?OutputKey=='RestAPIId'].OutputValue" --output text)
echo "API: $ENDPOINT/_aws/execute-api/$api_id/api/  (e.g. curl -X POST -d '{\"amount\":\"12.34\"}' -H 'Content-Type: application/json' .../payment)"
