"""Reading one segment's terms and postings in bulk. Whoosh reads a field's terms one
term, and a posting list one document, at a time, through several layers of calls a
step: listing the titles' words of a 100k-item index that way takes seconds, and the
postings of a page's "+N similar" lookups most of their time. These read the same
bytes a field or a block at once. Each falls back to Whoosh's own reading when the
reader is not of the kind, or lacks the parts, read here
(``tests/test_whooshdb.py`` checks the installed Whoosh has them)."""

from __future__ import annotations

import bisect
import io
import mmap
import operator
import struct
from collections.abc import Iterator, Sequence
from itertools import accumulate, islice
from typing import Any, overload

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader, W3TermsReader
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.filedb.filetables import OrderedHashReader

#: The parts of a segment's terms reader, its term index and a posting list's matcher
#: read here.
TERMS_PARTS = ("_tindex", "_fieldmap", "_postfile", "_codec")
TINDEX_PARTS = ("closest_key_pos", "endofdata", "dbfile")
MATCHER_PARTS = ("_data", "_read_data", "_byteids", "_next_block", "_atend")
#: The parts of a segment's per-document reader, and of a length column's reader, used
#: by :func:`lengths_in_memory`.
PERDOC_PARTS = ("_cached_reader", "_readers", "_doccount")
LENGTHS_PARTS = ("_count", "_fixedlen", "_dbfile", "_basepos", "_typecode", "_default")
#: The parts of a variable-length column's reader used by :class:`MappedColumn`.
VARBYTES_PARTS = ("_offsets", "_lengths", "_dbfile", "_basepos")  # and _dbfile.file

#: Before each key of the term index: the key's length and its value's.
_LENGTHS = struct.Struct("!ii")
#: A key starts with its field's number.
_FIELD = struct.Struct("!H")


def _terms_reader(leaf: Any) -> Any:
    """The segment's terms reader, if it is one whose parts are read here."""
    terms: Any = getattr(leaf, "_terms", None)
    if type(terms) is not W3TermsReader or not all(hasattr(terms, p) for p in TERMS_PARTS):
        return None
    tindex = terms._tindex
    if type(tindex) is not OrderedHashReader or not all(hasattr(tindex, p) for p in TINDEX_PARTS):
        return None
    return terms


def field_terms(leaf: Any, fieldname: str) -> list[bytes]:
    """Every term of a field in one segment, in order (deleted items' terms too, as
    Whoosh lists them)."""
    terms = _terms_reader(leaf)
    if terms is None:
        return list(leaf.lexicon(fieldname)) if fieldname in leaf.indexed_field_names() else []
    number = terms._fieldmap.get(fieldname)
    if number is None:  # no item of this segment has the field
        return []
    tindex = terms._tindex
    start = tindex.closest_key_pos(_FIELD.pack(number))
    if start is None:
        return []
    end = None
    if number + 1 < 2**16:
        end = tindex.closest_key_pos(_FIELD.pack(number + 1))
    if end is None:
        end = tindex.endofdata
    data = tindex.dbfile.get(start, end - start)
    if len(data) != end - start:  # as Whoosh's own reading of the terms would fail
        raise EOFError(f"the terms of {fieldname} end {end - start - len(data)} bytes early")
    out = []
    unpack = _LENGTHS.unpack_from
    pos, size, head = 0, len(data), _LENGTHS.size
    while pos < size:
        keylen, datalen = unpack(data, pos)
        pos += head
        out.append(data[pos + _FIELD.size : pos + keylen])
        pos += keylen + datalen
    return out


def posting_ids(leaf: Any, fieldname: str, text: str) -> list[int]:
    """The live documents of one segment having a term, in order, read a block of
    postings at a time."""
    terms = _terms_reader(leaf)
    if terms is None:
        if (fieldname, text) not in leaf:
            return []
        return list(leaf.postings(fieldname, text).all_ids())
    tbytes = text.encode("utf-8")
    if (fieldname, tbytes) not in terms:
        return []
    matcher = terms.matcher(fieldname, tbytes, leaf.schema[fieldname].format)
    if type(matcher) is not W3LeafMatcher or not all(hasattr(matcher, p) for p in MATCHER_PARTS):
        ids = list(matcher.all_ids())
    else:
        ids = []
        while matcher.is_active():
            # As Whoosh's _read_ids, the ids' differences summed up in C.
            if matcher._data is None:
                matcher._read_data()
            block = matcher._data[0]
            ids.extend(block if matcher._byteids else accumulate(block))
            matcher._next_block()
    if leaf.has_deletions():
        deleted = leaf.deleted_docs_set
        ids = [d for d in ids if d not in deleted]
    return ids


