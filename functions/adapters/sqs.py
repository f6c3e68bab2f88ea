"""SQS through plain boto3: works against AWS, LocalStack or MiniStack alike.

``SqsQueue.send`` puts one message per call, ``send_batch`` up to ten. In a long-lived
gateway process the services coalesce concurrent requests into ``send_batch`` calls
(``functions.batching``).
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from functions.config import aws_keys_configured
from functions.errors import DependencyDown

_SQS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def sqs_client(
    endpoint_url: str | None, region: str, pool: int = 64, read_timeout: float = 5, wire: bool = False
) -> Any:
    """A boto3 SQS client that fails fast (a 503 beats a hung request).

    Long-polling consumers pass a ``read_timeout`` above their ``WaitTimeSeconds``.
    ``wire``: the hot calls (send, receive, delete…) go through ``WireSqsClient``, which
    costs a fraction of boto3's CPU per call; everything else still goes through boto3."""
    kwargs: dict[str, Any] = {}
    if endpoint_url and not aws_keys_configured():
        # emulators accept any credentials; never needed against real AWS
        kwargs.update(aws_access_key_id="test", aws_secret_access_key="test")
    config = Config(
        connect_timeout=1,
        read_timeout=read_timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=pool,
    )
    session = boto3.session.Session()
    client = session.client("sqs", endpoint_url=endpoint_url, region_name=region, config=config, **kwargs)
    if wire:
        from functions.adapters.sqs_wire import WireSqsClient

        return WireSqsClient(client)
    return client


def _attributes(attributes: dict[str, str] | None) -> dict[str, Any]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}


class SqsQueue:
    """Queues by name; urls are looked up once and cached (or given: ``known_urls``,
    e.g. from the stack's ``QUEUE_URLS``, saves the lookup on a Lambda cold start).

    ``sqs`` is a live ``SqsQueue`` and ``queue`` one of its queues:

    >>> answers = sqs.send_batch(queue, [('{"hello": "world"}', None), ('{"hello": "again"}', {"request_id": "r1"})])
    >>> [isinstance(answer, str) for answer in answers]  # a message id per entry, or its error
    [True, True]
    >>> sqs.depth(queue)["visible"]
    2
    """

    def __init__(self, client: Any, known_urls: dict[str, str] | None = None):
        self.client = client
        self._urls: dict[str, str] = dict(known_urls or {})

    def url(self, queue: str) -> str:
        if queue not in self._urls:
            try:
                self._urls[queue] = self.client.get_queue_url(QueueName=queue)["QueueUrl"]
            except _SQS_ERRORS as exc:
                raise DependencyDown("sqs", exc) from exc
        return self._urls[queue]

    def send(self, queue: str, body: str, attributes: dict[str, str] | None = None) -> str:
        try:
            response = self.client.send_message(
                QueueUrl=self.url(queue), MessageBody=body, MessageAttributes=_attributes(attributes)
            )
        except _SQS_ERRORS as exc:
            raise DependencyDown("sqs", exc) from exc
        return str(response["MessageId"])

    def send_batch(self, queue: str, entries: list[tuple[str, dict[str, str] | None]]) -> list[str | Exception]:
        """Send up to 10 messages; one result per entry: its message id or the error."""
        if len(entries) == 1:
            # a lone entry as SendMessage: the call the API's role is granted everywhere (AWS
            # grants SendMessageBatch with it; some emulators authorize the batch call apart)
            try:
                return [self.send(queue, *entries[0])]
            except DependencyDown as exc:
                return [exc]
        try:
            response = self.client.send_message_batch(
                QueueUrl=self.url(queue),
                Entries=[
                    {"Id": str(i), "MessageBody": body, "MessageAttributes": _attributes(attrs)}
                    for i, (body, attrs) in enumerate(entries)
                ],
            )
        except (DependencyDown, *_SQS_ERRORS) as exc:
            error = exc if isinstance(exc, DependencyDown) else DependencyDown("sqs", exc)
            return [error] * len(entries)
        results: list[str | Exception] = [DependencyDown("sqs", None)] * len(entries)
        for ok in response.get("Successful", []):
            results[int(ok["Id"])] = str(ok["MessageId"])
        for failed in response.get("Failed", []):
            results[int(failed["Id"])] = DependencyDown("sqs", RuntimeError(failed.get("Code")))
        return results

    def depth(self, queue: str) -> dict[str, int]:
        try:
            attrs = self.client.get_queue_attributes(
                QueueUrl=self.url(queue),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except _SQS_ERRORS as exc:
            raise DependencyDown("sqs", exc) from exc
        return {
            "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }


def ensure_queues(client: Any, main: str, dlq: str, max_receive_count: int, visibility_timeout: int) -> str:
    """Create ``dlq`` and ``main`` (redriving to it after N receives); return the main url."""
    dlq_url = client.create_queue(QueueName=dlq, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}'
    attributes = {"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive}
    try:
        url = client.create_queue(QueueName=main, Attributes=attributes)["QueueUrl"]
    except botocore.exceptions.ClientError as exc:
        if "QueueAlreadyExists" not in str(exc) and "QueueNameExists" not in str(exc):
            raise
        url = client.get_queue_url(QueueName=main)["QueueUrl"]
    client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return str(url)
