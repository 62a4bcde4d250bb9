"""The exception tree of abidiff.  Each class carries its exit status and a hint.

Exit status is a bit field, as libabigail's ``abidiff``:

====  =====================================================================
 0    no change (or, for commands that do not compare, success)
 1    error: bad input, a tool that failed, an environment problem
 2    usage error: a bad option or argument
 4    ABI changed: the comparison reported something
 8    incompatible change: the full ABI or the stable ABI broke
====  =====================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ABI_CHANGE = 4
EXIT_ABI_INCOMPATIBLE = 8


class AbidiffError(Exception):
    """Base of every error abidiff reports to its user (never with a traceback)."""

    exit_status = EXIT_ERROR
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.details = details

    def __reduce__(self) -> tuple[object, ...]:
        # keep hint and details when an error crosses a process boundary (the parse pool)
        return (_rebuild, (type(self), self.message, self.hint, self.details))


def _rebuild(cls: type[AbidiffError], message: str, hint: str | None, details: tuple[str, ...]) -> AbidiffError:
    return cls(message, hint=hint, details=details)


class UsageError(AbidiffError):
    exit_status = EXIT_USAGE
    default_hint = "see 'abidiff --help'"


class InputError(AbidiffError, ValueError):
    """The user gave us something we cannot read."""


class BuildSpecError(InputError):
    """A build spec that is none of the kinds abidiff understands."""


class SnapshotError(InputError):
    """A snapshot file that is not valid JSON, of another schema, or malformed."""

    default_hint = "re-create it with 'abidiff dump BUILD -o FILE' using this version of abidiff"


class BinaryError(InputError):
    """A binary that is corrupt, truncated, or of a format abidiff does not read."""


class HeaderParseError(InputError):
    """The headers did not parse: libclang reported errors."""


class ToolchainError(AbidiffError):
    """Something abidiff needs from the machine is missing (libclang, compiler headers)."""


class InterpreterError(InputError):
    """A Python interpreter given as a build spec failed to run or answered nonsense."""
