"""libclang functions the Python bindings do not declare, registered on first use.

``clang_Cursor_Evaluate`` must have its ctypes signature set before it is called, or the
returned pointer is truncated and the process crashes.  Only this package touches
``clang.cindex``.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any

from abidiff.errors import ToolchainError

_CXEval_Int = 1


@functools.cache
def cindex() -> Any:
    """The ``clang.cindex`` module, with libclang loaded and our extra functions registered."""
    try:
        import clang.cindex as ci
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ToolchainError("the Python package 'libclang' is not installed", hint="pip install libclang") from exc
    try:
        lib = ci.conf.lib
    except Exception as exc:
        raise ToolchainError(
            f"libclang could not be loaded: {exc}", hint="pip install --force-reinstall libclang"
        ) from exc
    void = ctypes.c_void_p
    signatures = {  # name: (argument types, result type)
        "clang_Cursor_Evaluate": ([ci.Cursor], void),
        "clang_EvalResult_getKind": ([void], ctypes.c_int),
        "clang_EvalResult_isUnsignedInt": ([void], ctypes.c_uint),
        "clang_EvalResult_getAsUnsigned": ([void], ctypes.c_ulonglong),
        "clang_EvalResult_getAsLongLong": ([void], ctypes.c_longlong),
        "clang_EvalResult_dispose": ([void], None),
        "clang_Cursor_isMacroFunctionLike": ([ci.Cursor], ctypes.c_uint),
        "clang_Cursor_isFunctionInlined": ([ci.Cursor], ctypes.c_uint),
        "clang_Cursor_isAnonymousRecordDecl": ([ci.Cursor], ctypes.c_uint),
        "clang_Location_isInSystemHeader": ([ci.SourceLocation], ctypes.c_int),
        "clang_getCursorLocation": ([ci.Cursor], ci.SourceLocation),
        "clang_getTranslationUnitTargetInfo": ([ci.TranslationUnit], void),
        "clang_TargetInfo_getTriple": ([void], ci._CXString),
        "clang_TargetInfo_getPointerWidth": ([void], ctypes.c_int),
        "clang_TargetInfo_dispose": ([void], None),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    return ci


def evaluate_int(cursor: Any) -> int | None:
    """The integer value of a variable's initialiser, or None when it is not an integer."""
    lib = cindex().conf.lib
    result = lib.clang_Cursor_Evaluate(cursor)
    if not result:
        return None
    try:
        if lib.clang_EvalResult_getKind(result) != _CXEval_Int:
            return None
        if lib.clang_EvalResult_isUnsignedInt(result):
            return int(lib.clang_EvalResult_getAsUnsigned(result))
        return int(lib.clang_EvalResult_getAsLongLong(result))
    finally:
        lib.clang_EvalResult_dispose(result)


def target_info(tu: Any) -> tuple[str, int]:
    """The target triple and pointer width in bits of a translation unit."""
    ci = cindex()
    lib = ci.conf.lib
    info = lib.clang_getTranslationUnitTargetInfo(tu)
    try:
        triple = ci._CXString.from_result(lib.clang_TargetInfo_getTriple(info))
        width = int(lib.clang_TargetInfo_getPointerWidth(info))
    finally:
        lib.clang_TargetInfo_dispose(info)
    return str(triple), width


def is_macro_function_like(cursor: Any) -> bool:
    return bool(cindex().conf.lib.clang_Cursor_isMacroFunctionLike(cursor))


def is_function_inlined(cursor: Any) -> bool:
    return bool(cindex().conf.lib.clang_Cursor_isFunctionInlined(cursor))


def is_anonymous_record(cursor: Any) -> bool:
    """True for an unnamed struct/union (a member without a name, or typedef'd anonymous)."""
    return bool(cindex().conf.lib.clang_Cursor_isAnonymousRecordDecl(cursor))


def in_system_header(cursor: Any) -> bool:
    """Whether a cursor lies in a header found through a system (-isystem) directory."""
    lib = cindex().conf.lib
    return bool(lib.clang_Location_isInSystemHeader(lib.clang_getCursorLocation(cursor)))


def location_of(location: Any) -> tuple[int | None, Any, int, int]:
    """Where a source location lies (its expansion location, for a macro's): an opaque file
    key (the CXFile pointer), the file handle, the line and the column."""
    ci = cindex()
    handle = ci.c_object_p()
    line = ctypes.c_uint()
    column = ctypes.c_uint()
    ci.conf.lib.clang_getInstantiationLocation(
        location, ctypes.byref(handle), ctypes.byref(line), ctypes.byref(column), None
    )
    return ctypes.cast(handle, ctypes.c_void_p).value, handle, line.value, column.value


def file_of(cursor: Any) -> tuple[int | None, Any, int, int]:
    """:func:`location_of` a cursor."""
    return location_of(cursor.location)


class _SourceRangeList(ctypes.Structure):
    _fields_ = [("count", ctypes.c_uint), ("ranges", ctypes.c_void_p)]


def skipped_ranges(tu: Any, keep: Callable[[int | None, Any], bool]) -> list[tuple[int | None, Any, int, int]]:
    """The ranges the preprocessor skipped (``#if`` branches not taken) in the files ``keep``
    accepts (given the file key and handle), as (file key, file handle, first line, last
    line).  Needs ``PARSE_DETAILED_PROCESSING_RECORD``."""
    ci = cindex()
    lib = ci.conf.lib
    if not getattr(lib, "_abidiff_ranges", False):
        lib.clang_getAllSkippedRanges.argtypes = [ci.TranslationUnit]
        lib.clang_getAllSkippedRanges.restype = ctypes.POINTER(_SourceRangeList)
        lib.clang_disposeSourceRangeList.argtypes = [ctypes.POINTER(_SourceRangeList)]
        lib.clang_disposeSourceRangeList.restype = None
        lib._abidiff_ranges = True
    listing = lib.clang_getAllSkippedRanges(tu)
    out = []
    try:
        ranges = ctypes.cast(listing.contents.ranges, ctypes.POINTER(ci.SourceRange))
        for number in range(listing.contents.count):
            source_range = ranges[number]
            key, handle, first, _column = location_of(source_range.start)
            if not keep(key, handle):
                continue
            _key, _handle, last, _column = location_of(source_range.end)
            out.append((key, handle, first, last))
    finally:
        lib.clang_disposeSourceRangeList(listing)
    return out


def ci_file_key(handle: Any) -> int | None:
    """The key :func:`location_of` gives for a ``clang.cindex.File``."""
    return ctypes.cast(handle._as_parameter_, ctypes.c_void_p).value


def file_name(handle: Any) -> str:
    """The path of the file behind a handle returned by :func:`file_of`."""
    ci = cindex()
    return str(ci.File(handle).name)
