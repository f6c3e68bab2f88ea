"""Operational metrics: CloudWatch EMF on Lambda, Prometheus text (``GET /metrics``) locally."""
