"""Prefix look-ups in the terms of key fields, for shell completion: quick on a big
index because they read terms, never stored items (but for the titles of a few ids)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from searchidx.fields import as_text
from searchidx.items import StoredItem
from searchidx.whooshdb.storage import light_reader


def terms_with_prefix(data_dir: str, fieldname: str, prefix: str) -> list[str]:
    """The terms of ``fieldname`` that may start with ``prefix`` (names keep their case:
    the caller compares them case-insensitively)."""
    reader = light_reader(data_dir)
    try:
        return [as_text(term) for term in _terms(reader, fieldname, prefix)]
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


def ids_with_prefix(data_dir: str, prefix: str, most: int, titled: int) -> list[tuple[str, str]]:
    """Item ids starting with ``prefix`` (none when more than ``most`` do), with their
    titles when fewer than ``titled`` do."""
    reader = light_reader(data_dir)
    try:
        found: list[str] = []
        for term in reader.expand_prefix("id", prefix.lower()):
            found.append(as_text(term))
            if len(found) > most:
                return []
        if len(found) >= titled:
            return [(i, "") for i in found]
        out = []
        for item in found:
            docnum = reader.first_id("id", item)
            stored = reader.stored_fields(docnum) if docnum is not None else {}
            title = StoredItem.from_json(stored["data"]).title if "data" in stored else ""
            out.append((item, title))
        return out
    finally:
        reader.close()
