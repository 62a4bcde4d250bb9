"""What the static inline functions and macros of the headers use: the fields they read or
write, the records whose size they take, the helpers they call (:class:`~abidiff.model.Reach`).

Code compiled against the headers holds the bodies of their static inline functions and the
expansions of their macros: an extension that uses ``Py_TYPE(o)`` reads ``PyObject.ob_type``
at the offset it had when it was built, and no import shows it.  This pass is read from the
full API's parse itself (:func:`abidiff.headers.parse.scan`, which then keeps the function
bodies): no second parse.

- **Static inline functions**: the AST of their bodies: member references (``->``, ``.``),
  ``offsetof`` (its member references), ``sizeof``/``_Alignof`` of a record, locals and array
  elements of a record type (their size), calls and references of functions and data; and
  the macros expanded inside the body (the preprocessor's record, by line).
- **Function-like macros**: a use of each is generated and parsed with the headers, after
  them (lines of the main file, like the macro evaluations of :mod:`abidiff.headers.macros`):
  ``static void __abidiff_rN_0(void) { NAME(0, 0); }``, and for a macro whose text assigns
  or takes an address (``Py_CLEAR``), in case that does not compile,
  ``static void __abidiff_rN_1(void) { void *__abidiff_p = 0; NAME(__abidiff_p, __abidiff_p); }``.
  The AST of the first that compiles is read as a body is.  A macro whose two uses both fail
  (it takes a type or a member name, expands to a declaration or an initializer:
  ``Py_MEMBER_SIZE``, ``PyObject_HEAD_INIT``) is read from its **tokens** only: the macros,
  functions and data it names, the members after ``->`` or ``.`` (of an unknown record:
  matched by member name) and ``sizeof(Type)``.
- **Object-like macros that declare members** (``PyObject_HEAD``, ``PyObject_VAR_HEAD``,
  ``PyException_HEAD``): each is parsed as the body of a generated struct; a member of a
  record type held by value is a record whose size the macro's users depend on.

Errors of the generated lines never fail the parse (:func:`abidiff.headers.parse._errors`
skips the main file's extra lines); a generated use only counts when its own line has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from abidiff.headers import clangext
from abidiff.headers.extract import Extractor, clean_spelling, top_level
from abidiff.headers.job import MAIN_FILE, ParseJob, Scan
from abidiff.headers.macros import header_texts
from abidiff.model import FieldRef, Reach, ReachKind

REACH_PREFIX = "__abidiff_r"
EMBED_PREFIX = "__abidiff_s"
_POINTER = "__abidiff_p"
MAX_PROBES = 5_000  # generated uses (two lines each); CPython 3.13's headers: ~500

_FUNCTION_MACRO_RE = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)((?:[^\n\\]|\\\n|\\)*)", re.MULTILINE
)
_OBJECT_MACRO_RE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?![\w(])((?:[^\n\\]|\\\n|\\)*)", re.MULTILINE)
_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*")
_MEMBER_DECLARATION_RE = re.compile(r"[A-Za-z_]\w*[\s*]+[A-Za-z_]\w*(\[[^\]]*\])?\s*;")


@dataclass(frozen=True, slots=True)
class Probe:
    """One macro of the tree: a generated use of it (``arity`` arguments, or None for an
    object-like macro read as the members of a struct; ``generated`` false when its body
    does not close what it opens), and what its text names, for its reading from tokens:
    identifiers, members after ``->``/``.``, and ``sizeof(Name)``."""

    name: str
    arity: int | None
    generated: bool = True
    lvalues: bool = False  # its text assigns or takes an address: a use of lvalues may be needed
    names: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    sized: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Plan:
    """The generated uses of one parse, in the order of their lines."""

    probes: tuple[Probe, ...] = ()

    def lines(self) -> list[str]:
        out = []
        for index, probe in enumerate(self.probes):
            if not probe.generated:
                continue
            if probe.arity is None:
                out.append(f"struct {EMBED_PREFIX}{index} {{ {probe.name} }};")
                continue
            zeros = ", ".join(["0"] * probe.arity)
            pointers = ", ".join([_POINTER] * probe.arity)
            out.append(f"static void {REACH_PREFIX}{index}_0(void) {{ {probe.name}({zeros}); }}")
            if not probe.lvalues:
                continue
            pointer = f"void *{_POINTER} = 0;"
            out.append(f"static void {REACH_PREFIX}{index}_1(void) {{ {pointer} {probe.name}({pointers}); }}")
        return out


def _params(params: str) -> list[str]:
    return [part.strip() for part in params.split(",") if part.strip()]


def _arity(names: list[str]) -> int:
    fixed = [name for name in names if not name.endswith("...")]
    return len(fixed) if fixed or not names else 1


_CLOSING = {")": "(", "]": "[", "}": "{"}
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_LVALUE_RE = re.compile(r"(?<![=!<>])=(?!=)|\+\+|--|&\s*\(|\b_Py_TYPEOF\b|\b__typeof__\b")
_WORD_RE = re.compile(r"(->|\.|sizeof\s*\()?\s*\b([A-Za-z_]\w*)")


def _balanced(body: str) -> bool:
    """Whether a macro body closes every bracket it opens (a use of one that does not would
    swallow the generated lines after it)."""
    stack: list[str] = []
    for char in body:
        if char in "([{":
            stack.append(char)
        elif char in _CLOSING:
            if not stack or stack.pop() != _CLOSING[char]:
                return False
    return not stack


def _probe(name: str, arity: int | None, params: list[str], body: str, known: Probe | None) -> Probe:
    """The probe of one definition (merged with ``known``, another definition of the same
    name and arity in another branch of an ``#if``: what either names)."""
    text = _STRING_RE.sub("0", _COMMENT_RE.sub(" ", body.replace("\\\n", " ")))
    names, members, sized = set(), set(), set()
    for before, word in _WORD_RE.findall(text):
        if word in params or word == "sizeof":
            continue
        if before in ("->", "."):
            members.add(word)
        else:
            names.add(word)
            if before.startswith("sizeof"):
                sized.add(word)
    generated = _balanced(text) and (arity is not None or bool(_MEMBER_DECLARATION_RE.search(text)))
    lvalues = bool(_LVALUE_RE.search(text))
    if known is not None:
        lvalues = lvalues or known.lvalues
        names |= known.names
        members |= known.members
        sized |= known.sized
        generated = generated and known.generated
    return Probe(name, arity, generated, lvalues, frozenset(names), frozenset(members), frozenset(sized))


def plan(job: ParseJob) -> Plan:
    """A generated use of every function-like macro of the tree, and a generated struct of
    every object-like macro whose body declares a member (``PyObject ob_base;``)."""
    probes: dict[tuple[str, int | None], Probe] = {}
    for text in header_texts(job):
        for name, params, body in _FUNCTION_MACRO_RE.findall(text):
            names = _params(params)
            key: tuple[str, int | None] = (name, _arity(names))
            probes[key] = _probe(name, key[1], names, body, probes.get(key))
        for name, body in _OBJECT_MACRO_RE.findall(text):
            if ";" in body:
                probes[(name, None)] = _probe(name, None, [], body, probes.get((name, None)))
        if len(probes) > MAX_PROBES:
            break  # no CPython tree comes near: read what came first
    return Plan(probes=tuple(sorted(probes.values(), key=lambda p: (p.name, -1 if p.arity is None else p.arity))))


@dataclass(slots=True)
class _Facts:
    fields: set[FieldRef] = field(default_factory=set)
    sizes: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)

    def empty(self) -> bool:
        return not (self.fields or self.sizes or self.uses)


