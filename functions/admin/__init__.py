"""Operator actions over HTTP (redrive a DLQ, reset…), guarded by the admin key."""
