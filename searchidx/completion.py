"""Shell completion of values from the index: provider names, domains, topics, ids.

Values come from the terms of the index's key fields (``provider_name``, ``domain``,
``topic``, ``id``), never from stored documents, so completing is quick on a big index.
Whatever goes wrong (no index yet, a damaged one) completes nothing: completion must
never print an error in the middle of a command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from searchidx.items import StoredItem
from searchidx.schema import provider_key

#: Ids completed at most; a shorter prefix completes nothing (type more of the id).
MAX_IDS = 1000
#: Ids matching fewer than this come with their titles (shells that show them).
TITLED_IDS = 50

#: Which field's terms complete which option.
FIELDS = {"providers": "provider_name", "domains": "domain", "topics": "topic"}


def _reader(index_path: str) -> Any:
    """A reader of the index's last committed state that reads files as needed: with
    memory maps, Whoosh copies each segment's whole term file into memory on opening
    (about 0.1 s and 150 MB on the 100k index)."""
    from whoosh.filedb.filestore import FileStorage

    from searchidx.store import IndexDir, opened

    storage = FileStorage(IndexDir(index_path).data_dir(), supports_mmap=False, readonly=True)
    return opened(storage.open_index().reader)


def values(index_path: str, fieldname: str, prefix: str) -> list[str]:
    """The field's values starting with ``prefix``, compared case-insensitively."""
    folded = prefix.casefold()
    try:
        reader = _reader(index_path)
    except Exception:
        return []
    try:
        found = set()
        for term in _terms(reader, fieldname, prefix):
            value = term.decode("utf-8") if isinstance(term, bytes) else str(term)
            if value.casefold().startswith(folded):
                found.add(value)
        # One spelling of each name as filters compare them (case and spacing aside).
        out: dict[str, str] = {}
        for value in sorted(found, key=lambda v: (v.casefold(), v)):
            out.setdefault(provider_key(value), value)
        return list(out.values())
    except Exception:
        return []
    finally:
        reader.close()


def _terms(reader: Any, fieldname: str, prefix: str) -> Iterator[Any]:
    if prefix[:1].isalpha() and fieldname == "provider_name":
        # Names keep their case: look under both cases of the first letter.
        for first in dict.fromkeys((prefix[0].upper(), prefix[0].lower())):
            yield from reader.expand_prefix(fieldname, first)
    elif fieldname == "provider_name":
        yield from reader.lexicon(fieldname)
    else:
        # Domains and topics are indexed lower-cased.
        yield from reader.expand_prefix(fieldname, prefix.lower())


def ids(index_path: str, prefix: str) -> list[tuple[str, str]]:
    """Item ids starting with ``prefix``, with titles when there are few of them."""

    try:
        reader = _reader(index_path)
    except Exception:
        return []
    try:
        found: list[str] = []
        for term in reader.expand_prefix("id", prefix.lower()):
            found.append(term.decode("utf-8") if isinstance(term, bytes) else str(term))
            if len(found) > MAX_IDS:
                return []
        if len(found) >= TITLED_IDS:
            return [(i, "") for i in found]
        out = []
        for item in found:
            docnum = reader.first_id("id", item)
            stored = reader.stored_fields(docnum) if docnum is not None else {}
            title = StoredItem.from_json(stored["data"]).title if "data" in stored else ""
            out.append((item, title))
        return out
    except Exception:
        return []
    finally:
        reader.close()


def shell_word(value: str) -> str:
    """``value`` as bash must receive it to insert it as one word: click's bash script
    reads each completion with ``read`` (which drops one level of backslashes) and
    inserts it as is, so a space or quote is escaped twice. Other shells quote values
    themselves."""
    if not os.environ.get("_SEARCHIDX_COMPLETE", "").startswith("bash"):
        return value
    special = set(" \t'\"\\$`!&;|<>()*?[]{}#~")
    escaped = "".join("\\" + ch if ch in special else ch for ch in value)
    return escaped.replace("\\", "\\\\")
