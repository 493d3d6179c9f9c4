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
import os
import pickle
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, islice
from typing import Any, overload

from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3PerDocReader,
    W3TermInfo,
    W3TermsReader,
    _lenfield,
)
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.filedb.filetables import OrderedHashReader

#: The parts of a segment's terms reader and its term index read here.
TERMS_PARTS = ("_tindex", "_fieldmap", "_postfile", "_codec", "_keycoder")
TINDEX_PARTS = ("closest_key_pos", "endofdata", "dbfile", "get")
#: The parts of a segment's per-document reader, and of a length column's reader, used
#: by :func:`lengths_in_memory`.
PERDOC_PARTS = ("_cached_reader", "_readers", "_doccount")
LENGTHS_PARTS = ("_count", "_fixedlen", "_dbfile", "_basepos", "_typecode", "_default")
#: The parts of a variable-length column's reader used by :class:`MappedColumn`.
VARBYTES_PARTS = ("_offsets", "_lengths", "_dbfile", "_basepos")  # and _dbfile.file

#: A term's information (flags, weight, documents, lengths, max weight, first and last
#: document), then where its posting list is and how long; a posting block's length.
_INFO = W3TermInfo._struct
_EXTENT = struct.Struct("!qi")
_BLOCK = struct.Struct("!i")
#: A slot of the term index's hash tables: the key's hash, where the key is.
_POINTER = struct.Struct("!Iq")
#: Enough bytes for most terms' information (postings kept with the term are more).
_VALUE_GUESS = 64
#: Before each key of the term index: the key's length and its value's.
_LENGTHS = struct.Struct("!ii")
#: A key starts with its field's number.
_FIELD = struct.Struct("!H")

#: A block of postings carrying values (positions) may end, after its pickle, with its
#: documents and weights again, packed (:func:`block_side`): a query that needs no
#: positions reads those instead of unpickling the block, whose positions are most of
#: it (nine tenths of its unpickling time, one bytes object a posting). Whoosh reads
#: the pickle alone (pickle and zlib leave what follows the pickle or the compressed
#: stream unread), so indexes with and without it read alike everywhere.
SIDE_MAGIC = b"\x00sidx-d1"
#: Its end, after the gaps between documents and the weights: the first document, how
#: many gaps, their type code (B, H, I: 1, 2, 4 bytes), the weights' kind (n: each 1.0,
#: f: one 4-byte float for each, B: one byte each, d: one double each), SIDE_MAGIC.
_SIDE = struct.Struct("<IIcc8s")
#: The bytes of a document's gap of each type code, of a weight of each kind.
_ITEMSIZE = {b"B": 1, b"H": 2, b"I": 4}
_WEIGHT_KINDS = {b"n": 0, b"f": 4, b"B": 1, b"d": 8}
#: The fewest postings a block carries a side for: a block of a few is quick to
#: unpickle, and a side costs each block written a few microseconds.
SIDE_AT = 16


def block_side(mini_ids: Sequence[int], weights: float | Sequence[float] | None) -> bytes:
    """The documents and weights of a block of postings, packed (little-endian) to
    follow its pickle, from what Whoosh pickles: the first document and the gaps to the
    next ones (Whoosh keeps a block's documents as 4-byte numbers), and the weights
    (None: each 1.0; one number: the same for each, kept as a 4-byte float; else one
    for each)."""
    widest = max(islice(mini_ids, 1, None), default=0)
    code = "B" if widest < 1 << 8 else "H" if widest < 1 << 16 else "I"
    scores: array[Any]
    if weights is None:
        kind, scores = b"n", array("d")
    elif isinstance(weights, float):
        kind, scores = b"f", array("f", [weights])
    elif (whole := list(map(int, weights))) == list(weights) and 0 <= min(whole) <= max(
        whole
    ) < 256:
        kind, scores = b"B", array("B", whole)
    else:
        kind, scores = b"d", array("d", weights)
    packed = array(code, islice(mini_ids, 1, None))
    if sys.byteorder == "big":
        packed.byteswap()
        scores.byteswap()
    side = packed.tobytes() + scores.tobytes()
    return side + _SIDE.pack(mini_ids[0], len(packed), code.encode(), kind, SIDE_MAGIC)


