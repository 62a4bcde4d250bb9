"""CPython's stable ABI manifest: ``Misc/stable_abi.toml`` (3.11+) or ``Misc/stable_abi.txt`` (3.10).

Both list the items of the limited API and the stable ABI (``function``, ``data``,
``struct``, ``macro``, ``const``, ``typedef``, and in the TOML file ``feature_macro``) with
the version that ``added`` them, ``abi_only`` for items kept for binary compatibility only,
``ifdef`` for items that exist only when a feature macro is defined, and for structs how
much of their layout is promised (``struct_abi_kind``, ``members``).

The 3.10 text format (read by 3.10's ``Tools/scripts/stable_abi.py``) is one item per
unindented line, ``KIND NAME``, followed by indented attribute lines::

    function PyOS_BeforeFork
        added 3.7
        ifdef HAVE_FORK
    function _Py_Dealloc
        added 3.2
        abi_only

``#`` starts a comment.  ``struct_abi_kind KIND`` and ``members A B`` are read too, should
a tree carry them.  Both formats give the same :class:`~abidiff.model.ManifestEntry` values,
sorted by ``(kind, name)``.  Keys this reader does not use (``doc``, ``windows``) are ignored:
CPython says the syntax "is not fixed".
"""

from __future__ import annotations

import re
from typing import Any

from abidiff.errors import InputError
from abidiff.model import ManifestEntry

KINDS = frozenset({"function", "data", "struct", "macro", "const", "typedef", "feature_macro"})
STRUCT_ABI_KINDS = frozenset({"full-abi", "opaque", "members"})
_VERSION = re.compile(r"^3\.\d+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TXT_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<word>\S+)[ ]*(?P<rest>.*)$")


class _Malformed(Exception):
    """An error at a line of the manifest; turned into :class:`InputError` by the caller."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_manifest(path: str) -> tuple[ManifestEntry, ...]:
    """Every entry of the manifest at ``path``, sorted by ``(kind, name)``.

    ``*.toml`` is read as the 3.11+ format, anything else as the 3.10 text format.
    :class:`InputError` (one line, naming the file and line) for a malformed manifest.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise InputError(f"the stable ABI manifest {path} is not UTF-8 text") from exc
    except OSError as exc:
        raise InputError(
            f"cannot read the stable ABI manifest {path}: {exc.strerror or exc}",
            hint="it is Misc/stable_abi.toml (3.11+) or Misc/stable_abi.txt (3.10) of a CPython tree",
        ) from exc
    return parse_manifest(text, source=path, toml=path.endswith(".toml"))


def parse_manifest(text: str, *, source: str, toml: bool) -> tuple[ManifestEntry, ...]:
    """The entries of a manifest given as text (``source`` names it in errors)."""
    try:
        entries = _parse_toml(text, source) if toml else _parse_txt(text)
    except _Malformed as exc:
        where = f"{source}, line {exc.line}" if exc.line is not None else source
        raise InputError(
            f"{where}: {exc.message}",
            hint="the stable ABI manifest of a CPython tree is Misc/stable_abi.toml (3.11+) or "
            "Misc/stable_abi.txt (3.10); is the file damaged?",
        ) from exc
    return tuple(sorted(entries, key=lambda entry: (entry.kind, entry.name)))


# --- TOML (3.11+) -----------------------------------------------------------------------


def _parse_toml(text: str, source: str) -> list[ManifestEntry]:
    from abidiff import tomlreader as toml

    try:
        document: dict[str, Any] = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise _Malformed(line, f"not valid TOML: {str(exc).split(' (at line')[0]}") from exc
    entries = []
    for kind, items in document.items():
        if kind not in KINDS:
            raise _Malformed(_line_of(text, kind, None), f"unknown kind of item '{kind}'")
        if not isinstance(items, dict):
            raise _Malformed(_line_of(text, kind, None), f"'{kind}' is not a table of items")
        for name, body in items.items():
            entries.append(_toml_entry(text, kind, name, body))
    return entries


def _line_of(text: str, kind: str, name: str | None) -> int | None:
    """The line of ``[kind.name]`` (or of the first ``[kind.``) in the TOML text."""
    header = re.compile(rf"^\s*\[\s*{re.escape(kind)}\s*\.\s*{re.escape(name) if name else ''}")
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            return number
    return None


