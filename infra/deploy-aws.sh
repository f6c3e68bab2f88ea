#!/usr/bin/env bash
# Deploy Surge to AWS: package, migrate the schema, then create/update the app stack.
#
#   infra/deploy-aws.sh [--platform existing|new] [--no-vpc]
#
# --platform existing (default): your own VPC, ElastiCache, RDS Proxy and secret:
#   export AWS_REGION=eu-west-1 DEPLOY_BUCKET=my-artifacts-bucket
#   export REDIS_URL=rediss://:AUTH_TOKEN@master.surge.abc123.euw1.cache.amazonaws.com:6379/0
#   export MYSQL_HOST=surge-proxy.proxy-abc123.eu-west-1.rds.amazonaws.com
#   export MYSQL_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:surge/mysql-AbCdEf
#   export SUBNET_IDS=subnet-aaa,subnet-bbb SECURITY_GROUP_IDS=sg-ccc
#   export ADMIN_KEY_SECRET_ARN=arn:aws:secretsmanager:...:secret:surge/admin-XyZ   # operator surfaces
#   export ALARM_EMAIL=oncall@example.com       # or ALARM_TOPIC_ARN=arn:aws:sns:...
#   infra/deploy-aws.sh
# --platform new: creates the stack "$STACK_NAME-platform" (infra/platform.json: VPC, endpoints,
#   ElastiCache, RDS MySQL + RDS Proxy, secrets, artifacts bucket) and takes everything above
#   from its outputs; only AWS_REGION (and ALARM_EMAIL) are needed.
#
# Without SUBNET_IDS the functions would run outside the VPC, where the RDS Proxy cannot be
# reached (every batch would fail to the DLQ): the script refuses unless --no-vpc is given
# (emulators, or a public MySQL you chose on purpose).
#
# The schema migration runs inside the VPC, as the stack's SchemaMigration custom resource,
# before CloudFormation updates the other functions (platform -> schema -> app).
#
# Optional: STACK_NAME (surge), MYSQL_PORT (3306), MYSQL_DATABASE (surge), REDIS_PREFIX (surge:),
# MYSQL_TLS (true), MYSQL_SESSION_INIT (false: the DB parameter group sets time_zone and the
# isolation level), QUEUE_AGE_ALARM_SECONDS (300), LOG_RETENTION_DAYS (30), API_THROTTLE_RATE
# (1000), API_THROTTLE_BURST (2000), API_RESERVED_CONCURRENCY (50), WAF_ENABLED (true),
# WEB_ACL_ARN (an existing web ACL instead), WAF_RATE_LIMIT_PER_IP (3000 per 5 min), PACKAGE_DIR (an already built build/prod).
set -euo pipefail
cd "$(dirname "$0")/.."

platform=existing
allow_no_vpc=0
while [ $# -gt 0 ]; do
  case "$1" in
    --platform) platform=${2:-}; shift 2 ;;
    --platform=*) platform=${1#--platform=}; shift ;;
    --no-vpc) allow_no_vpc=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[deploy-aws]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

: "${AWS_REGION:?set AWS_REGION}"
STACK_NAME=${STACK_NAME:-surge}
export AWS_REGION AWS_DEFAULT_REGION=$AWS_REGION

output_of() {  # output_of STACK KEY
  aws cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

case "$platform" in
  existing) ;;
  new)
    platform_stack="$STACK_NAME-platform"
    log "deploying the platform stack $platform_stack (VPC, endpoints, ElastiCache, RDS + Proxy, bucket): ~20 min the first time"
    .venv/bin/cfn-lint infra/platform.json
    aws cloudformation deploy \
      --template-file infra/platform.json \
      --stack-name "$platform_stack" \
      --capabilities CAPABILITY_IAM \
      --no-fail-on-empty-changeset \
      --parameter-overrides "MysqlDatabase=${MYSQL_DATABASE:-surge}"
    DEPLOY_BUCKET=$(output_of "$platform_stack" ArtifactsBucket)
    SUBNET_IDS=$(output_of "$platform_stack" SubnetIds)
    SECURITY_GROUP_IDS=$(output_of "$platform_stack" FunctionSecurityGroupId)
    MYSQL_HOST=$(output_of "$platform_stack" MysqlProxyEndpoint)
    MYSQL_SECRET_ARN=$(output_of "$platform_stack" MysqlSecretArn)
    ADMIN_KEY_SECRET_ARN=${ADMIN_KEY_SECRET_ARN:-$(output_of "$platform_stack" AdminKeySecretArn)}
    redis_host=$(output_of "$platform_stack" RedisEndpoint)
    redis_token_arn=$(output_of "$platform_stack" RedisAuthSecretArn)
    redis_token=$(aws secretsmanager get-secret-value --secret-id "$redis_token_arn" --query SecretString --output text)
    REDIS_URL="rediss://:$redis_token@$redis_host:6379/0"
    ;;
  *) die "--platform must be existing or new, got '$platform'" ;;
