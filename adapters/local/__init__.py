"""The local stand-in for the deployed pipeline: local pipe, checkpoints, provisioning, and the embedded
moto server (the stream reader it uses is in ``adapters.aws``: the redrive reads streams in production too).

What belongs here: what makes ``archiver run`` read real DynamoDB streams (moto server, LocalStack
or an account) and hand each deletion to the same handler code as Lambda. What does not: anything
about arguments, terminals or rendering (``adapters.cli``), which this package never imports.
"""
