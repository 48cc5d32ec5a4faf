"""The AWS side of the ports: S3 archive store, SQS dead letters (and the bucket that keeps those too
large for their queue), the dead-letter queues and stream ranges `archiver redrive` reads, the stream
reader, the DynamoDB table a restore writes to, the retry policy, the clients.

What belongs here: code that calls AWS APIs on behalf of the core, shared by every entry point
(the Lambda function and the CLI). What does not: anything local-only (``adapters.local``) or about
a person at a terminal (``adapters.cli``); this package imports neither.
"""
