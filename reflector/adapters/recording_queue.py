"""An SQS queue a recordings bucket notifies of each object it creates (S3 event notifications), read with
aiobotocore: long-polled receive, and a message deleted by its receipt once what it announced is kept."""

import contextlib
from typing import Any

import msgspec

# SQS long polling waits at most this long for a message.
MAX_WAIT_S = 20


class QueueMessage(msgspec.Struct, frozen=True):
    message_id: str
    receipt: str  # what deleting it takes
    body: bytes
    receives: int = 1  # how many times SQS has handed it out, this time included


class RecordingQueue:
    def __init__(
        self,
        queue_url: str,
        *,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.queue_url = queue_url
        self._client_args: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
        self._stack: contextlib.AsyncExitStack | None = None
        self._sqs: Any = None

    async def start(self) -> None:
        from aiobotocore.session import get_session  # botocore only in processes that poll

        if self._sqs is not None:
            return
        stack = contextlib.AsyncExitStack()
        self._sqs = await stack.enter_async_context(get_session().create_client("sqs", **self._client_args))
        self._stack = stack

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self._sqs = None, None

    async def receive(self, *, max_messages: int = 10, wait_s: float = MAX_WAIT_S) -> list[QueueMessage]:
        """The messages SQS hands out now (each hidden from other pollers for the queue's visibility
        timeout), after waiting up to `wait_s` for the first."""
        await self.start()
        answer = await self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(max_messages, 10)),
            WaitTimeSeconds=int(max(0, min(wait_s, MAX_WAIT_S))),
            AttributeNames=["ApproximateReceiveCount"],
        )
        return [
            QueueMessage(
                message_id=m["MessageId"],
                receipt=m["ReceiptHandle"],
                body=m.get("Body", "").encode(),
                receives=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for m in answer.get("Messages", [])
        ]

    async def delete(self, receipt: str) -> None:
        await self.start()
        await self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
