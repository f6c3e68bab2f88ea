"""Surge: payments and flash-sale checkout as Chalice functions.

Layers (cosmicpython style):
- ``money``, ``ids``, ``errors`` and each capability's ``model`` module: the domain.
- ``adapters``: Redis, SQS and MySQL behind small interfaces (``adapters.ports``).
- each capability's ``service`` module: the service layer.
- each capability's ``routes`` / ``handlers`` module: Chalice entrypoints.
- ``bootstrap``: wires real adapters (or fakes in unit tests).
- ``runtime``: the local serverless runtime (gateway, SQS pollers, scheduler).
"""
