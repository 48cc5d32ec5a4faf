"""Everything that talks to AWS, the operating system or a person.

What belongs here: boto3 implementations of the core's ports (S3 archive store, SQS dead-letter
sink), the local stream reader, settings and configuration files, logging, and the entry points
(Lambda handler, CLI), each with its own composition root. What does not: decisions about records;
those live in ``archiver/`` and are called from here.
"""
