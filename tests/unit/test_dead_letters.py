"""archiver.dead_letters: every message the pipeline dead-letters is understood; anything else is left alone."""

from __future__ import annotations

import contextlib
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws.sqs_dead_letters import full_message
from archiver.dead_letters import LetterShape, ReadLetter, Rerun, StreamRange, Unknown, classify, read_kept_letter
from archiver.ports import DeadLetter
from tests.conftest import Events
from tests.dead_letter_messages import Message, Messages
from tests.strategies import keys

MESSAGES = Messages()
EVENTS = Events()
STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-11-01T00:00:00.000"


def plan_of(message: Message):
    return classify(message.body, message.attributes)


# --- each shape the pipeline writes ------------------------------------------------------------------


def test_our_letter_reruns_its_record():
    message = MESSAGES.letter()

    plan = plan_of(message)

    assert plan == Rerun(
        LetterShape.LETTER, (json.loads(message.body)["record"],), frozenset({"orders"}), "StoreUnavailableError"
    )


def test_our_letter_kept_in_the_bucket_is_read_from_where_it_says():
    plan = plan_of(MESSAGES.kept_letter())

    assert plan == ReadLetter(
        "acme-dynamo-archive-dev",
        "archive/orders/_dead-letters/2024-11-25/" + "0" * 64 + ".json",
        "0" * 64,
        frozenset({"orders"}),
    )


def test_a_rule_targets_dead_letter_reruns_the_events_record():
    message = MESSAGES.rule_target()

    plan = plan_of(message)

    assert isinstance(plan, Rerun)
    assert plan.shape is LetterShape.RULE_TARGET
    assert plan.records == (json.loads(message.body)["detail"],)
    assert plan.tables == {"orders"}
    assert plan.cause == "THROTTLING: Rate Exceeded."


def test_an_async_invocation_record_reruns_its_request_payload():
    message = MESSAGES.async_failure()

    plan = plan_of(message)

    assert isinstance(plan, Rerun)
    assert plan.shape is LetterShape.ASYNC_INVOCATION
    assert plan.records == (json.loads(message.body)["requestPayload"]["detail"],)
    assert plan.cause.startswith("RetriesExhausted; 1 record(s) not archived")


@pytest.mark.parametrize(
    ("sender", "first", "last", "size", "cause"),
    [
        ("pipe", "4421584500000000017450439600", "4421584500000000017450439600", 1, "RetryAttemptsExhausted"),
        ("esm", "4421584500000000017450439500", "4421584500000000017450439502", 3, "RetryAttemptsExhausted"),
    ],
)
def test_a_stream_batch_record_is_a_range_to_read_back_from_pipe_or_event_source_mapping(
    sender, first, last, size, cause
):
    plan = plan_of(MESSAGES.stream_batch(sender))

    assert plan == StreamRange(
        stream_arn=STREAM,
        shard_id="shardId-00000001732520000000-1a2b3c4d",
        first=first,
        last=last,
        batch_size=size,
        first_arrival=plan.first_arrival,
        tables=frozenset({"orders"}),
        cause=cause,
    )
    assert plan.first_arrival is not None and plan.first_arrival.startswith("2024-11-25T09:4")


def test_a_foreign_message_is_unknown_and_not_ours():
    plan = plan_of(MESSAGES.foreign())

    assert isinstance(plan, Unknown) and plan.foreign
    assert "Records" in plan.reason


@pytest.mark.parametrize("body", ["not json {", "", "null", "[1, 2]", '"text"', "{}"])
def test_bodies_of_no_known_shape_are_foreign(body):
    plan = classify(body, {})

    assert isinstance(plan, Unknown) and plan.foreign


def test_a_body_nested_beyond_the_parser_is_foreign_and_says_so():
    # given a body a hundred thousand arrays deep: json.loads raises RecursionError on it
    body = "[" * 100_000 + "]" * 100_000

    plan = classify(body, {})

    assert isinstance(plan, Unknown) and plan.foreign
    assert plan.reason.startswith("the body is JSON nested too deep to read")


def test_our_letter_nested_beyond_the_parser_stays_ours_and_stuck():
    plan = classify("[" * 100_000 + "]" * 100_000, {"archiver-dead-letter": "v1"})

    assert isinstance(plan, Unknown) and plan.shape is LetterShape.LETTER
    assert "nested too deep" in plan.reason


def test_a_kept_letter_nested_beyond_the_parser_is_not_rerun():
    plan = read_kept_letter(b"{" + b'"a":{' * 100_000 + b"}" * 100_001)

    assert isinstance(plan, Unknown) and "nested too deep" in plan.reason


def test_values_in_a_reason_are_shown_as_json_not_python():
    message = MESSAGES.stream_batch()
    body = json.loads(message.body)
    body["DDBStreamBatchInfo"]["shardId"] = {"id": None, "ok": True}

    plan = classify(json.dumps(body), {})

    assert isinstance(plan, Unknown)
    assert '{"id": null, "ok": true}' in plan.reason


# --- ours, but not to be re-run as it is ---------------------------------------------------------------


def test_a_reduced_letter_has_no_record_and_says_which_keys_to_look_for():
    body = json.loads(MESSAGES.kept_letter().body)
    del body["letterLocation"]
    message = Message(json.dumps(body), {"archiver-dead-letter": "v1", "record-omitted": "true"})

    plan = plan_of(message)

    assert isinstance(plan, Unknown) and not plan.foreign
    assert plan.shape is LetterShape.LETTER
    assert "holds no record" in plan.reason and "USER#123" in plan.reason


