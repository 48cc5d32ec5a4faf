"""The pure core of dynamo-archive: stream records in, archive objects and outcomes out.

What belongs here: values (frozen dataclasses), the key/path encoding, the parsing of stream
records, delivery envelopes and dead-letter messages, the decisions (archive, skip, dead-letter,
restore, redrive), the ports (``typing.Protocol``) that adapters implement, and the use-case
services over them: ``Archiver`` (service.py), ``Restorer`` (restorer.py), ``Redriver``
(redriver.py). What does not: boto3, botocore, files, the network, the clock, the environment,
logging setup. ``tests/unit`` drives all of it with fakes.
"""
