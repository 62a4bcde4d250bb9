"""The data model of abidiff: frozen, slotted dataclasses and closed vocabularies.

Nothing here does I/O or imports another module of abidiff.  Readers (``headers``,
``binaries``) build these values; ``snapshot`` serialises them; ``diff`` compares them.
Every collection is a tuple, sorted by the code that builds the containing value, so that
two snapshots of the same inputs compare (and serialise) equal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class StrEnum(str, enum.Enum):
    """An enum whose members are their string values (``str(Tier.PUBLIC) == "public"``)."""

    def __str__(self) -> str:
        return str(self.value)


class Tier(StrEnum):
    """The API tier of a declaration; decides how severe a change to it is."""

    LIMITED = "limited"  # visible with Py_LIMITED_API defined: the stable ABI promise
    PUBLIC = "public"  # public CPython API: stable within a feature release
    UNSTABLE = "unstable"  # PyUnstable_*: may change in any feature release
    PRIVATE = "private"  # leading underscore: no promise
    INTERNAL = "internal"  # Include/internal/: never part of the ABI


class RecordKind(StrEnum):
    """What a record is: a struct lays its fields out one after another, a union over each other."""

    STRUCT = "struct"  # each field at its own offset, the size at least their sum
    UNION = "union"  # every field at offset 0, the size that of the largest


class ReleaseLevel(StrEnum):
    """``sys.version_info.releaselevel`` of a build, as ``PY_RELEASE_LEVEL`` in ``patchlevel.h`` says."""

    ALPHA = "alpha"  # PY_RELEASE_LEVEL_ALPHA (0xA): 3.14.0a1
    BETA = "beta"  # PY_RELEASE_LEVEL_BETA (0xB): 3.14.0b1
    CANDIDATE = "candidate"  # PY_RELEASE_LEVEL_GAMMA (0xC): 3.14.0rc1
    FINAL = "final"  # PY_RELEASE_LEVEL_FINAL (0xF): 3.14.0, 3.14.1


class SymbolKind(StrEnum):
    """What an exported symbol is, as its binary says: code, data or thread-local data."""

    FUNCTION = "function"  # ELF STT_FUNC; in an executable (PE) or instructions (Mach-O) section
    DATA = "data"  # an object (ELF STT_OBJECT), e.g. _Py_TrueStruct behind Py_True
    TLS = "tls"  # one copy per thread: ELF STT_TLS, PE .tls, Mach-O thread-local variables
    UNKNOWN = "unknown"  # the file does not say (e.g. a PE export without a section hint)


class SymbolBinding(StrEnum):
    """How an exported symbol binds: a weak one may be overridden by another definition."""

    GLOBAL = "global"  # ELF STB_GLOBAL (and STB_GNU_UNIQUE); every PE export
    WEAK = "weak"  # ELF STB_WEAK; a Mach-O weak definition (N_WEAK_DEF)


class BinaryFormat(StrEnum):
    """The object file format of a binary: ELF (Linux), PE (Windows) or Mach-O (macOS)."""

    ELF = "elf"  # Linux and the BSDs: read with pyelftools
    PE = "pe"  # Windows DLLs and .pyd: read with pefile
    MACHO = "macho"  # macOS dylibs, frameworks and .so: read with macholib


class BinaryRole(StrEnum):
    """What a binary is to its build: where its exports are promised, and to whom."""

    LIBPYTHON = "libpython"  # libpython3.X.so / python3X.dll / the Python framework dylib
    STABLE_ABI = "stable-abi"  # libpython3.so / python3.dll
    INTERPRETER = "interpreter"  # a static build: the interpreter's own dynamic symbols
    OTHER = "other"  # given with --lib


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeRef:
    """A C type as written in the header (``spelling``) and with typedefs resolved."""

    spelling: str  # "PyObject *", "Py_ssize_t"
    canonical: str  # "struct _object *", "long" (on LP64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """One member of a struct or union.

    ``offset_bits`` is relative to the start of the outermost named record.  A member whose
    type is an anonymous struct or union (named or not: ``union { ... };`` has the empty
    name) lists that record's own fields in ``members``, with offsets again from the
    outermost record, so ``PyObject.ob_refcnt`` inside 3.12's anonymous union has offset 0.
    """

    name: str
    type: TypeRef
    offset_bits: int | None
    size_bits: int | None
    bitfield_width: int | None = None
    members: tuple[Field, ...] = ()
    deprecated: bool = False  # Py_DEPRECATED(...)
    line: int | None = None  # where it is declared in its record's header (1-based)
    column: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Declared:
    """What every declaration of a header has: where it is, its API tier, and the lowest
    ``Py_LIMITED_API`` level that shows it (None: not in the limited API)."""

    header: str  # relative to the include directory: ``cpython/object.h``
    tier: Tier
    limited_since: str | None = None
    line: int | None = None  # where it is declared in ``header`` (1-based), for reports: object.h:123
    column: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Record(Declared):
    """A struct or union.

    ``name`` is its C spelling: ``struct _object``, or the typedef name of an anonymous
    record (``PyType_Slot``).  ``aliases`` are the typedef names that refer to it
    (``PyObject``); reports show the first alias when there is one.
    """

    name: str
    kind: RecordKind
    aliases: tuple[str, ...] = ()
    complete: bool
    size: int | None = None  # bytes; None when opaque
    align: int | None = None  # bytes; None when opaque
    fields: tuple[Field, ...] = ()
    # the lowest Py_LIMITED_API level at which the layout is visible (the record is complete);
    # None when limited users only see it opaque (PyTypeObject): then its layout is not
    # part of the stable ABI, only of the full ABI
    limited_layout_since: str | None = None
    deprecated: bool = False  # Py_DEPRECATED(...)

    @property
    def display_name(self) -> str:
        return self.aliases[0] if self.aliases else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    name: str
    type: TypeRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Function(Declared):
    """A function declaration.  ``inline`` marks static inline functions: API, not exports."""

    name: str
    returns: TypeRef
    params: tuple[Param, ...] = ()
    variadic: bool = False
    inline: bool = False
    deprecated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable(Declared):
    """Data declared in a header: exported data (``PyAPI_DATA``, or a plain ``extern`` as
    3.9's ``PyStructSequence_UnnamedField``), or ``static`` data of a header
    (``PyDateTimeAPI``), which each extension holds its own copy of."""

    name: str
    type: TypeRef
    size: int | None = None  # bytes; None for an incomplete type
    deprecated: bool = False  # Py_DEPRECATED(...): 3.12's Py_DebugFlag


@dataclass(frozen=True, slots=True, kw_only=True)
class Enumerator:
    name: str
    value: int
    line: int | None = None  # in its enum's header
    column: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Enum(Declared):
    """An enum.  An anonymous enum is named after its first enumerator: ``enum <FIRST>``."""

    name: str
    aliases: tuple[str, ...] = ()
    underlying: str
    enumerators: tuple[Enumerator, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Typedef(Declared):
    name: str
    type: TypeRef
    deprecated: bool = False  # Py_DEPRECATED(...): 3.13's Py_UNICODE


@dataclass(frozen=True, slots=True, kw_only=True)
class Macro(Declared):
    """A macro; ``value`` is set for object-like macros that are integer constant expressions.
    ``overridable``: a configuration default, defined only where the build's configuration did
    not define it (``#ifndef NAME``: ``Py_HASH_ALGORITHM``)."""

    name: str
    value: int | None = None
    function_like: bool = False
    overridable: bool = False


class ReachKind(StrEnum):
    """How the uses of a helper of the headers were read."""

    INLINE = "inline"  # a static inline function: the AST of its body
    MACRO = "macro"  # a macro: the AST of a use of it that abidiff generates and parses
    MACRO_TOKENS = "macro-tokens"  # a macro whose generated use does not compile: its tokens only


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldRef:
    """A field as a helper reads or writes it: the record's C name (``Record.name``; empty
    when only a macro's tokens name the member) and the field's access path, as
    :class:`Record` fields are named (``ob_refcnt`` in 3.12's anonymous union, ``state.kind``)."""

    record: str
    field: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reach:
    """What one static inline function or macro of the public headers uses *directly*: the
    fields it reads or writes (``->``, ``.``, ``offsetof``), the records whose size it
    depends on (``sizeof``, by-value locals and array elements, a record embedded by value
    as ``PyObject_HEAD`` embeds ``PyObject``), and the functions, data and macros it calls,
    names or expands.  Code compiled against the headers holds all of it: an extension that
    uses ``Py_TYPE`` reads ``PyObject.ob_type`` at the offset it had then.  The transitive
    closure (through the helpers it uses) is the analyses' (:mod:`abidiff.diff.reach`)."""

    name: str
    kind: ReachKind
    header: str
    line: int | None = None
    fields: tuple[FieldRef, ...] = ()
    sizes: tuple[str, ...] = ()  # Record.name of each
    uses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Symbol:
    """One exported symbol of a binary (Mach-O names without their leading underscore)."""

    name: str
    kind: SymbolKind
    binding: SymbolBinding = SymbolBinding.GLOBAL
    size: int | None = None
    version: str | None = None  # GNU symbol version (ELF)
    ordinal: int | None = None  # PE
    forwarder: str | None = None  # PE: "python313.PyObject_Call"


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary:
    """The exports of one binary (one architecture slice of a universal Mach-O file)."""

    role: BinaryRole
    path: str
    format: BinaryFormat
    arch: str  # "x86_64", "aarch64", "i386", ... (our names, not the file's)
    bits: int
    little_endian: bool = True
    soname: str | None = None  # ELF SONAME, Mach-O install name, PE DLL name
    needed: tuple[str, ...] = ()
    symbols: tuple[Symbol, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestEntry:
    """One entry of CPython's stable ABI manifest (``Misc/stable_abi.toml``)."""

    kind: str  # function, data, struct, macro, const, typedef, feature_macro
    name: str
    added: str
    abi_only: bool = False
    ifdef: str | None = None
    struct_abi_kind: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigValue:
    """A layout-relevant configuration macro: ``Py_GIL_DISABLED``, ``SIZEOF_VOID_P``, ..."""

    name: str
    value: int  # a flag: its value where defined (1 if defined empty), else 0; a size: its value


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    """What a snapshot is of: the identity and configuration of one CPython build."""

    version: str  # "3.13.0", "3.14.0a3"
    hexversion: int
    release_level: ReleaseLevel
    release_serial: int
    target: str  # target triple the headers were parsed for
    pointer_size: int  # bytes
    soabi: str | None = None
    ext_suffix: str | None = None
    config: tuple[ConfigValue, ...] = ()
    origin: str  # the build spec it came from: "interpreter /usr/bin/python3.11", ...
    headers_only: bool = False

    @property
    def feature_version(self) -> str:
        """``"3.13"``; ``"unknown"`` for a library whose version nothing told."""
        parts = self.version.split(".")
        if len(parts) < 2 or not parts[0].isdigit():
            return self.version
        minor = "".join(char for char in parts[1] if char.isdigit())
        return f"{parts[0]}.{minor}"

    def config_value(self, name: str) -> int | None:
        for item in self.config:
            if item.name == name:
                return item.value
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnreadHeader:
    """A header the reader left out because it does not parse (Debian's pydtrace.h includes a
    generated header it lacks), and every identifier its text spells: what it may declare."""

    header: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything abidiff knows about one build; the unit of comparison and caching."""

    build: Build
    limited_levels: tuple[str, ...] = ()  # the Py_LIMITED_API levels parsed: "3.2" ... "3.13"
    records: tuple[Record, ...] = ()
    functions: tuple[Function, ...] = ()
    variables: tuple[Variable, ...] = ()
    enums: tuple[Enum, ...] = ()
    typedefs: tuple[Typedef, ...] = ()
    macros: tuple[Macro, ...] = ()
    binaries: tuple[Binary, ...] = ()
    manifest: tuple[ManifestEntry, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    # what the static inline functions and macros of the headers use (see Reach)
    reach: tuple[Reach, ...] = ()
    # the public headers Python.h does not include (datetime.h, pyexpat.h, ...): their structs
    # belong to extension modules and their capsule APIs
    outside: tuple[str, ...] = ()
    # the public headers that could not be read (pydtrace.h without its generated probes
    # header; why: in warnings): what they declare is unknown, not absent
    unread: tuple[str, ...] = ()
    # of those, the ones whose text could still be read: the names it spells
    unread_names: tuple[UnreadHeader, ...] = ()


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a feature version such as ``"3.9"`` < ``"3.10"``."""
    return tuple(int(part) for part in version.split("."))


def limited_api_hex(version: str) -> int:
    """``"3.9"`` -> ``0x03090000``, the value of ``Py_LIMITED_API`` for that version."""
    major, minor = version_key(version)[:2]
    return (major << 24) | (minor << 16)