def _footer(block: bytes) -> tuple[int, int, int, bytes, bytes] | None:
    """Where a block's packed documents and weights (:func:`block_side`) start, and
    its footer's first document, number of gaps, gaps' type code and weights' kind;
    None when it has none, ValueError when its end is not of the kind written there."""
    if block[-len(SIDE_MAGIC) :] != SIDE_MAGIC or len(block) < _SIDE.size:
        return None
    first, gapcount, code, kind, _ = _SIDE.unpack_from(block, len(block) - _SIDE.size)
    if code not in _ITEMSIZE or kind not in _WEIGHT_KINDS:
        raise ValueError("a block's documents and weights are of no known kind")
    scored = {b"n": 0, b"f": 1}.get(kind, gapcount + 1)
    start = len(block) - _SIDE.size - _ITEMSIZE[code] * gapcount - _WEIGHT_KINDS[kind] * scored
    if start < 0:
        raise ValueError("a block's documents and weights do not add up")
    return start, first, gapcount, code, kind


def side_start(block: bytes) -> int | None:
    """Where a block's packed documents and weights start after its pickle, None when
    it has none (see :func:`_footer`)."""
    found = _footer(block)
    return None if found is None else found[0]


def _side(block: bytes, count: int, weights: bool) -> tuple[list[int], list[float]] | None:
    """A block's documents and, if asked, weights from its side (:func:`block_side`),
    or None when it has none."""
    found = _footer(block)
    if found is None:
        return None
    start, first, gapcount, code, kind = found
    if gapcount != count - 1:
        raise ValueError("a block's documents and weights do not add up")
    middle = start + _ITEMSIZE[code] * gapcount
    gaps: array[int] = array(code.decode("ascii"), block[start:middle])
    if sys.byteorder == "big":
        gaps.byteswap()
    ids = list(accumulate(gaps, initial=first))
    if not weights:
        return ids, []
    if kind == b"n":
        return ids, [1.0] * count
    scores: array[Any] = array(kind.decode("ascii"), block[middle : len(block) - _SIDE.size])
    if sys.byteorder == "big":
        scores.byteswap()
    if kind == b"f":
        return ids, [scores[0]] * count
    return ids, [float(w) for w in scores]


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


def posting_ids(
    leaf: Any, fieldname: str, text: str, live: bool = True, index: TermIndex | None = None
) -> list[int]:
    """The live documents of one segment having a term (``live`` False: deleted ones
    may be among them), in order, read a block of postings at a time; ``index``, the
    segment's :class:`TermIndex`, finds the term."""
    terms = _terms_reader(leaf)
    if terms is None:
        if (fieldname, text) not in leaf:
            return []
        return list(leaf.postings(fieldname, text).all_ids())
    tbytes = text.encode("utf-8")
    if index is not None:
        found = index.value(fieldname, tbytes)
    else:
        found = terms._tindex.get(terms._keycoder(fieldname, tbytes))
    if found is None:
        return []
    ids = _read_postings(terms, fieldname, found)
    if ids is None:
        ids = list(terms.matcher(fieldname, tbytes, leaf.schema[fieldname].format).all_ids())
    if live and (deleted := deleted_docs(leaf)):
        ids = [d for d in ids if d not in deleted]
    return ids


def deleted_docs(leaf: Any) -> frozenset[int]:
    """A segment's deleted documents (none when it has none)."""
    found: frozenset[int] = leaf.deleted_docs_set if leaf.has_deletions() else frozenset()
    return found


Postings = tuple[list[int], list[float], list[Any]]


