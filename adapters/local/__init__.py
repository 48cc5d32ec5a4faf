"""The local stand-in for the deployed pipeline: stream reader, local pipe, checkpoints, provisioning,
and the embedded moto server.

What belongs here: what makes ``archiver run`` read real DynamoDB streams (moto server, LocalStack
or an account) and hand each deletion to the same handler code as Lambda. What does not: anything
about arguments, terminals or rendering (``adapters.cli``), which this package never imports.
"""
