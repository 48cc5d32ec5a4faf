"""One retry policy for every AWS call the adapters make: what is worth another try, and how long.

Retries live here rather than in botocore: ``adapters/aws.py`` builds clients with
``total_max_attempts=1`` (one HTTP request per call), and :class:`RetryPolicy` wraps that single
call in tenacity. That way the predicate below decides, each retry is logged, and attempts are
counted once. A client built elsewhere with botocore's own retries on would multiply the two
(botocore's 3 x ours 5 = 15 requests per call) and hide the inner ones; pass clients from
``aws_clients``.

Retried: throttling (``SlowDown``, ``Throttling`` ...), every HTTP 5xx, S3's 409
``ConditionalRequestConflict`` (another conditional write to the key is in flight), and dropped
connections and timeouts. Never retried: any other 4xx (``AccessDenied``, ``NoSuchBucket``,
``InvalidArgument`` ...) and client-side validation errors, because the same request fails the
same way; retrying them only burns the invocation's time.

The waits are exponential with full jitter (:class:`Backoff`, the one backoff of the project: the
local pipe waits by it too), so the concurrent writers of one batch do not retry in lock-step, and
both the number of attempts and the total time are bounded, so a struggling dependency costs a
bounded share of the Lambda timeout.

The first attempt is a plain call: nearly every call succeeds at once, and tenacity's machinery
(a ``Retrying`` with its thread-local state, per call) cost the batch path about 50 us of CPU per
record in ``bench/bench_handler.py``, billed duration on a fraction of a vCPU. tenacity takes over
only once that attempt failed retryably, and is imported only then (cold start).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectionError,  # botocore's, not the builtin
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenacity import RetryCallState

__all__ = ["RETRYABLE_CODES", "AWSCallError", "Backoff", "RetryPolicy", "error_code", "is_retryable"]

T = TypeVar("T")

#: Error codes that say "not now" rather than "never": throttling and transient service faults.
RETRYABLE_CODES = frozenset(
    {
        # throttling, as the various services spell it
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceeded",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "KMS.ThrottlingException",
        "KmsThrottled",
        "PriorRequestNotComplete",
        # transient faults that some services send with a 4xx status
        "RequestTimeout",
        "RequestTimeoutException",
        "ConditionalRequestConflict",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "AWS.SimpleQueueService.ServiceUnavailable",
    }
)

#: Transport errors worth another try. ``ConnectionError`` covers EndpointConnectionError and
#: ConnectTimeoutError; ``SSLError`` (a subclass) is excluded below: a bad certificate stays bad.
_RETRYABLE_TRANSPORT = (
    ConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
)

_log = structlog.get_logger("adapters.aws.retries")


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError (``""`` if none), else the exception's class name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def http_status(error: BaseException) -> int | None:
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def is_retryable(error: BaseException) -> bool:
    """Whether the same request may succeed if sent again: throttling, 5xx, 409 conflict, transport."""
    if isinstance(error, ClientError):
        status = http_status(error)
        return error_code(error) in RETRYABLE_CODES or (status is not None and status >= 500)
    return isinstance(error, _RETRYABLE_TRANSPORT) and not isinstance(error, SSLError)


class AWSCallError(Exception):
    """An AWS call that failed for good: the last error, after how many attempts, and whether it
    was still retryable when the attempts or the time ran out (then a later redrive may work)."""

    def __init__(self, operation: str, error: Exception, attempts: int) -> None:
        self.operation = operation
        self.error = error
        self.attempts = attempts
        self.code = error_code(error)
        self.retryable = is_retryable(error)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{operation} failed{tries}: {self.code}: {error}")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential waits with full jitter: wait ``n`` (from 1) is random in ``[0, min(max_wait, initial * 2^(n-1))]``.

    Full jitter keeps concurrent callers that failed together from retrying together (AWS
    Architecture Blog, "Exponential Backoff And Jitter").
    """

    initial: float = 0.1
    max_wait: float = 5.0

    def wait(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (the first retry is 1)."""
        ceiling = min(self.max_wait, self.initial * 2 ** min(attempt - 1, 64))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with full jitter around one AWS call.

    Attributes:
        attempts: at most this many calls in all (the first included).
        max_delay: seconds; no retry starts once the next wait would pass this since the first call.
        initial_wait: the scale of the first wait (a random wait of up to this, then doubling).
        max_wait: the cap of any single wait.
    """

    attempts: int = 5
    max_delay: float = 20.0
    initial_wait: float = 0.1
    max_wait: float = 5.0

    def call(self, operation: str, fn: Callable[[], T], **context: Any) -> T:
        """Return ``fn()``, retrying what :func:`is_retryable` accepts; ``context`` goes into the logs.

        Raises:
            AWSCallError: ``fn`` raised a botocore error that is not retryable, or kept failing.
                Anything else ``fn`` raises (a bug) propagates unchanged.
        """
        started = time.monotonic()
        try:
            return fn()
        except (ClientError, BotoCoreError) as error:
            if self.attempts <= 1 or not is_retryable(error):
                raise AWSCallError(operation, error, 1) from error
            first = error
        return self._retry(operation, fn, first, started, context)

    def _retry(
        self, operation: str, fn: Callable[[], T], first: Exception, started: float, context: dict[str, Any]
    ) -> T:
        """The rest of :meth:`call` once the first attempt failed retryably: tenacity replays that
        failure as its attempt 1 (so waits, logs and counts are as if it had made it), then calls
        ``fn`` again; the time budget runs from the first attempt's start."""
        from tenacity import (  # noqa: PLC0415 - only a failed call pays for importing it
            Retrying,
            retry_if_exception,
            stop_after_attempt,
            stop_before_delay,
        )

        replay: list[Exception] = [first]
        backoff = Backoff(self.initial_wait, self.max_wait)

        def attempt() -> T:
            if replay:
                raise replay.pop()
            return fn()

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.max_delay - (time.monotonic() - started)),
            wait=lambda state: backoff.wait(state.attempt_number),
            retry=retry_if_exception(is_retryable),
            before_sleep=_log_retry(operation, context),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except (ClientError, BotoCoreError) as error:
            raise AWSCallError(operation, error, retrying.statistics.get("attempt_number", 1)) from error


def _log_retry(operation: str, context: dict[str, Any]) -> Callable[[RetryCallState], None]:
    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        _log.warning(
            "aws call retrying",
            operation=operation,
            attempt=state.attempt_number,
            wait_ms=round((state.next_action.sleep if state.next_action else 0.0) * 1000),
            error_code=error_code(error) if error else None,
            http_status=http_status(error) if error else None,
            error=str(error) if error else None,
            **context,
        )

    return log
