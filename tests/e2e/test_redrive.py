"""`archiver redrive` against a moto server: every shape the pipeline dead-letters is archived exactly once.

The outage is real enough: the store's PutObject answers 503 (the bucket is there, its writes fail),
records go through the function's own code into the dead-letter queue, and the other senders'
messages (rule target, on-failure destination, pipe, event source mapping) are written as AWS
documents them, around records read from the table's real stream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.retries import RetryPolicy
from adapters.aws.s3_dead_letters import S3DeadLetterOverflow
from adapters.aws.s3_store import S3ArchiveStore
from adapters.aws.sqs_dead_letters import SQSDeadLetterSink
from adapters.aws.stream_reader import StartFrom
from adapters.cli.app import App
from adapters.cli.demo import archived_counts
from adapters.cli.main import main
from adapters.delivery import handle
from archiver.archive import DEAD_LETTER_FOLDER
from archiver.keys import encode_key
from archiver.service import Archiver
from tests.conftest import Events
from tests.dead_letter_messages import Messages, send
from tests.integration.faults import FlakyClient, client_error

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]

FAST = RetryPolicy(attempts=3, max_delay=2.0, initial_wait=0.001, max_wait=0.005)
MESSAGES = Messages()
EVENTS = Events()


def _deleted(env: LocalEnvironment, count: int) -> tuple[str, str, list[dict[str, Any]]]:
    """Put and delete ``count`` orders; their stream, shard and REMOVE records as a pipe delivers them."""
    for n in range(count):
        item = {"PK": {"S": f"USER#{n}"}, "SK": {"S": "ORDER#1"}, "total": {"N": f"{n}.50"}}
        env.put(env.orders, item)
        env.delete(env.orders, {"PK": item["PK"], "SK": item["SK"]})
    reader = App(env.config, env.clients).stream_reader()
    stream = env.clients.dynamodb.describe_table(TableName=env.orders)["Table"]["LatestStreamArn"]
    (shard,) = reader.shards(stream)
    iterator = reader.iterator(stream, shard.shard_id, None, StartFrom.TRIM_HORIZON)
    assert iterator is not None
    removes = [record for record in reader.read(stream, iterator).records if record["eventName"] == "REMOVE"]
    assert len(removes) == count
    return stream, shard.shard_id, removes


def _encoded(record: dict[str, Any]) -> str:
    return encode_key(record["dynamodb"]["Keys"])


def _queue_url(env: LocalEnvironment) -> str:
    return str(env.clients.sqs.get_queue_url(QueueName=env.config.queue_name)["QueueUrl"])


def _function_in_an_outage(env: LocalEnvironment, *, max_message_bytes: int = 1024 * 1024) -> Archiver:
    """The function's wiring while S3 refuses archive writes (503), as far as the dead-letter queue."""
    s3, bucket = env.clients.s3, env.config.bucket
    outage = FlakyClient(
        s3,
        always={"put_object": client_error("ServiceUnavailable", 503)},
        only_if=lambda request: f"/{DEAD_LETTER_FOLDER}/" not in request["Key"],
    )
    policies = env.config.policies()
    overflow = S3DeadLetterOverflow(s3, bucket, policies=policies, retry=FAST)
    return Archiver(
        store=S3ArchiveStore(outage, bucket, retry=FAST),
        dead_letters=SQSDeadLetterSink(
            env.clients.sqs, _queue_url(env), overflow=overflow, retry=FAST, max_message_bytes=max_message_bytes
        ),
        policies=policies,
    )


def _every_shape_dead_lettered(env: LocalEnvironment, deleted: tuple[str, str, list[dict[str, Any]]]) -> None:
    """Seven deletions dead-lettered in every shape the pipeline writes, and one foreign message."""
    stream, shard, records = deleted
    url, sqs = _queue_url(env), env.clients.sqs
    # the function's own letters: one inline, one too large for its queue (kept in the bucket)
    assert handle(EVENTS.eventbridge(records[0]), _function_in_an_outage(env)) is None
    assert handle(EVENTS.eventbridge(records[1]), _function_in_an_outage(env, max_message_bytes=600)) is None
    # the rule could not deliver one; the function gave up on another (on-failure destination)
    send(sqs, url, MESSAGES.rule_target(EVENTS.eventbridge(records[2])))
    send(sqs, url, MESSAGES.async_failure(EVENTS.eventbridge(records[3])))
    # a pipe gave up on a batch of two, an event source mapping on a batch of one
    sequence = [record["dynamodb"]["SequenceNumber"] for record in records]
    send(
        sqs, url, MESSAGES.stream_batch("pipe", stream_arn=stream, shard_id=shard, first=sequence[4], last=sequence[5])
    )
    send(sqs, url, MESSAGES.stream_batch("esm", stream_arn=stream, shard_id=shard, first=sequence[6], last=sequence[6]))
    send(sqs, url, MESSAGES.foreign())


