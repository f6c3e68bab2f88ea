"""The live dashboard: one self-contained HTML page polling ``/statistics`` and ``/health``."""
