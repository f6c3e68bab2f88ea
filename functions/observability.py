"""Structured JSON logging shared by every function (Powertools Logger).

The correlation id is the request id minted at the gateway; it travels in each SQS
message so a payment can be followed from request to MySQL by its id.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "surge")

logger = Logger(service=os.environ["POWERTOOLS_SERVICE_NAME"], level=os.environ.get("LOG_LEVEL", "INFO"))
