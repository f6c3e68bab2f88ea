"""SQS-triggered functions: each stores one batch and reports its partial failures."""
