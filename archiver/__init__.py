"""The pure core of dynamo-archive: stream records in, archive objects and outcomes out.

What belongs here: values (frozen dataclasses), the key/path encoding, the parsing of stream
records and delivery envelopes, the decisions (archive, skip, dead-letter), and the ports
(``typing.Protocol``) that adapters implement. What does not: boto3, botocore, files, the
network, the clock, the environment, logging setup. ``tests/unit`` drives all of it with fakes.
"""