def lengths_in_memory(leaf: Any) -> None:
    """Have one segment's reader keep each field's length column in memory, read at
    once when first used. Scoring a match reads its field's length, which Whoosh reads
    from the file a value at a time (a seek and a read for each of the thousands of
    matches of a common word)."""
    perdoc: Any = getattr(leaf, "_perdoc", None)
    if type(perdoc) is not W3PerDocReader or not all(hasattr(perdoc, p) for p in PERDOC_PARTS):
        return
    whooshs = perdoc._cached_reader  # Whoosh's own (or the one writing puts in its place)

    def cached_reader(fieldname: str, column: Any) -> Any:
        if fieldname in perdoc._readers:
            return perdoc._readers[fieldname]
        reader = whooshs(fieldname, column)
        if column is LENGTHS_COLUMN and reader is not None:
            reader = perdoc._readers[fieldname] = _whole_lengths(fieldname, reader, perdoc)
        return reader

    perdoc._cached_reader = cached_reader


def _whole_lengths(fieldname: str, reader: Any, perdoc: Any) -> Any:
    """A length column read into memory (one byte a document), or ``reader`` itself
    when it is not of the kind read here."""
    if type(reader) is not NumericColumn.Reader or not all(
        hasattr(reader, p) for p in LENGTHS_PARTS
    ):
        return reader
    if reader._typecode != "B" or reader._fixedlen != 1 or reader._default != 0:
        return reader
    size = min(reader._count, perdoc._doccount)
    data = reader._dbfile.get(reader._basepos, size)
    if len(data) != size:  # as Whoosh's own reading of the value would fail
        raise EOFError(f"the lengths of {fieldname} end {size - len(data)} bytes early")
    return data + bytes(perdoc._doccount - size)  # absent values are the default, 0


class MappedColumn(Sequence[bytes]):
    """A variable-length column over every segment, each value sliced from a memory map
    of its segment's column file. Whoosh's reader seeks and reads the file for each
    value, through three layers of calls: most of the time of a page's "+N similar"
    counts, which read the titles of a few thousand candidates."""

    def __init__(self, parts: list[tuple[int, mmap.mmap, Any, Any, int]], rows: int) -> None:
        self._parts = parts  # (first row, map, offsets, lengths, start of the data)
        self._bases = [part[0] for part in parts]
        self._rows = rows

    @classmethod
    def of(cls, reader: Any, fieldname: str) -> MappedColumn | None:
        """The column ``fieldname`` of every segment of ``reader``, or None when a
        segment's column is not of the kind read here (then Whoosh's reader serves)."""
        columns = []
        for leaf, base in reader.leaf_readers():
            column = leaf.column_reader(fieldname, translate=False)
            if type(column) is not VarBytesColumn.Reader or not all(
                hasattr(column, p) for p in VARBYTES_PARTS
            ):
                return None
            if not isinstance(getattr(column._dbfile, "file", None), io.BufferedReader):
                return None  # not a file of the file system (Whoosh's storage in memory)
            columns.append((base, column))
        parts = []
        try:
            for base, column in columns:
                offsets, lengths = column._offsets, column._lengths
                if len(offsets) != len(lengths):
                    raise ValueError(f"the {fieldname} column's offsets and lengths differ")
                # Whoosh writes the values in order, each at the end of the one before.
                end = column._basepos + (offsets[-1] + lengths[-1] if len(offsets) else 0)
                found = mmap.mmap(column._dbfile.file.fileno(), 0, access=mmap.ACCESS_READ)
                parts.append((base, found, offsets, lengths, column._basepos))
                if len(found) < end:  # as Whoosh's own reading of a value would fail
                    raise EOFError(f"the {fieldname} column ends {end - len(found)} bytes early")
        except BaseException:
            for part in parts:
                part[1].close()
            raise
        return cls(parts, reader.doc_count_all())

    def __len__(self) -> int:
        return self._rows

    @overload
    def __getitem__(self, row: int) -> bytes: ...

    @overload
    def __getitem__(self, row: slice) -> Sequence[bytes]: ...

    def __getitem__(self, row: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(row, slice):
            return [self[r] for r in range(self._rows)[row]]
        if not 0 <= row < self._rows:
            raise IndexError(row)
        base, found, offsets, lengths, start = self._parts[
            bisect.bisect_right(self._bases, row) - 1
        ]
        length = lengths[row - base]
        if not length:
            return b""
        at = start + offsets[row - base]
        return found[at : at + length]

    def __iter__(self) -> Iterator[bytes]:
        return (self[row] for row in range(self._rows))

    def take(self, rows: Sequence[int]) -> list[bytes]:
        """The values of ``rows``, in their order (as ``[self[r] for r in rows]``):
        rows in increasing order are sliced segment by segment, with no search for
        each one's segment."""
        if any(map(operator.ge, rows, islice(rows, 1, None))):  # not increasing
            return [self[row] for row in rows]
        if rows and not (rows[0] >= 0 and rows[-1] < self._rows):
            raise IndexError(rows[0] if rows[0] < 0 else rows[-1])
        out: list[bytes] = []
        ends = [*self._bases[1:], self._rows]
        for (base, found, offsets, lengths, start), end in zip(self._parts, ends, strict=True):
            first, last = bisect.bisect_left(rows, base), bisect.bisect_left(rows, end)
            out += [
                found[(at := start + offsets[d]) : at + lengths[d]]
                for d in map(base.__rsub__, rows[first:last])
            ]
        return out

    def close(self) -> None:
        for part in self._parts:
            part[1].close()
