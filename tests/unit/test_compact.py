"""archiver.compact: a batch's deletions -> gzip JSON-lines objects, one per table and hour, deterministic."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.archive import build_archive_object, version_of
from archiver.compact import CompactLine, compact_line, pack_lines, versions_in_name
from archiver.layouts import read_compact_key
from archiver.policy import Layout, Policies, TablePolicy
from archiver.records import DeletedItem, read_record
from tests.builders import ARN, remove_record
from tests.strategies import keys

COMPACT = TablePolicy(layout=Layout.COMPACT)
HOUR = 1_700_000_000 - 1_700_000_000 % 3600  # 2023-11-14T22:00:00Z


def _item(record: dict) -> DeletedItem:
    item = read_record(record, Policies(default=COMPACT))
    assert isinstance(item, DeletedItem), item
    return item


def _removal(n: int, *, at: int = HOUR + 60, key: str | None = None, **kwargs: object) -> dict:
    return remove_record(
        event_id=f"event-{n}",
        sequence=str(10**20 + n),
        created=at,
        keys={"PK": {"S": key or f"USER#{n}"}},
        **kwargs,  # type: ignore[arg-type]
    )


def _lines(records: list[dict], policy: TablePolicy = COMPACT) -> list[CompactLine]:
    return [compact_line(_item(record), policy) for record in records]


def _read(body: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(body).split(b"\n") if line]


def test_a_line_is_the_objects_body_plus_its_version() -> None:
    # given a TTL deletion of a table that drops an attribute
    policy = TablePolicy(layout=Layout.COMPACT, drop_attributes=frozenset({"secret"}))
    record = _removal(1, ttl=True, old_image={"PK": {"S": "USER#1"}, "secret": {"S": "x"}, "n": {"N": "1.50"}})
    item = _item(record)

    # when it is written as a compact line
    line = json.loads(compact_line(item, policy).text)

    # then it says what its own object would say, and which version that object would be
    body = json.loads(build_archive_object(item, policy).body)
    assert line == {**body, "version": version_of(item)}
    assert line["deletion"] == {"kind": "ttl", "evidence": "userIdentity"} and line["droppedAttributes"] == ["secret"]


#: An objects body as written before the compact layout existed (archiver/archive.py at cd6beb8):
#: sharing the body's code with the compact lines must not change one byte of it.
OBJECTS_BODY = (
    '{"deletedAt":"2023-11-14T22:13:20Z","deletion":{"evidence":"userIdentity","kind":"ttl"},'
    '"droppedAttributes":["secret"],"encodedKey":"PK(S)USER!23123*SK(S)PROFILE","image":{"PK":{"S":"USER#123"},'
    '"SK":{"S":"PROFILE"},"n":{"N":"1.50"},"note":{"S":"café \u2028 \\ud800"}},"imageMissing":false,'
    '"key":{"PK":{"S":"USER#123"},"SK":{"S":"PROFILE"}},"schemaVersion":1,"stream":{"approximateCreationDateTime":'
    '1700000000,"eventID":"e1","eventSourceARN":"arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/'
    '2024-01-01T00:00:00.000","region":"eu-west-1","sequenceNumber":"111100000000000000001","streamViewType":'
    '"NEW_AND_OLD_IMAGES"},"table":"orders"}'
).encode()


def test_the_objects_layout_writes_the_same_bytes_as_before() -> None:
    image = {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}, "n": {"N": "1.50"}, "note": {"S": "café \u2028 \ud800"}}
    record = remove_record(ttl=True, old_image={**image, "secret": {"S": "x"}})
    item = read_record(record, Policies())
    assert isinstance(item, DeletedItem)

    obj = build_archive_object(item, TablePolicy(drop_attributes=frozenset({"secret"})))

    assert obj.body == OBJECTS_BODY
    assert obj.key.endswith("/20231114T221320Z-0000000000000000000111100000000000000001-8b5cc4df7eec7d32.json")


def test_a_batch_in_one_hour_is_one_gzip_object_readable_whole_by_ordinary_readers() -> None:
    packing = pack_lines(_lines([_removal(n) for n in range(1, 4)]))

    (obj,) = packing.objects
    assert packing.placement == (0, 0, 0)
    assert obj.key.startswith("archive/orders/compact/dt=2023-11-14/hh=22/") and obj.key.endswith(".jsonl.gz")
    assert [line["key"]["PK"]["S"] for line in _read(obj.body)] == ["USER#1", "USER#2", "USER#3"]
    with gzip.open(io.BytesIO(obj.body), "rt", encoding="utf-8") as lines:
        assert [json.loads(line)["version"] for line in lines] == [
            obj.first_version,
            _read(obj.body)[1]["version"],
            obj.last_version,
        ]


def test_a_batch_across_an_hour_boundary_is_one_object_per_hour_each_in_its_hour() -> None:
    records = [_removal(1, at=HOUR + 3599), _removal(2, at=HOUR + 3600), _removal(3, at=HOUR + 10)]

    packing = pack_lines(_lines(records))

    first, second = packing.objects
    assert packing.placement == (0, 1, 0)
    hours = [read_compact_key(o.key, "archive", "orders") for o in packing.objects]
    assert [h.hour if h else None for h in hours] == [
        datetime(2023, 11, 14, 22, tzinfo=UTC),
        datetime(2023, 11, 14, 23, tzinfo=UTC),
    ]
    assert [line["key"]["PK"]["S"] for line in _read(first.body)] == ["USER#3", "USER#1"]  # sorted by version
    assert [line["key"]["PK"]["S"] for line in _read(second.body)] == ["USER#2"]


def test_a_record_without_a_deletion_time_is_filed_under_the_epoch_hour() -> None:
    (obj,) = pack_lines(_lines([_removal(1, at=None)])).objects  # type: ignore[arg-type]

    assert "/compact/dt=1970-01-01/hh=00/" in obj.key
    assert _read(obj.body)[0]["deletedAt"] is None


def test_a_deletion_delivered_twice_in_one_batch_is_written_once_and_settles_both() -> None:
    packing = pack_lines(_lines([_removal(1), _removal(2), _removal(1)]))

    (obj,) = packing.objects
    assert packing.placement == (0, 0, 0)
    assert obj.lines == 2 and len(_read(obj.body)) == 2


def test_two_records_claiming_one_deletion_with_other_content_keep_the_first() -> None:
    other = _removal(1, old_image={"PK": {"S": "USER#1"}, "name": {"S": "Grace"}})

    packing = pack_lines(_lines([_removal(1), other]))

    (obj,) = packing.objects
    assert packing.placement[0] == 0
    assert isinstance(packing.placement[1], str) and "other content" in packing.placement[1]
    assert _read(obj.body)[0]["image"]["name"] == {"S": "Ada"}


def test_tables_never_share_an_object() -> None:
    other_table = _removal(2, arn=ARN.replace("/orders/", "/invoices/"))

    packing = pack_lines(_lines([_removal(1), other_table]))

    assert sorted(o.table for o in packing.objects) == ["invoices", "orders"]
    assert packing.placement == (0, 1)


def test_line_separators_inside_strings_are_escaped_and_read_back_exactly() -> None:
    text = "line\u2028separator\u2029paragraph"
    (line,) = _lines([_removal(1, old_image={"PK": {"S": "USER#1"}, "note": {"S": text}})])

    assert b"\xe2\x80\xa8" not in line.text and b"\xe2\x80\xa9" not in line.text
    assert len(line.text.decode().splitlines()) == 1
    assert json.loads(line.text)["image"]["note"] == {"S": text}


def test_the_name_says_the_first_and_last_version_and_the_key_stays_well_within_s3s_limit() -> None:
    policy = TablePolicy(prefix="p" * 128, layout=Layout.COMPACT)
    records = [_removal(n, arn=ARN.replace("/orders/", f"/{'t' * 255}/")) for n in (1, 2)]

    (obj,) = pack_lines(_lines(records, policy)).objects

    read = read_compact_key(obj.key, "p" * 128, "t" * 255)
    assert read is not None and versions_in_name(read.name) == (obj.first_version, obj.last_version)
    assert len(obj.key.encode()) < 600
    assert versions_in_name("not-a-compact-name") is None


def test_the_gzip_header_carries_no_time_and_no_file_name() -> None:
    (obj,) = pack_lines(_lines([_removal(1)])).objects

    assert obj.body[4:8] == b"\x00\x00\x00\x00"  # MTIME
    assert obj.body[3] & 0x08 == 0  # no FNAME


_batches = st.lists(
    st.tuples(keys(), st.integers(min_value=0, max_value=3 * 3600)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(_batches, st.randoms(use_true_random=False))
def test_the_same_deletions_give_the_same_objects_byte_for_byte_in_any_order(batch, random) -> None:  # type: ignore[no-untyped-def]
    # given a batch of deletions of any keys over three hours, and the same batch in another order
    records = [
        remove_record(event_id=f"e{n}", sequence=str(1000 + n), created=HOUR + offset, keys=key)
        for n, (key, offset) in enumerate(batch)
    ]
    shuffled = list(records)
    random.shuffle(shuffled)

    # when each is packed, twice
    first, again, reordered = (pack_lines(_lines(r)).objects for r in (records, records, shuffled))

    # then the objects are the same, byte for byte, and hold every deletion once, in its hour
    assert first == again
    assert sorted((o.key, o.body) for o in first) == sorted((o.key, o.body) for o in reordered)
    held = [line for obj in first for line in _read(obj.body)]
    assert sorted(line["stream"]["eventID"] for line in held) == sorted(f"e{n}" for n in range(len(batch)))
    for obj in first:
        assert all(line["deletedAt"].startswith(obj.hour.strftime("%Y-%m-%dT%H:")) for line in _read(obj.body))
