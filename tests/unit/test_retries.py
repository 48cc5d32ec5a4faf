"""What the shared retry policy retries: only what may work when sent again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
    SSLError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws import retries
from adapters.aws.retries import AWSCallError, Backoff, RetryPolicy, is_retryable
from tests.integration.faults import client_error

RETRYABLE = [
    client_error("SlowDown", 503),
    client_error("Throttling", 400),
    client_error("ThrottlingException", 400),
    client_error("RequestLimitExceeded", 400),
    client_error("TooManyRequestsException", 429),
    client_error("ProvisionedThroughputExceededException", 400),
    client_error("ConditionalRequestConflict", 409),
    client_error("InternalError", 500),
    client_error("SomethingNew", 502),
    client_error("RequestTimeout", 400),
    EndpointConnectionError(endpoint_url="https://s3"),
    ConnectTimeoutError(endpoint_url="https://s3"),
    ReadTimeoutError(endpoint_url="https://s3"),
]
PERMANENT = [
    client_error("AccessDenied", 403),
    client_error("NoSuchBucket", 404),
    client_error("InvalidArgument", 400),
    client_error("PreconditionFailed", 412),
    client_error("KMS.DisabledException", 400),
    ParamValidationError(report="Bucket is required"),
    SSLError(endpoint_url="https://s3", error="certificate verify failed"),
    ValueError("a bug, not AWS"),
]


@pytest.mark.parametrize("error", RETRYABLE, ids=lambda e: type(e).__name__ + ":" + str(e)[:30])
def test_throttling_server_errors_conflicts_and_transport_are_retryable(error):
    assert is_retryable(error)


@pytest.mark.parametrize("error", PERMANENT, ids=lambda e: type(e).__name__ + ":" + str(e)[:30])
def test_validation_and_other_client_errors_are_not(error):
    assert not is_retryable(error)


def test_a_permanent_error_is_raised_after_one_attempt_as_not_retryable():
    calls = []

    def fail() -> None:
        calls.append(1)
        raise client_error("AccessDenied", 403)

    with pytest.raises(AWSCallError) as raised:
        RetryPolicy(initial_wait=0.001).call("s3:PutObject", fail)

    assert (len(calls), raised.value.attempts, raised.value.retryable, raised.value.code) == (
        1,
        1,
        False,
        "AccessDenied",
    )


def test_a_bug_in_the_call_is_not_disguised_as_an_aws_error():
    def broken() -> None:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        RetryPolicy(initial_wait=0.001).call("s3:PutObject", broken)


def test_the_time_budget_counts_from_the_first_attempt(monkeypatch):
    # given a first attempt that used up the whole budget (on the policy's clock) before failing retryably
    calls = []
    now = [1000.0]
    monkeypatch.setattr(retries, "time", SimpleNamespace(monotonic=lambda: now[0]))

    def slow_then_throttled() -> None:
        calls.append(1)
        now[0] += 0.05
        raise client_error("SlowDown", 503)

    # then no second attempt starts
    with pytest.raises(AWSCallError) as raised:
        RetryPolicy(attempts=5, max_delay=0.04, initial_wait=0.001, max_wait=0.001).call(
            "s3:PutObject", slow_then_throttled
        )

    assert (len(calls), raised.value.attempts, raised.value.retryable) == (1, 1, True)


def test_a_retried_call_counts_every_attempt_and_returns_the_last_answer():
    calls = []

    def throttled_twice() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise client_error("SlowDown", 503)
        return "ok"

    def always_throttled() -> None:
        raise client_error("SlowDown", 503)

    assert RetryPolicy(initial_wait=0.001, max_wait=0.001).call("s3:PutObject", throttled_twice) == "ok"
    assert len(calls) == 3
    with pytest.raises(AWSCallError) as raised:
        RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.001).call("s3:PutObject", always_throttled)
    assert (raised.value.attempts, raised.value.code) == (3, "SlowDown")


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(min_value=1, max_value=10_000), initial=st.floats(0.001, 2), cap=st.floats(0.01, 60))
def test_a_backoff_wait_is_jittered_under_a_doubling_ceiling_that_stops_at_the_cap(attempt, initial, cap):
    wait = Backoff(initial, cap).wait(attempt)

    assert 0 <= wait <= min(cap, initial * 2 ** min(attempt - 1, 64))


def test_backoff_waits_differ_so_callers_that_failed_together_do_not_retry_together():
    waits = {Backoff(0.1, 5.0).wait(6) for _ in range(20)}

    assert len(waits) > 1 and max(waits) <= 3.2
