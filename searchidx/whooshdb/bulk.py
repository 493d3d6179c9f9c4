"""Reading one segment's terms and postings in bulk. Whoosh reads a field's terms one
term, and a posting list one document, at a time, through several layers of calls a
step: listing the titles' words of a 100k-item index that way takes seconds, and the
postings of a page's "+N similar" lookups most of their time. These read the same
bytes a field or a block at once. Each falls back to Whoosh's own reading when the
reader is not of the kind, or lacks the parts, read here
(``tests/test_whooshdb.py`` checks the installed Whoosh has them)."""

from __future__ import annotations

import struct
from typing import Any

from whoosh.codec.whoosh3 import W3LeafMatcher, W3TermsReader
from whoosh.filedb.filetables import OrderedHashReader

#: The parts of a segment's terms reader, its term index and a posting list's matcher
#: read here.
TERMS_PARTS = ("_tindex", "_fieldmap", "_postfile", "_codec")
TINDEX_PARTS = ("closest_key_pos", "endofdata", "dbfile")
MATCHER_PARTS = ("_ids", "_i", "_read_ids", "_next_block", "_atend")

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
            if matcher._ids is None:
                matcher._read_ids()
            ids.extend(matcher._ids[matcher._i :])
            matcher._next_block()
    if leaf.has_deletions():
        deleted = leaf.deleted_docs_set
        ids = [d for d in ids if d not in deleted]
    return ids