def _archive_versions(env: LocalEnvironment) -> dict[str, int]:
    """Archived versions per encoded key (dead letters kept in the bucket are not versions)."""
    found, unexpected = archived_counts(App(env.config, env.clients).store(), env.config)
    assert [key for key in unexpected if f"/{DEAD_LETTER_FOLDER}/" not in key] == []
    return {key: count for (_, key), count in found.items()}


def _queue_bodies(env: LocalEnvironment) -> list[str]:
    """Every message body in the queue (received with a long timeout, so each comes once)."""
    bodies = []
    while True:
        messages = env.clients.sqs.receive_message(
            QueueUrl=_queue_url(env), MaxNumberOfMessages=10, VisibilityTimeout=600
        ).get("Messages", [])
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]


def _report(out: str) -> dict[str, list[str]]:
    """The summary's first table: shape -> [messages, records, archived, deleted, left]."""
    table = out.split("\n\n", 1)[0].splitlines()
    return {line.split()[0]: line.split()[1:] for line in table[1:]}


def test_every_shape_is_archived_exactly_once_after_an_outage_and_a_foreign_message_stays(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given deletions dead-lettered in every shape during an S3 outage, and a message not ours
    deleted = _deleted(environment, 7)
    _every_shape_dead_lettered(environment, deleted)
    assert _archive_versions(environment) == {}
    capsys.readouterr()
    # when S3 is back and the queue is redriven
    code = main(["redrive", "--config", environment.config_path])
    # then each deletion is archived exactly once, every message of ours is gone, the foreign one stays
    out = capsys.readouterr().out
    assert code == 0, out
    assert _archive_versions(environment) == {_encoded(record): 1 for record in deleted[2]}
    assert _queue_bodies(environment) == [MESSAGES.foreign().body]
    assert _report(out) == {
        "archiver-letter": ["1", "1", "1", "1", "0"],
        "archiver-letter-in-s3": ["1", "1", "1", "1", "0"],
        "rule-target": ["1", "1", "1", "1", "0"],
        "async-invocation": ["1", "1", "1", "1", "0"],
        "stream-batch": ["2", "3", "3", "2", "0"],
        "unknown": ["1", "0", "0", "0", "1"],
    }
    assert "unknown shape" in out.split("\n\n", 1)[1]


def test_a_dry_run_changes_nothing_and_a_second_redrive_writes_nothing_new(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given every shape dead-lettered
    deleted = _deleted(environment, 7)
    _every_shape_dead_lettered(environment, deleted)
    before = sorted(_queue_bodies_visible(environment))
    # when a dry run reads them all
    assert main(["redrive", "--config", environment.config_path, "--dry-run"]) == 0
    # then nothing is archived and every message is still there, visible
    assert _archive_versions(environment) == {}
    assert sorted(_queue_bodies_visible(environment)) == before
    assert _report(capsys.readouterr().out)["stream-batch"] == ["2", "3", "0", "0", "2"]
    # and when redriven for real, then again with the same messages sent once more
    assert main(["redrive", "--config", environment.config_path]) == 0
    archived = _archive_objects(environment)
    assert len(archived) == 7
    _every_shape_dead_lettered(environment, deleted)
    assert main(["redrive", "--config", environment.config_path]) == 0
    # the second redrive wrote nothing new, and left only the foreign messages
    assert _archive_objects(environment) == archived
    assert _queue_bodies(environment) == [MESSAGES.foreign().body] * 2


def _archive_objects(env: LocalEnvironment) -> dict[str, str]:
    """Archive object key -> ETag and LastModified: a rewrite would change the latter."""
    s3 = env.clients.s3
    listed = s3.list_objects_v2(Bucket=env.config.bucket).get("Contents", [])
    return {
        item["Key"]: f"{item['ETag']} {item['LastModified'].isoformat()}"
        for item in listed
        if f"/{DEAD_LETTER_FOLDER}/" not in item["Key"]
    }


def _queue_bodies_visible(env: LocalEnvironment) -> list[str]:
    """Every message body, then made visible again (so the queue is as it was)."""
    sqs, url = env.clients.sqs, _queue_url(env)
    bodies, handles = [], []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not messages:
            break
        bodies += [message["Body"] for message in messages]
        handles += [message["ReceiptHandle"] for message in messages]
    for handle_ in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle_, VisibilityTimeout=0)
    return bodies


def test_a_batch_past_the_streams_retention_stays_and_is_reported_with_its_range(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a pipe's record of a batch on a shard the stream no longer has (trimmed after 24 h)
    stream, _, records = _deleted(environment, 1)
    sequence = records[0]["dynamodb"]["SequenceNumber"]
    gone = MESSAGES.stream_batch(
        stream_arn=stream, shard_id="shardId-00000001000000000000-0000dead", first=sequence, last=sequence
    )
    send(environment.clients.sqs, _queue_url(environment), gone)
    capsys.readouterr()
    # when redriven
    code = main(["redrive", "--config", environment.config_path])
    # then the message stays, the report names the range, and the exit code says a record was not archived
    out = capsys.readouterr().out
    assert code == 1
    assert _queue_bodies(environment) == [gone.body]
    assert _archive_versions(environment) == {}
    left = out.split("\n\n", 1)[1]
    assert "beyond stream retention" in left
    assert f"sequence numbers {sequence} to {sequence}" in left
    assert "0000dead" in left
    assert left.rstrip().endswith("the shard is no longer in the stream")  # the reason in full, never clipped


def test_a_foreign_message_nested_too_deep_stays_and_the_letter_beside_it_is_archived_and_deleted(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a letter of ours and a foreign body a hundred thousand arrays deep, in one queue
    _, _, records = _deleted(environment, 1)
    url = _queue_url(environment)
    send(environment.clients.sqs, url, MESSAGES.rule_target(EVENTS.eventbridge(records[0])))
    deep = "[" * 100_000 + "]" * 100_000
    environment.clients.sqs.send_message(QueueUrl=url, MessageBody=deep)
    capsys.readouterr()
    # when redriven
    code = main(["redrive", "--config", environment.config_path])
    # then the letter is archived and its message deleted, the foreign one stays, and the summary says so
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "internal error" not in captured.err + captured.out
    assert _archive_versions(environment) == {_encoded(records[0]): 1}
    assert _queue_bodies(environment) == [deep]
    assert _report(captured.out) == {"rule-target": ["1", "1", "1", "1", "0"], "unknown": ["1", "0", "0", "0", "1"]}
    assert "unknown shape         1  the body is JSON nested too deep to read" in captured.out


def test_table_reads_its_own_queue_and_only_its_messages_of_the_shared_one(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the table's own queue as Terraform names it, and the shared queue with both tables' letters
    orders = environment.config.table(environment.orders)
    own = environment.clients.sqs.create_queue(QueueName=orders.dead_letter_queue_name)["QueueUrl"]
    _, _, records = _deleted(environment, 2)
    send(environment.clients.sqs, own, MESSAGES.rule_target(EVENTS.eventbridge(records[0])))
    send(environment.clients.sqs, _queue_url(environment), MESSAGES.rule_target(EVENTS.eventbridge(records[1])))
    other = EVENTS.remove(table=environment.sessions)
    send(environment.clients.sqs, _queue_url(environment), MESSAGES.rule_target(EVENTS.eventbridge(other)))
    capsys.readouterr()
    # when only the orders table is redriven
    code = main(["redrive", "--config", environment.config_path, "--table", environment.orders])
    # then both orders deletions are archived, and the sessions letter stays where it was
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(_archive_versions(environment).values()) == [1, 1]
    (left,) = _queue_bodies(environment)
    assert json.loads(left)["detail"] == other
    assert "another table" in out


def test_no_queue_at_the_endpoint_is_one_line_naming_what_was_looked_for(
    environment: LocalEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = Path(environment.config_path).read_text(encoding="utf-8")
    path = tmp_path / "elsewhere.yaml"
    path.write_text(text.replace("dead_letter_queue: ", "dead_letter_queue: missing-"), encoding="utf-8")

    assert main(["redrive", "--config", str(path)]) == 1

    err = capsys.readouterr().err
    assert err.startswith("archiver: error: no dead-letter queue of this configuration exists")
    assert "missing-archive-" in err and "dynamo-archive-orders-" in err
    assert "Traceback" not in err
