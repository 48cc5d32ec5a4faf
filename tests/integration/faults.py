"""FlakyClient: a real (moto) boto3 client with scripted faults in front of chosen operations.

A fault is an exception raised instead of the call, or ``AfterCall(exception)``: the call goes
through (S3 writes the object) and then the exception is raised, as when the answer is lost on the
way back. This is a thin stand-in rather than a mock: every call that is not faulted reaches moto.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AfterCall", "FlakyClient", "client_error"]


@dataclass(frozen=True)
class AfterCall:
    """Make the call, then raise ``error`` as if its answer never arrived."""

    error: Exception


def client_error(code: str, status: int, operation: str = "PutObject") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"injected {code}"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class FlakyClient:
    """Delegates to ``client``; ``faults[operation]`` is consumed one per call (None: let it pass), then calls pass.

    ``always`` faults every call of an operation (a permanent failure), or every call whose request
    ``only_if`` accepts. ``calls`` counts every attempt per operation, faulted or not.
    """

    def __init__(
        self,
        client: Any,
        faults: dict[str, list[Exception | AfterCall | None]] | None = None,
        always: dict[str, Exception] | None = None,
        only_if: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self._client = client
        self.faults = {name: list(queue) for name, queue in (faults or {}).items()}
        self.always = dict(always or {})
        self.only_if = only_if
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name not in self.faults and name not in self.always:
            return real

        def call(**kwargs: Any) -> Any:
            self.calls[name] += 1
            if name in self.always and (self.only_if is None or self.only_if(kwargs)):
                raise self.always[name]
            queue = self.faults.get(name) or []
            fault = queue.pop(0) if queue else None
            if fault is None:
                return real(**kwargs)
            if isinstance(fault, AfterCall):
                real(**kwargs)
                raise fault.error
            raise fault

        return call
