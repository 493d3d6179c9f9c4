"""The stored item: what the index keeps of every article and related item, and its
JSON form, in one place.

Every indexed item is an article file (``kind`` = ``article``) or another outlet's
coverage that an article lists in its ``related`` list (``kind`` = ``related``). The
index stores each one as the JSON of a :class:`StoredItem`; ``show``, search hits,
copies, stories, facets and ``check`` read it back with :meth:`StoredItem.from_json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, NotRequired, TypedDict


class Listed(TypedDict):
    """One entry of an article's related list, as the article gives it (its variants
    collapsed into one): the related item's id and what the article says of it."""

    id: str
    title: str
    titles: list[str]
    urls: list[str]
    url: str
    excerpt: str
    provider: str
    domain: str
    published: str | None
    type: str
    quality: float | None
    #: How many images the entry lists (records stored by versions before it: none).
    images: NotRequired[int]


@dataclass(slots=True)
class StoredItem:
    """One item as the index stores it. ``published`` is ISO 8601 in UTC ("...Z") or
    None; ``path`` and ``line`` name the file (and line) an article came from, "" and
    None for a related item; ``related`` is an article's related list."""

    id: str
    kind: str
    title: str
    titles: list[str]
    urls: list[str]
    url: str
    excerpt: str
    provider: str
    domain: str
    topics: list[str] = field(default_factory=list)
    category: str = ""
    type: str = ""
    published: str | None = None
    quality: float | None = None
    heat: float | None = None
    is_published: bool | None = None
    images: int = 0
    path: str = ""
    line: int | None = None
    related: list[Listed] = field(default_factory=list)

    def to_json(self, related: list[str] | None = None) -> str:
        """The stored form. ``related`` may give the related entries already encoded
        (see :func:`encode`); they are spliced in as the last key, where they belong."""
        record = {name: getattr(self, name) for name in _NAMES}
        if related is None:
            return encode(record)
        del record["related"]
        head = encode(record)
        return f'{head[:-1]},"related":[{",".join(related)}]}}'

    @classmethod
    def from_json(cls, text: str | bytes) -> StoredItem:
        """The item of a stored form."""
        return cls(**json.loads(text))


_NAMES = tuple(f.name for f in fields(StoredItem))
assert _NAMES[-1] == "related"  # to_json splices the related list in last


#: What ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` does, without
#: making an encoder each time (a fifth of the time of encoding a related entry).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(value: Any) -> str:
    """Compact JSON, as items are stored."""
    return _ENCODE(value)
