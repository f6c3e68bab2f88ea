"""Adapters to Redis, SQS and MySQL; the domain sees only ``ports``."""
