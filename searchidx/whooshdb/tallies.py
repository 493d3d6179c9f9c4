"""Tallies written with each segment: how many of its documents, deleted ones included,
have each combination of raw values of some columns (:data:`TALLIED`), so that facets
over every item read a few thousand counts a segment instead of its columns.

Whoosh writes every segment, of a build, an update or a merge, through its
per-document writer (:class:`whoosh.codec.whoosh3.W3PerDocWriter`), whose methods are
extended here to count the values as they are written and to write the counts, on
closing, as one more file of the segment (``<segment>.tallies``). The file is written
before the table of contents that makes the segment part of the index, so a
committed segment has its tallies; Whoosh removes the file with the segment's others.
A segment without the file (written by an earlier version, or by a writer without
the parts extended here), or with one that does not add up to its documents, is
counted from its columns: the counts are exact either way. A segment's deleted
documents are taken away by the reader, which reads their values.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from typing import Any

from whoosh.codec.whoosh3 import W3PerDocWriter

#: The combinations of columns tallied, each a tuple of column names.
TALLIED: tuple[tuple[str, ...], ...] = (("provider_name", "domain"), ("kind",), ("month",))
#: The file's extension (after the segment's name) and the version of its content.
EXT = ".tallies"
VERSION = 1
#: What the extended writer uses of Whoosh's (besides the methods it extends).
WRITER_PARTS = ("_segment", "_storage", "_doccount", "_indoc")
#: The value of a document without one: these columns' default (variable-length
#: columns, whose readers give b"" for a document without a value).
MISSING = b""

_FIELDS = frozenset(name for names in TALLIED for name in names)
_whooshs = {
    name: getattr(W3PerDocWriter, name)
    for name in ("__init__", "start_doc", "add_column_value", "finish_doc", "cancel_doc", "close")
}


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _whooshs["__init__"](self, *args, **kwargs)
    ok = all(hasattr(self, part) for part in WRITER_PARTS)
    self._tallies = [Counter[tuple[Any, ...]]() for _ in TALLIED] if ok else None
    self._tally_doc = None


def _start_doc(self: Any, docnum: int) -> None:
    _whooshs["start_doc"](self, docnum)
    self._tally_doc = {}


def _add_column_value(self: Any, fieldname: str, column: Any, value: Any) -> None:
    _whooshs["add_column_value"](self, fieldname, column, value)
    if fieldname in _FIELDS:
        doc = getattr(self, "_tally_doc", None)
        if doc is None or not isinstance(value, bytes):  # not as expected: no tallies
            self._tallies = None
        else:
            doc[fieldname] = value


def _finish_doc(self: Any) -> None:
    # Whoosh's close() calls finish_doc() again after the last document: only a
    # document that was started counts.
    started = getattr(self, "_indoc", False) is True
    _whooshs["finish_doc"](self)
    doc, self._tally_doc = getattr(self, "_tally_doc", None), None
    tallies = getattr(self, "_tallies", None)
    if started and tallies is not None:
        if doc is None:
            self._tallies = None
            return
        for names, counts in zip(TALLIED, tallies, strict=True):
            counts[tuple(doc.get(name, MISSING) for name in names)] += 1


def _cancel_doc(self: Any) -> None:
    _whooshs["cancel_doc"](self)
    self._tally_doc = None


def _close(self: Any) -> None:
    _whooshs["close"](self)
    tallies = getattr(self, "_tallies", None)
    if tallies is not None:
        write(self._storage, self._segment, self._doccount, tallies)


def write(
    storage: Any,
    segment: Any,
    documents: int,
    tallies: list[Counter[tuple[Any, ...]]],
    live: bool = False,
) -> None:
    """Write a segment's tallies (one counter for each of :data:`TALLIED`), unless they
    do not add up to its ``documents``. A ``live`` segment (one already committed)
    gets its file under another name first, then renamed: a reader finds it whole or
    not at all."""
    if not all(c.total() == documents for c in tallies):
        return
    payload = {
        "version": VERSION,
        "documents": documents,
        "tallies": [
            {
                "columns": list(names),
                "values": [[_text(v) for v in column] for column in zip(*c.keys(), strict=True)]
                if c
                else [[] for _ in names],
                "counts": list(c.values()),
            }
            for names, c in zip(TALLIED, tallies, strict=True)
        ],
    }
    name = segment.make_filename(EXT)
    target = f"{name}.tmp-{os.getpid()}" if live else name
    out = storage.create_file(target)
    try:
        out.write(json.dumps(payload, separators=(",", ":")).encode("ascii"))
    finally:
        out.close()
    if live:
        try:
            storage.rename_file(target, name)
        except BaseException:
            with contextlib.suppress(OSError):
                storage.delete_file(target)
            raise


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


W3PerDocWriter.__init__ = _init
W3PerDocWriter.start_doc = _start_doc
W3PerDocWriter.add_column_value = _add_column_value
W3PerDocWriter.finish_doc = _finish_doc
W3PerDocWriter.cancel_doc = _cancel_doc
W3PerDocWriter.close = _close


def read_tally(leaf: Any, names: tuple[str, ...]) -> Counter[tuple[Any, ...]] | None:
    """The tally of ``names`` written with a segment (its deleted documents included),
    or None when it has none of them, or one that does not add up to its documents."""
    if names not in TALLIED:
        return None
    segment, storage = getattr(leaf, "_segment", None), getattr(leaf, "_storage", None)
    if segment is None or storage is None:
        return None
    name = segment.make_filename(EXT)
    if not storage.file_exists(name):
        return None
    found = storage.open_file(name)
    try:
        data = found.read()
    finally:
        found.close()
    try:
        payload = json.loads(data)
        if payload["version"] != VERSION or payload["documents"] != leaf.doc_count_all():
            return None
        for entry in payload["tallies"]:
            if tuple(entry["columns"]) != names:
                continue
            values, numbers = entry["values"], entry["counts"]
            if len(values) != len(names) or any(len(v) != len(numbers) for v in values):
                return None
            if any(type(n) is not int or n < 1 for n in numbers):
                return None
            if sum(numbers) != leaf.doc_count_all():
                return None
            columns = [[v.encode("utf-8", "surrogateescape") for v in vs] for vs in values]
            counts = Counter(dict(zip(zip(*columns, strict=True), numbers, strict=True)))
            return counts if len(counts) == len(numbers) else None  # no key twice
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None
