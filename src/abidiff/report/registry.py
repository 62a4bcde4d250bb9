"""One registry of report formats: each renderer is registered once, for the document type
it renders (a comparison :class:`~abidiff.rules.reports.Report`, an abi3 or ext report, a
series), under a format name (``text``, ``json``, ``markdown``, ``news``, ...).  Commands ask
:func:`formats` what they may offer and :func:`render` for the text.  A renderer may take
keyword options (``max_chars``, ``verbose``): it declares their names when it registers, and
:func:`render` passes it only those, so a command can give every format the same options."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from abidiff.errors import UsageError

Renderer = Callable[[Any], str]
_F = TypeVar("_F", bound=Renderer)
TerminalRenderer = Callable[[Any, Any], None]  # (document, rich console)
_T = TypeVar("_T", bound=TerminalRenderer)


@dataclass(frozen=True, slots=True, kw_only=True)
class Format:
    name: str
    document: type
    help: str
    render: Renderer
    options: frozenset[str] = frozenset()  # the keyword options the renderer takes


_FORMATS: dict[tuple[type, str], Format] = {}
_TERMINAL: dict[type, TerminalRenderer] = {}
# the modules whose import registers renderers; loaded on first use
_RENDERER_MODULES = (
    "abidiff.report.jsonreport",
    "abidiff.report.terminal",
    "abidiff.report.markdown",
    "abidiff.report.news",
    "abidiff.report.audits",
    "abidiff.report.ci",
    "abidiff.report.series",
)


def register(document: type, name: str, help: str, *, options: Iterable[str] = ()) -> Callable[[_F], _F]:
    """Decorator: ``fn`` renders ``document`` values in format ``name``; ``options``: the
    keyword options it takes."""

    def decorate(fn: _F) -> _F:
        _FORMATS[(document, name)] = Format(
            name=name, document=document, help=help, render=fn, options=frozenset(options)
        )
        return fn

    return decorate


def register_terminal(document: type) -> Callable[[_T], _T]:
    """Decorator: ``fn(document, console)`` prints ``document`` on a rich console; the text
    format on a terminal (else the ``text`` renderer's plain text)."""

    def decorate(fn: _T) -> _T:
        _TERMINAL[document] = fn
        return fn

    return decorate


def terminal_renderer(document: type) -> TerminalRenderer | None:
    """What prints ``document`` on a terminal, if it has a rich rendering."""
    _load()
    return _TERMINAL.get(document)


def _load() -> None:
    import importlib

    for module in _RENDERER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def formats(document: type) -> tuple[Format, ...]:
    """The formats registered for ``document``, ``text`` first."""
    _load()
    found = [fmt for (doc, _name), fmt in _FORMATS.items() if doc is document]
    return tuple(sorted(found, key=lambda fmt: (fmt.name != "text", fmt.name)))


def format_names(document: type) -> tuple[str, ...]:
    return tuple(fmt.name for fmt in formats(document))


def render(document: Any, name: str, **options: Any) -> str:
    """``document`` in format ``name`` (a :class:`UsageError` for a format it does not have),
    given those of ``options`` its renderer takes (the others are not for this format)."""
    _load()
    fmt = _FORMATS.get((type(document), name))
    if fmt is None:
        names = ", ".join(format_names(type(document)))
        raise UsageError(f"unknown report format '{name}' (choose from {names})")
    return fmt.render(document, **{key: value for key, value in options.items() if key in fmt.options})