def postings_with_weights(
    leaf: Any,
    fieldname: str,
    text: bytes,
    wanted: Sequence[int] | None = None,
    values: bool = False,
) -> Postings | None:
    """The live documents of one segment having a term, in order, with the term's
    weight in each and, if asked, its encoded value (positions); only those in
    ``wanted`` (in order) when given, whose blocks alone are decoded
    (:func:`_posting_list`). None when the segment's postings are not of the kind read
    here."""
    terms = _terms_reader(leaf)
    if terms is None:
        return None
    found = terms._tindex.get(terms._keycoder(fieldname, text))
    if found is None or (wanted is not None and not wanted):
        return [], [], []
    if values and leaf.schema[fieldname].format.fixed_value_size() is not None:
        return None  # values of a fixed size: not positions
    got = _posting_list(terms, fieldname, found, wanted, True, values)
    if got is None:
        return None
    ids, weights, encoded = got
    if len(ids) != len(weights) or (values and len(ids) != len(encoded)):
        raise pickle.UnpicklingError(f"the postings of {fieldname} are corrupt")
    deleted = deleted_docs(leaf)
    if deleted and deleted.isdisjoint(ids):  # (in C: most terms have no deleted document)
        deleted = frozenset()
    if wanted is not None or deleted:
        keep = set(wanted) if wanted is not None else None
        kept = [k for k, d in enumerate(ids) if (keep is None or d in keep) and d not in deleted]
        ids, weights = [ids[k] for k in kept], [weights[k] for k in kept]
        encoded = [encoded[k] for k in kept] if values else encoded
    return ids, weights, encoded