class Reader:
    """Reads uses out of cursors of one translation unit (also an extension's: see
    :mod:`abidiff.ext_source`)."""

    def __init__(self, tu: Any) -> None:
        ci = clangext.cindex()
        self.ci = ci
        self.tu = tu
        kinds = ci.CursorKind
        self.member_kinds = frozenset((kinds.MEMBER_REF_EXPR.value, kinds.MEMBER_REF.value))
        self.decl_ref = kinds.DECL_REF_EXPR.value
        self.size_of = kinds.CXX_UNARY_EXPR.value
        self.by_value = frozenset((kinds.ARRAY_SUBSCRIPT_EXPR.value, kinds.VAR_DECL.value))
        self.field_decl = kinds.FIELD_DECL.value
        self.function_decl = kinds.FUNCTION_DECL.value
        self.var_decl = kinds.VAR_DECL.value
        self.unit = kinds.TRANSLATION_UNIT
        self.record_decls = (kinds.STRUCT_DECL, kinds.UNION_DECL)
        types = ci.TypeKind
        self.array_kinds = (types.CONSTANTARRAY, types.INCOMPLETEARRAY, types.VARIABLEARRAY)
        self.record_type = types.RECORD
        self._fields: dict[int, FieldRef | None] = {}
        self._records: dict[str, str | None] = {}
        self.decls: dict[str, Any] = {}  # Record.name -> a declaration of it seen here

    # -- names ----------------------------------------------------------------------------

    def record_name(self, decl: Any) -> str | None:
        """``Record.name`` of a record declaration (None for an anonymous one)."""
        name = clean_spelling(decl.type.spelling)
        if "(anonymous)" in name:
            return None
        self.decls.setdefault(name, decl)
        return name

    def record_of(self, ctype: Any) -> str | None:
        """The record a value of ``ctype`` is (through arrays), or None."""
        spelling = ctype.spelling
        if spelling in self._records:
            return self._records[spelling]
        canonical = ctype.get_canonical()
        while canonical.kind in self.array_kinds:
            canonical = canonical.element_type
        found = None
        if canonical.kind == self.record_type:
            found = self.record_name(canonical.get_declaration())
        if "(" not in spelling:
            self._records[spelling] = found
        return found

    def field_ref(self, decl: Any) -> FieldRef | None:
        """The outermost named record of a field declaration, and the field's access path
        (a member of an anonymous union adds nothing to it; one of a named member of an
        unnamed struct type adds that member's name: ``state.kind``)."""
        key = decl.hash
        if key in self._fields:
            return self._fields[key]
        path = decl.spelling
        parent = decl.semantic_parent
        while parent is not None and parent.kind in self.record_decls and parent.is_anonymous():
            outer = parent.semantic_parent
            if outer is None or outer.kind not in self.record_decls:
                break
            if not clangext.is_anonymous_record(parent):
                for member in outer.type.get_fields():
                    if member.type.get_canonical().get_declaration() == parent:
                        path = f"{member.spelling}.{path}"
                        break
            parent = outer
        found = None
        if parent is not None and parent.kind in self.record_decls:
            record = self.record_name(parent)
            if record is not None:
                found = FieldRef(record=record, field=path)
        self._fields[key] = found
        return found

    # -- bodies ---------------------------------------------------------------------------

    def facts(self, cursor: Any, facts: _Facts | None = None) -> _Facts:
        """What the code under ``cursor`` uses."""
        found = facts if facts is not None else _Facts()
        for kind, item in self.walk(cursor):
            self.note(kind, item, found)
        return found

    def walk(self, cursor: Any) -> list[tuple[int, Any]]:
        """Every cursor under ``cursor`` of a kind :meth:`note` reads, with its kind."""
        ci = self.ci
        tu = self.tu
        wanted = self.member_kinds | self.by_value | {self.decl_ref, self.size_of}
        out: list[tuple[int, Any]] = []

        def visit(child: Any, _parent: Any, _data: Any) -> int:
            kind = child._kind_id
            if kind in wanted:
                child._tu = tu
                out.append((kind, child))
            return 2  # CXChildVisit_Recurse

        ci.conf.lib.clang_visitChildren(cursor, ci.callbacks["cursor_visit"](visit), [])
        return out

    def note(self, kind: int, item: Any, facts: _Facts) -> None:
        if kind in self.member_kinds:
            ref = item.referenced
            if ref is not None and ref._kind_id == self.field_decl:
                found = self.field_ref(ref)
                if found is not None:
                    facts.fields.add(found)
        elif kind == self.decl_ref:
            name = self.global_name(item.referenced)
            if name is not None:
                facts.uses.add(name)
        elif kind == self.size_of:
            for child in item.get_children():
                record = self.record_of(child.type)
                if record is not None:
                    facts.sizes.add(record)
                break
        else:  # a local or an array element of a record type: its size
            record = self.record_of(item.type)
            if record is not None:
                facts.sizes.add(record)

    def global_name(self, ref: Any) -> str | None:
        """The name of a function or of file-scope data a reference names, or None."""
        if ref is None:
            return None
        kind = ref._kind_id
        if kind == self.function_decl:
            return str(ref.spelling)
        if kind == self.var_decl and ref.semantic_parent is not None and ref.semantic_parent.kind == self.unit:
            return str(ref.spelling)
        return None


