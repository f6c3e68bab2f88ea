#!/usr/bin/env bash
# Deploy Surge to AWS: package, migrate the schema, then create/update the stack.
#
#   export AWS_REGION=eu-west-1 DEPLOY_BUCKET=my-artifacts-bucket
#   export REDIS_URL=rediss://master.surge.abc123.euw1.cache.amazonaws.com:6379/0
#   export MYSQL_HOST=surge-proxy.proxy-abc123.eu-west-1.rds.amazonaws.com
#   export MYSQL_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:surge/mysql-AbCdEf
#   export SUBNET_IDS=subnet-aaa,subnet-bbb SECURITY_GROUP_IDS=sg-ccc
#   infra/deploy-aws.sh
#
# Optional: STACK_NAME (surge), MYSQL_PORT (3306), MYSQL_DATABASE (surge), REDIS_PREFIX (surge:),
# ALARM_TOPIC_ARN, QUEUE_AGE_ALARM_SECONDS (300), SKIP_MIGRATION=1,
# MIGRATION_MYSQL_HOST / MIGRATION_MYSQL_PORT: where this machine reaches MySQL for the
# migration when the proxy is only reachable inside the VPC (e.g. an SSM port forward
# to 127.0.0.1:13306).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${AWS_REGION:?set AWS_REGION}"
: "${DEPLOY_BUCKET:?set DEPLOY_BUCKET (an S3 bucket for the deployment package)}"
: "${REDIS_URL:?set REDIS_URL (rediss://<elasticache primary endpoint>:6379/0)}"
: "${MYSQL_HOST:?set MYSQL_HOST (the RDS Proxy endpoint)}"
: "${MYSQL_SECRET_ARN:?set MYSQL_SECRET_ARN (Secrets Manager secret with username/password)}"
STACK_NAME=${STACK_NAME:-surge}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_DATABASE=${MYSQL_DATABASE:-surge}
export AWS_REGION AWS_DEFAULT_REGION=$AWS_REGION

log() { printf '\033[1m[deploy-aws]\033[0m %s\n' "$*" >&2; }

log "packaging (chalice package --stage prod + merge template + cfn-lint)"
out=$(infra/package.sh --stage prod | tail -n 1)

log "uploading $out/deployment.zip to s3://$DEPLOY_BUCKET/$STACK_NAME/"
aws cloudformation package \
  --template-file "$out/sam.json" \
  --s3-bucket "$DEPLOY_BUCKET" --s3-prefix "$STACK_NAME" \
  --output-template-file "$out/packaged.yaml"

if [ "${SKIP_MIGRATION:-0}" != 1 ]; then
  # Before the new code goes live: migrations are additive, so the old code keeps working.
  host=${MIGRATION_MYSQL_HOST:-$MYSQL_HOST}
  port=${MIGRATION_MYSQL_PORT:-$MYSQL_PORT}
  log "migrating the schema on $host:$port/$MYSQL_DATABASE (credentials from $MYSQL_SECRET_ARN)"
  MYSQL_URL="mysql://$host:$port/$MYSQL_DATABASE" MYSQL_SECRET_ARN="$MYSQL_SECRET_ARN" \
    .venv/bin/python -m functions.cli prepare --schema-only
fi

log "deploying stack $STACK_NAME"
aws cloudformation deploy \
  --template-file "$out/packaged.yaml" \
  --stack-name "$STACK_NAME" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset \
  --parameter-overrides \
    "RedisUrl=$REDIS_URL" \
    "RedisPrefix=${REDIS_PREFIX:-surge:}" \
    "MysqlHost=$MYSQL_HOST" \
    "MysqlPort=$MYSQL_PORT" \
    "MysqlDatabase=$MYSQL_DATABASE" \
    "MysqlSecretArn=$MYSQL_SECRET_ARN" \
    "SubnetIds=${SUBNET_IDS:-}" \
    "SecurityGroupIds=${SECURITY_GROUP_IDS:-}" \
    "AlarmTopicArn=${ALARM_TOPIC_ARN:-}" \
    "QueueAgeAlarmSeconds=${QUEUE_AGE_ALARM_SECONDS:-300}"

aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text
