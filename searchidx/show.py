"""``show``: one item in full, with the coverage it lists and the articles citing it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from searchidx.backend import find_row
from searchidx.engine import Index, index_at, reads_index
from searchidx.items import Listed, StoredItem


@dataclass(slots=True)
class ItemRef:
    """A short reference to another item."""

    id: str
    kind: str
    title: str
    provider: str
    published: str | None
    url: str


@dataclass(slots=True)
class Item:
    """One item in full, as ``show`` prints it."""

    id: str
    kind: str
    title: str
    titles: list[str]
    excerpt: str
    provider: str
    domain: str
    topics: list[str]
    category: str
    type: str
    published: str | None
    quality: float | None
    heat: float | None
    is_published: bool | None
    images: int
    url: str
    urls: list[str]
    path: str
    line: int | None
    related: list[ItemRef]
    cited_by: list[ItemRef]


def _ref(rec: StoredItem) -> ItemRef:
    return ItemRef(rec.id, rec.kind, rec.title, rec.provider, rec.published, rec.url)


def _listed_ref(entry: Listed) -> ItemRef:
    """A related entry as its article lists it (the item itself is gone)."""
    return ItemRef(
        entry["id"], "related", entry["title"], entry["provider"], entry["published"], entry["url"]
    )


def by_date(ref: ItemRef) -> tuple[bool, datetime, str, str]:
    """Oldest first, undated last; then by title and id, for a stable order."""
    if not ref.published:
        return (True, datetime.min, ref.title, ref.id)
    when = datetime.fromisoformat(ref.published).astimezone(UTC).replace(tzinfo=None)
    return (False, when, ref.title, ref.id)


_ITEM_FIELDS = tuple(f.name for f in fields(Item))
#: What ``show`` looks up rather than copies from the stored item.
_LOOKED_UP = ("related", "cited_by")


@reads_index
def show(index: Index | str, item_id: str) -> Item:
    """One item in full, with the items it lists and the articles that cite it. An id
    may be shortened to 4 or more characters when no other id starts with them."""
    snap = index_at(index).snapshot()
    rec = snap.item(find_row(snap, item_id))
    related = []
    for r in rec.related:
        current = snap.row_of(r["id"])
        related.append(_ref(snap.item(current)) if current is not None else _listed_ref(r))
    citing = [_ref(snap.item(d)) for d in snap.citing(rec.id)]
    related.sort(key=by_date)
    citing.sort(key=by_date)
    shown = {name: getattr(rec, name) for name in _ITEM_FIELDS if name not in _LOOKED_UP}
    return Item(**shown, related=related, cited_by=citing)
