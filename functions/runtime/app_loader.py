"""Load the Chalice app the way Lambda does: by its handler name, never by importing it here.

``app.py`` imports every module under ``functions/``; a static import back would make a
cycle. The runtime is the host of the app, so it looks it up by name (``app:app``).
"""

from __future__ import annotations

import importlib
import os
import sys

from chalice import Chalice

APP_TARGET = "app:app"


def load_app(target: str = APP_TARGET) -> Chalice:
    """The Chalice object named by ``module:attribute``, importable from the working directory."""
    module_name, _, attribute = target.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    app = getattr(importlib.import_module(module_name), attribute or "app")
    if not isinstance(app, Chalice):
        raise TypeError(f"{target} is not a Chalice app")
    return app
