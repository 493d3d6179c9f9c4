"""``stats``: what an index holds, counted over its live items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from searchidx.engine import Index, index_at, reads_index
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
    published = list(snap.column("published"))
    dated = [v for v in (published[d] for d in live) if v]
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
        first_published=iso(min(dated).replace(tzinfo=UTC)) if dated else None,
        last_published=iso(max(dated).replace(tzinfo=UTC)) if dated else None,
        size_bytes=disk_usage(ix.path),
        last_update=manifest.updated,
        schema_version=int(ix.dir.meta()["schema_version"]),
    )