def _blocks(
    data: bytes,
    wanted: Sequence[int] | None,
    weights: bool,
    values: bool,
    verify: bool = False,
) -> Postings:
    """A posting list's documents and, if asked, weights and values from its bytes, as
    Whoosh's posting reader decodes them, leaving undecoded the blocks holding none of
    ``wanted`` (each block's header says its last document). Without values, from a
    block's packed documents and weights when it has them; with ``verify``, from its
    pickle, and its packed ones must be the same."""
    if data[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise ValueError("a posting list does not start as Whoosh writes them")
    stream = io.BytesIO(data)
    ids: list[int] = []
    found_weights: list[float] = []
    encoded: list[Any] = []
    at = len(WHOOSH3_HEADER_MAGIC)
    next_wanted = 0  # the first wanted document after the blocks passed
    while True:
        # A block: its length (negative for the last), a pickled header (postings,
        # last document, max weight, compression, ...), then its pickled data, maybe
        # compressed.
        size = _BLOCK.unpack_from(data, at)[0]
        end = at + _BLOCK.size + abs(size)
        stream.seek(at + _BLOCK.size)
        header = pickle.load(stream)
        count, last = header[0], header[1]
        if wanted is None or wanted[next_wanted] <= last:
            block = data[stream.tell() : end]
            side = None if values else _side(block, count, weights)
            if side is not None:
                ids += side[0]
                found_weights += side[1]
            else:
                found = pickle.loads(zlib.decompress(block) if header[3] else block)
                these = list(accumulate(found[0]))  # as Whoosh's delta_decode
                ids += these
                if weights or verify:
                    # As Whoosh's _read_weights: None is 1.0 for each posting, one number
                    # the same for each (kept as a 4-byte float), or else one for each.
                    given = found[1]
                    if given is None or isinstance(given, float):
                        scores = [array("f", [1.0 if given is None else given])[0]] * count
                    else:
                        scores = list(given)
                    if verify and _side(block, count, True) not in (None, (these, scores)):
                        raise ValueError("a block's packed documents or weights are not its own")
                    if weights:
                        found_weights += scores
                if values:
                    encoded.extend(found[2])
        if wanted is not None:
            next_wanted = bisect.bisect_right(wanted, last, next_wanted)
            if next_wanted == len(wanted):
                return ids, found_weights, encoded
        if size < 0 or end >= len(data):
            return ids, found_weights, encoded
        at = end


def field_lengths(leaf: Any, fieldname: str) -> bytes | None:
    """One segment's length column of a field, one byte a document as read by
    :func:`lengths_in_memory` (an empty one when no document has the field), or None
    when it is not read that way."""
    perdoc: Any = getattr(leaf, "_perdoc", None)
    if type(perdoc) is not W3PerDocReader or not all(hasattr(perdoc, p) for p in PERDOC_PARTS):
        return None
    found = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if found is None:
        return bytes(perdoc._doccount)
    return found if isinstance(found, bytes) else None


def term_documents(found: bytes) -> int:
    """How many documents have a term, from its information in the term index."""
    count: int = _INFO.unpack_from(found)[2]
    return count


class TermIndex:
    """One segment's term index, looked up as Whoosh looks it up (a hash of the key
    picks a table and a slot; the slots after it are tried in turn) but with a read at
    a given place for each slot and one for the key and value: Whoosh seeks and reads
    each through several layers of calls, and a page's "+N similar" counts look up
    every word of its hits' titles in every segment (three times as long). Not a
    memory map: the few bytes of a lookup would bring whole pages of the file into
    the process's memory."""

    def __init__(self, file: Any, tables: list[tuple[int, int]], hashfn: Any) -> None:
        self._file, self._tables, self._hash = file, tables, hashfn
        self._fields: dict[str, int] = {}

    @classmethod
    def of(cls, leaf: Any) -> TermIndex | None:
        """The segment's term index, or None when it is not of the kind read here (then
        Whoosh's reader serves)."""
        terms = _terms_reader(leaf)
        if terms is None:
            return None
        tindex = terms._tindex
        if not all(hasattr(tindex, p) for p in ("tables", "hashfn", "startoffset")):
            return None
        file = getattr(tindex.dbfile, "file", None)
        if tindex.startoffset != 0 or not isinstance(file, io.BufferedReader):
            return None  # within a compound file, or not a file of the file system
        index = cls(file, list(tindex.tables), tindex.hashfn)
        index._fields = dict(terms._fieldmap)
        return index

    def value(self, fieldname: str, tbytes: bytes) -> bytes | None:
        """A term's information, None when no document of the segment has it."""
        number = self._fields.get(fieldname)
        if number is None:
            return None
        key = _FIELD.pack(number) + tbytes
        keyhash = self._hash(key)
        start, slots = self._tables[keyhash & 255]
        if not slots:
            return None
        fd = self._file.fileno()  # fails once Whoosh has closed the file
        step = _POINTER.size
        end = start + slots * step
        at = start + ((keyhash >> 8) % slots) * step
        for _ in range(slots):
            slot = os.pread(fd, step, at)
            if len(slot) < step:  # as Whoosh's own reading of the slot would fail
                raise EOFError("the term index ends early")
            slothash, item = _POINTER.unpack(slot)
            if not item:
                return None
            if slothash == keyhash:
                # The lengths, the key and (mostly) the value in one read.
                head = os.pread(fd, _LENGTHS.size + len(key) + _VALUE_GUESS, item)
                keylen, datalen = _LENGTHS.unpack_from(head)
                keystart = _LENGTHS.size
                if keylen == len(key) and head[keystart : keystart + keylen] == key:
                    value = head[keystart + keylen : keystart + keylen + datalen]
                    if len(value) < datalen:
                        value = os.pread(fd, datalen, item + keystart + keylen)
                    if len(value) < datalen:
                        raise EOFError("the term index ends early")
                    return value
            at += step
            if at == end:
                at = start
        return None


def _read_postings(terms: Any, fieldname: str, found: bytes) -> list[int] | None:
    """A term's documents (:func:`_posting_list`); None when the term's information is
    not of the kind read here."""
    got = _posting_list(terms, fieldname, found)
    return None if got is None else got[0]


def _posting_list(
    terms: Any,
    fieldname: str,
    found: bytes,
    wanted: Sequence[int] | None = None,
    weights: bool = False,
    values: bool = False,
    verify: bool = False,
) -> Postings | None:
    """A term's documents and, if asked, their weights and values, from its information
    in the term index: the postings kept with a rare term, or its posting list read at
    once and its blocks taken apart here (Whoosh seeks and reads each block's length,
    header and data apart), those holding none of ``wanted`` left undecoded. None when
    the term's information is not of the kind read here. ``verify``: see
    :func:`_blocks`."""
    if type(found) is not bytes or len(found) < _INFO.size + _EXTENT.size:
        return None
    if found[0]:  # postings kept with the term
        ids, given, kept = W3TermInfo.from_bytes(found).inlined_postings()
        # As ListMatcher.weight: weights given one a posting, or 1.0 each.
        found_weights = (list(given) if given else [1.0] * len(ids)) if weights else []
        encoded = list(kept) if values and kept else []
        if values and len(encoded) != len(ids):
            return None
        return list(ids), found_weights, encoded
    offset, length = _EXTENT.unpack_from(found, _INFO.size)
    data = terms._postfile.get(offset, length)
    if len(data) != length:  # as Whoosh's own reading of the postings would fail
        missing = length - len(data)
        raise _in_file(EOFError(f"the postings of {fieldname} end {missing} bytes early"), terms)
    try:
        return _blocks(data, wanted, weights, values, verify)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, zlib.error) as exc:
        # Wrong bytes read as pickles or numbers: damage, as Whoosh's own reading finds.
        corrupt = pickle.UnpicklingError(f"the postings of {fieldname} are corrupt ({exc})")
        raise _in_file(corrupt, terms) from exc
    except pickle.UnpicklingError as exc:
        _in_file(exc, terms)
        raise