esac

: "${DEPLOY_BUCKET:?set DEPLOY_BUCKET (an S3 bucket for the deployment package)}"
: "${REDIS_URL:?set REDIS_URL (rediss://:token@<elasticache primary endpoint>:6379/0)}"
: "${MYSQL_HOST:?set MYSQL_HOST (the RDS Proxy endpoint)}"
: "${MYSQL_SECRET_ARN:?set MYSQL_SECRET_ARN (Secrets Manager secret with username/password)}"
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_DATABASE=${MYSQL_DATABASE:-surge}

if [ -z "${SUBNET_IDS:-}" ] || [ -z "${SECURITY_GROUP_IDS:-}" ]; then
  [ "$allow_no_vpc" = 1 ] || die "SUBNET_IDS and SECURITY_GROUP_IDS are not set: the functions would run outside the VPC and never reach the RDS Proxy (every payment batch would fail to the DLQ). Set them, use --platform new, or pass --no-vpc if that is really what you want."
  log "warning: deploying WITHOUT a VPC (--no-vpc)"
fi
if [ -z "${ALARM_TOPIC_ARN:-}" ] && [ -z "${ALARM_EMAIL:-}" ]; then
  log "warning: neither ALARM_TOPIC_ARN nor ALARM_EMAIL is set: the alarms notify the stack's own SNS topic, which nobody is subscribed to yet"
fi
[ -n "${ADMIN_KEY_SECRET_ARN:-}" ] || log "warning: no ADMIN_KEY_SECRET_ARN: the dashboard, /metrics and /admin answer 403 (disabled)"

if [ -n "${PACKAGE_DIR:-}" ]; then
  out=$PACKAGE_DIR
  log "using the package in $out"
else
  log "packaging (chalice package --stage prod + merge template + cfn-lint)"
  out=$(infra/package.sh --stage prod | tail -n 1)
fi

log "uploading $out/deployment.zip to s3://$DEPLOY_BUCKET/$STACK_NAME/"
aws cloudformation package \
  --template-file "$out/sam.json" \
  --s3-bucket "$DEPLOY_BUCKET" --s3-prefix "$STACK_NAME" \
  --output-template-file "$out/packaged.yaml"

log "deploying stack $STACK_NAME (its SchemaMigration resource migrates sql/ first, in the VPC)"
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
    "MysqlTls=${MYSQL_TLS:-true}" \
    "MysqlSessionInit=${MYSQL_SESSION_INIT:-false}" \
    "AdminKeySecretArn=${ADMIN_KEY_SECRET_ARN:-}" \
    "SubnetIds=${SUBNET_IDS:-}" \
    "SecurityGroupIds=${SECURITY_GROUP_IDS:-}" \
    "AlarmTopicArn=${ALARM_TOPIC_ARN:-}" \
    "AlarmEmail=${ALARM_EMAIL:-}" \
    "QueueAgeAlarmSeconds=${QUEUE_AGE_ALARM_SECONDS:-300}" \
    "LogRetentionDays=${LOG_RETENTION_DAYS:-30}" \
    "ApiThrottleRate=${API_THROTTLE_RATE:-1000}" \
    "ApiThrottleBurst=${API_THROTTLE_BURST:-2000}" \
    "ApiReservedConcurrency=${API_RESERVED_CONCURRENCY:-50}" \
    "WafEnabled=${WAF_ENABLED:-true}" \
    "WebAclArn=${WEB_ACL_ARN:-}" \
    "WafRateLimitPerIp=${WAF_RATE_LIMIT_PER_IP:-3000}"

aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text
