"""Scheduled reconciliation: MySQL is the truth, Redis is rebuilt from it."""