def _in_file(exc: BaseException, terms: Any) -> BaseException:
    """``exc``, with the path of the postings file it was raised reading as its
    ``damaged_file``, which the message of the damage names (see
    :func:`searchidx.whooshdb.storage.damage`)."""
    name = getattr(getattr(terms._postfile, "file", None), "name", None)
    if isinstance(name, str):
        setattr(exc, "damaged_file", name)  # noqa: B010 (an attribute exceptions lack)
    return exc


def unreadable_postings(leaf: Any) -> tuple[str, str, BaseException] | None:
    """Every term of one segment read from its term index, in order and through its
    hash tables (as searches look terms up), and every posting list decoded whole
    (documents, weights, and the bytes of positions where the field keeps them; the
    packed documents and weights of a block the same as its pickle's): the
    extension of the file that cannot be read (the terms' or the postings'), why, and
    the failure; or None when all can be (or the segment is not of the kind read
    here)."""
    terms = _terms_reader(leaf)
    if terms is None or not hasattr(terms._tindex, "items"):
        return None
    fields = {number: name for name, number in terms._fieldmap.items()}
    entries: Iterator[tuple[bytes, bytes]] = iter(terms._tindex.items())
    index = TermIndex.of(leaf)
    while True:
        try:
            entry = next(entries, None)
            if entry is None:
                return None
            key, found = entry
            name = fields[_FIELD.unpack_from(key)[0]]
            looked_up = (
                terms._tindex.get(key) if index is None else index.value(name, key[_FIELD.size :])
            )
            if looked_up != found:
                raise ValueError(f"a term of {name} is not found where its table says")
        except Exception as exc:  # whatever wrong bytes raise is damage
            return terms._codec.TERMS_EXT, str(exc) or type(exc).__name__, exc
        fmt = leaf.schema[name].format
        positions = fmt.supports("positions") and fmt.fixed_value_size() is None
        try:
            _posting_list(terms, name, found, None, True, positions, verify=True)
        except Exception as exc:
            return terms._codec.POSTS_EXT, str(exc) or type(exc).__name__, exc


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
            reader = perdoc._readers[fieldname] = whole_lengths(fieldname, reader, perdoc)
        return reader

    perdoc._cached_reader = cached_reader


def whole_lengths(fieldname: str, reader: Any, perdoc: Any) -> Any:
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

    def texts_sized(
        self, rows: Iterable[int], least: int, most: int
    ) -> tuple[list[int], list[str]]:
        """Those of ``rows`` whose value, as UTF-8 text, has from ``least`` to ``most``
        characters, and those texts: a value of fewer bytes than ``least``, or more
        than four a character, is not read, nor is an ASCII one of more than ``most``
        decoded."""
        kept: list[int] = []
        texts: list[str] = []
        ordered = sorted(rows)
        if ordered and not 0 <= ordered[0] <= ordered[-1] < self._rows:
            raise IndexError(ordered[0] if ordered[0] < 0 else ordered[-1])
        widest = 4 * most
        ends = [*self._bases[1:], self._rows]
        for (base, found, offsets, lengths, start), end in zip(self._parts, ends, strict=True):
            # This segment's rows whose value's bytes may hold as many characters.
            sized = [
                row
                for row in ordered[
                    bisect.bisect_left(ordered, base) : bisect.bisect_left(ordered, end)
                ]
                if least <= lengths[row - base] <= widest
            ]
            for row in sized:
                at = start + offsets[row - base]
                value = found[at : at + lengths[row - base]]
                if value.isascii():
                    if len(value) > most:
                        continue
                    text = value.decode("ascii")
                else:
                    text = value.decode("utf-8")
                    if not least <= len(text) <= most:
                        continue
                kept.append(row)
                texts.append(text)
        return kept, texts

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
