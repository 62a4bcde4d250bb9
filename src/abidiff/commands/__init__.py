"""The sub-commands: one module each, declaring its parser (``NAME``, ``SUMMARY``,
``DESCRIPTION``, ``BUILD_OPTIONS``, ``EPILOG`` and ``arguments(parser)``: the
:class:`~abidiff.commands.common.Command` protocol) and running it (``run(args, stdout,
stderr) -> exit status``).  Each owns its I/O, progress and exit status;
the analyses below them take snapshots and return reports.  :mod:`abidiff.cli` collects them.

Importing a command module is cheap (``--help`` is instant): the analyses, the readers and
rich are imported inside ``run``.
"""

from __future__ import annotations

from abidiff.commands import abi3, cache, compare, dump, ext, series, symbols

COMMANDS = (compare, dump, symbols, abi3, ext, series, cache)

__all__ = ["COMMANDS"]
