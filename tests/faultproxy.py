"""The fault proxy lives in ``functions/runtime/faultproxy.py`` now (``./surge chaos`` uses it
too); this name stays for tests that import it from here."""

from functions.runtime.faultproxy import FaultProxy

__all__ = ["FaultProxy"]