def _error_lines(tu: Any, first: int) -> set[int]:
    lines = set()
    for diagnostic in tu.diagnostics:
        location = diagnostic.location
        if diagnostic.severity >= 3 and location.file is not None and location.file.name == MAIN_FILE:
            if location.line >= first:
                lines.add(location.line)
    return lines


def _token_facts(probe: Probe, result: Scan, known: set[str]) -> _Facts:
    """A macro read from its text: the names it uses, the members after ``->``/``.``
    (record unknown), ``sizeof(Type)``."""
    facts = _Facts(uses={name for name in probe.names if name in known})
    facts.fields.update(FieldRef(record="", field=member) for member in probe.members)
    for name in probe.sized:
        record = _named_record(name, result)
        if record is not None:
            facts.sizes.add(record)
    return facts


def _named_record(name: str, result: Scan) -> str | None:
    typedef = result.typedefs.get(name)
    if typedef is not None and typedef.type.canonical in result.records:
        return typedef.type.canonical
    return name if name in result.records else None


def collect(tu: Any, extractor: Extractor, result: Scan, generated: Plan, first_line: int) -> tuple[Reach, ...]:
    """The :class:`Reach` of every static inline function and macro of the build's headers
    that uses anything, from a parse that kept function bodies and holds ``generated``'s
    lines from ``first_line`` on (after :func:`abidiff.headers.extract.walk` filled ``result``)."""
    ci = extractor.ci
    kinds = ci.CursorKind
    reader = Reader(tu)
    failed = _error_lines(tu, first_line)
    wanted = frozenset(kind.value for kind in (kinds.FUNCTION_DECL, kinds.STRUCT_DECL))
    inline: list[tuple[Any, str, int]] = []
    probes: dict[str, Any] = {}  # generated name -> its cursor (those whose line has no error)
    function_decl = kinds.FUNCTION_DECL.value
    for cursor in top_level(tu, wanted):
        if not cursor.is_definition():
            continue
        name = cursor.spelling
        if name.startswith((REACH_PREFIX, EMBED_PREFIX)):
            _key, _handle, line, _column = clangext.file_of(cursor)
            if line not in failed:
                probes[name] = cursor
        elif cursor._kind_id == function_decl:
            header, line, _column = extractor.header_of(cursor)
            if header is not None:
                inline.append((cursor, header, line))
    known = set(result.functions) | set(result.variables) | set(result.macros)
    found: dict[tuple[str, ReachKind], Reach] = {}

    def keep(name: str, kind: ReachKind, header: str, line: int, facts: _Facts) -> None:
        facts.uses &= known
        if facts.empty():
            return
        found[(name, kind)] = Reach(
            name=name,
            kind=kind,
            header=header,
            line=line or None,
            fields=tuple(sorted(facts.fields, key=lambda f: (f.record, f.field))),
            sizes=tuple(sorted(facts.sizes)),
            uses=tuple(sorted(facts.uses)),
        )

    for cursor, header, line in inline:
        keep(cursor.spelling, ReachKind.INLINE, header, line, reader.facts(cursor))
    for index, probe in enumerate(generated.probes):
        macro = result.macros.get(probe.name)
        if macro is None or (probe.arity is not None) != macro.function_like:
            continue  # not defined in this configuration (or not this way)
        header, line = macro.header, macro.line or 0
        tokens = _token_facts(probe, result, known)
        if probe.arity is None:
            struct = probes.get(f"{EMBED_PREFIX}{index}")
            if struct is None:
                keep(probe.name, ReachKind.MACRO_TOKENS, header, line, tokens)
                continue
            facts = _Facts(uses=tokens.uses)
            for member in struct.type.get_fields():
                record = reader.record_of(member.type)
                if record is not None:
                    facts.sizes.add(record)
            keep(probe.name, ReachKind.MACRO, header, line, facts)
            continue
        body = probes.get(f"{REACH_PREFIX}{index}_0") or probes.get(f"{REACH_PREFIX}{index}_1")
        if body is None:
            keep(probe.name, ReachKind.MACRO_TOKENS, header, line, tokens)
            continue
        facts = reader.facts(body, _Facts(uses={name for name in tokens.uses if name in result.macros}))
        keep(probe.name, ReachKind.MACRO, header, line, facts)
    return tuple(found[key] for key in sorted(found, key=lambda k: (k[0], str(k[1]))))