def test_a_letter_of_an_event_now_readable_reruns_its_records():
    event = EVENTS.eventbridge()
    letter = DeadLetter("event", "no shape matched", "UnknownEnvelope", event)

    plan = classify(*_plain(full_message(letter)))

    assert isinstance(plan, Rerun)
    assert plan.records == (event["detail"],)


def test_a_letter_of_an_event_still_unreadable_stays_ours_and_stuck():
    letter = DeadLetter("event", "no shape matched", "UnknownEnvelope", {"records": [EVENTS.remove()]}, "orders")

    plan = classify(*_plain(full_message(letter)))

    assert isinstance(plan, Unknown) and not plan.foreign
    assert "still no delivery" in plan.reason
    assert plan.tables == {"orders"}


def test_an_async_record_whose_payload_was_dropped_is_stuck():
    body = json.loads(MESSAGES.async_failure().body)
    del body["requestPayload"]

    plan = classify(json.dumps(body), {})

    assert isinstance(plan, Unknown) and plan.shape is LetterShape.ASYNC_INVOCATION
    assert "no requestPayload" in plan.reason


def test_a_rule_dead_letter_whose_body_is_no_event_is_stuck():
    message = MESSAGES.rule_target()

    plan = classify('{"hello": 1}', message.attributes)

    assert isinstance(plan, Unknown) and plan.shape is LetterShape.RULE_TARGET


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"}, "streamArn"),
        ({"shardId": ""}, "shardId"),
        ({"startSequenceNumber": "12a"}, "startSequenceNumber"),
        ({"endSequenceNumber": 17}, "endSequenceNumber"),
        ({"startSequenceNumber": "9", "endSequenceNumber": "8"}, "starts at 9"),
    ],
)
def test_a_stream_batch_record_with_a_bad_field_names_it(changes, field):
    body = json.loads(MESSAGES.stream_batch().body)
    body["DDBStreamBatchInfo"].update(changes)

    plan = classify(json.dumps(body), {})

    assert isinstance(plan, Unknown) and plan.shape is LetterShape.STREAM_BATCH
    assert field in plan.reason


# --- a kept letter read back ----------------------------------------------------------------------------


def test_a_kept_letter_reads_back_as_its_records_and_is_checked_against_its_digest():
    record = EVENTS.remove(padding=2000)
    body, _ = full_message(DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record, "orders"))
    content = body.encode()

    plan = read_kept_letter(content, hashlib.sha256(content).hexdigest())
    wrong = read_kept_letter(content, "0" * 64)

    assert plan == Rerun(LetterShape.KEPT_LETTER, (record,), frozenset({"orders"}), "StoreUnavailableError")
    assert isinstance(wrong, Unknown) and "sha256" in wrong.reason


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"kind": "something-else", "record": {}}'])
def test_a_kept_object_that_is_no_letter_is_stuck(content):
    plan = read_kept_letter(content)

    assert isinstance(plan, Unknown) and plan.shape is LetterShape.KEPT_LETTER


# --- properties -----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=20,
)
attribute_names = st.sampled_from(["archiver-dead-letter", "letter-location", "RULE_ARN", "ERROR_CODE", "x"])


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(json_values.map(json.dumps), st.text(max_size=50)),
    attributes=st.dictionaries(attribute_names, st.text(max_size=10), max_size=3),
    top=st.sampled_from(["", "DDBStreamBatchInfo", "requestPayload", "letterLocation", "record"]),
)
def test_any_message_is_classified_without_raising(body, attributes, top):
    if top:  # reach each branch with garbage under the field it looks at
        with contextlib.suppress(ValueError):
            body = json.dumps({top: json.loads(body), "requestContext": {}, "responseContext": {}, "kind": ""})

    plan = classify(body, attributes)

    assert isinstance(plan, Rerun | ReadLetter | StreamRange | Unknown)


@settings(max_examples=100, deadline=None)
@given(key=keys(), table=st.from_regex(r"[A-Za-z0-9_.-]{3,20}", fullmatch=True))
def test_every_letter_the_sink_writes_reruns_exactly_its_record(key, table):
    record = EVENTS.remove(keys=key, table=table)
    letter = DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record, table)

    plan = classify(*_plain(full_message(letter)))

    assert plan == Rerun(LetterShape.LETTER, (record,), frozenset({table}), "StoreUnavailableError")


@settings(max_examples=200, deadline=None)
@given(first=st.integers(min_value=0, max_value=10**39), length=st.integers(min_value=-10, max_value=10**6))
def test_a_stream_range_keeps_its_sequence_numbers_exactly_and_refuses_an_inverted_one(first, length):
    last = max(0, min(first + length, 10**40 - 1))
    message = MESSAGES.stream_batch(first=str(first), last=str(last))

    plan = plan_of(message)

    if first <= last:
        assert isinstance(plan, StreamRange)
        assert (plan.first, plan.last) == (str(first), str(last))
    else:
        assert isinstance(plan, Unknown) and f"starts at {first}, after its end {last}" in plan.reason


def _plain(message: tuple[str, dict]) -> tuple[str, dict[str, str]]:
    body, attributes = message
    return body, {name: value["StringValue"] for name, value in attributes.items()}
