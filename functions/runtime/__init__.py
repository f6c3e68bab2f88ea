"""The local serverless runtime: API Gateway, SQS event source mappings and schedules,
emulated around the very same Chalice app that is deployed to Lambda."""
