"""Surge: payments and flash-sale checkout as Chalice functions.

Layers (cosmicpython style):
- the domain: ``money``, ``ids``, ``errors``, ``idempotency``, ``validation``, ``times``,
  ``messages`` and each capability's ``model`` module; ``ports``: the interfaces the services call.
- each capability's ``service`` module: the service layer (it takes ports, never adapters).
- ``adapters``: Redis, SQS, MySQL and Secrets Manager, implementing the ports.
- entrypoints: each capability's ``routes`` (HTTP), ``workers`` (SQS), ``reconcile.schedule``
  and ``cli``: parse, call one service, shape the reply. ``http``: parsing, errors -> HTTP.
- ``bootstrap``: the wiring; builds the adapters and hands entrypoints the services only.
- ``runtime``: the local serverless runtime (gateway, SQS pollers, scheduler).

The picture and the recipes: ``docs/architecture.md``. In-memory fakes of every port, for
unit tests: ``tests/fakes.py``.
"""
