"""``stats``: what an index holds, counted over its live items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from searchidx.engine import Index, index_at, reads_index
from searchidx.fields import MISSING_LAST
from searchidx.query import iso
from searchidx.store import disk_usage


@dataclass(slots=True)
class Stats:
    """What an index holds."""

    index: str
    items: int
    articles: int
    related: int
    files: int
    providers: int
    topics: int
    first_published: str | None
    last_published: str | None
    size_bytes: int
    last_update: str
    schema_version: int


@reads_index
def stats(index: Index | str) -> Stats:
    """Counts and facts about an index."""
    ix = index_at(index)
    snap, manifest = ix.manifest(ix.snapshot())
    articles = snap.kind_count("article")
    related = snap.kind_count("related")
    # Live items only: an updated index keeps deleted ones (and their terms) until
    # their segment is merged.
    live = snap.live()
    # Times from the column of negated microseconds, where undated items hold
    # MISSING_LAST (the published column gives them its own default, year 1).
    oldest = snap.column_values("oldest")
    dated = [-t for t in (oldest[d] for d in live) if t != MISSING_LAST]
    keys = snap.column_values("provider")
    providers = len({keys[d] for d in live} - {b"", ""})
    topics = snap.topic_count()
    items = snap.count()
    return Stats(
        index=ix.path,
        items=items,
        articles=articles,
        related=related,
        files=len(manifest.files),
        providers=providers,
        topics=topics,
        first_published=_iso(min(dated)) if dated else None,
        last_published=_iso(max(dated)) if dated else None,
        size_bytes=disk_usage(ix.path),
        last_update=manifest.updated,
        schema_version=int(ix.dir.meta()["schema_version"]),
    )


def _iso(micros: int) -> str:
    """A time in microseconds since 1970 (UTC), as stats shows it."""
    return iso(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros))
