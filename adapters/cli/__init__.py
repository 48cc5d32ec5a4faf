"""The `archiver` command: one module per command group, one composition root (``app.py``).

What belongs here: argument parsing, what a person sees (tables, progress, one-line errors), and
the wiring of the local pipe and the archive for each command. What does not: talking to AWS
(``adapters.aws``), reading streams (``adapters.local``), or deciding anything about a record
(``archiver``). Nothing outside this package imports it.
"""