def _toml_entry(text: str, kind: str, name: str, body: object) -> ManifestEntry:
    line = _line_of(text, kind, name)
    if not isinstance(body, dict):
        raise _Malformed(line, f"{kind}.{name} is not a table")
    if not _NAME.match(name):
        raise _Malformed(line, f"'{name}' is not a C identifier")
    added = body.get("added")
    if added is None and kind != "feature_macro":
        raise _Malformed(line, f"{kind}.{name} has no 'added' version")
    if added is not None and not (isinstance(added, str) and _VERSION.match(added)):
        raise _Malformed(line, f"{kind}.{name}: 'added' must be a version such as '3.2', not {added!r}")
    abi_only = body.get("abi_only", False)
    if not isinstance(abi_only, bool):
        raise _Malformed(line, f"{kind}.{name}: 'abi_only' must be true or false, not {abi_only!r}")
    ifdef = body.get("ifdef")
    if ifdef is not None and not (isinstance(ifdef, str) and _NAME.match(ifdef)):
        raise _Malformed(line, f"{kind}.{name}: 'ifdef' must name a feature macro, not {ifdef!r}")
    struct_abi_kind = body.get("struct_abi_kind")
    _check_struct_abi_kind(line, kind, name, struct_abi_kind)
    members = body.get("members", [])
    if not (isinstance(members, list) and all(isinstance(item, str) and _NAME.match(item) for item in members)):
        raise _Malformed(line, f"{kind}.{name}: 'members' must be a list of field names, not {members!r}")
    return ManifestEntry(
        kind=kind,
        name=name,
        added=added or "",
        abi_only=abi_only,
        ifdef=ifdef,
        struct_abi_kind=struct_abi_kind,
        members=tuple(members),
    )


def _check_struct_abi_kind(line: int | None, kind: str, name: str, value: object) -> None:
    if value is None:
        return
    if kind != "struct":
        raise _Malformed(line, f"{kind}.{name}: only a struct has a 'struct_abi_kind'")
    if value not in STRUCT_ABI_KINDS:
        allowed = ", ".join(sorted(STRUCT_ABI_KINDS))
        raise _Malformed(line, f"struct.{name}: 'struct_abi_kind' must be one of {allowed}, not {value!r}")


# --- text (3.10) ------------------------------------------------------------------------


class _TxtItem:
    __slots__ = ("abi_only", "added", "ifdef", "kind", "line", "members", "name", "struct_abi_kind")

    def __init__(self, kind: str, name: str, line: int) -> None:
        self.kind = kind
        self.name = name
        self.line = line
        self.added: str | None = None
        self.abi_only = False
        self.ifdef: str | None = None
        self.struct_abi_kind: str | None = None
        self.members: tuple[str, ...] = ()

    def entry(self) -> ManifestEntry:
        if self.added is None and self.kind != "feature_macro":
            raise _Malformed(self.line, f"{self.kind} {self.name} has no 'added' line")
        return ManifestEntry(
            kind=self.kind,
            name=self.name,
            added=self.added or "",
            abi_only=self.abi_only,
            ifdef=self.ifdef,
            struct_abi_kind=self.struct_abi_kind,
            members=self.members,
        )


def _parse_txt(text: str) -> list[ManifestEntry]:
    items: list[_TxtItem] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.partition("#")[0].rstrip()
        if not line:
            continue
        if "\t" in line:
            raise _Malformed(number, "tabs are not allowed (indent with spaces)")
        match = _TXT_LINE.match(line)
        if match is None:  # pragma: no cover - the pattern matches any non-blank line
            raise _Malformed(number, f"invalid syntax: {line.strip()}")
        word, rest = match["word"], match["rest"].strip()
        if not match["indent"]:
            item = _txt_item(number, word, rest)
            if (item.kind, item.name) in seen:
                raise _Malformed(
                    number, f"{item.kind} {item.name} is listed twice (first at line {seen[item.kind, item.name]})"
                )
            seen[item.kind, item.name] = number
            items.append(item)
        else:
            if not items:
                raise _Malformed(number, f"'{word}' is indented but belongs to no item")
            _txt_attribute(items[-1], number, word, rest)
    return [item.entry() for item in items]


def _txt_item(number: int, word: str, rest: str) -> _TxtItem:
    if word not in KINDS:
        raise _Malformed(number, f"unknown kind of item '{word}'")
    if not _NAME.match(rest):
        raise _Malformed(number, f"'{word}' must be followed by a C identifier, not {rest!r}")
    return _TxtItem(word, rest, number)


def _txt_attribute(item: _TxtItem, number: int, word: str, rest: str) -> None:
    if word == "added":
        if not _VERSION.match(rest):
            raise _Malformed(number, f"'added' must be followed by a version such as 3.2, not {rest!r}")
        item.added = rest
    elif word == "ifdef":
        if not _NAME.match(rest):
            raise _Malformed(number, f"'ifdef' must be followed by a feature macro, not {rest!r}")
        item.ifdef = rest
    elif word == "abi_only":
        if rest:
            raise _Malformed(number, f"'abi_only' takes no value (got {rest!r})")
        if item.kind not in ("function", "data"):
            raise _Malformed(number, f"'abi_only' cannot go in a {item.kind}")
        item.abi_only = True
    elif word == "struct_abi_kind":
        _check_struct_abi_kind(number, item.kind, item.name, rest)
        item.struct_abi_kind = rest
    elif word == "members":
        names = tuple(part for part in re.split(r"[\s,]+", rest) if part)
        if not names or not all(_NAME.match(part) for part in names):
            raise _Malformed(number, f"'members' must be followed by field names, not {rest!r}")
        item.members = names
    else:
        raise _Malformed(number, f"unknown attribute '{word}' of {item.kind} {item.name}")
