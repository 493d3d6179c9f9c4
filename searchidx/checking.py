"""Integrity check of an index against its manifest of indexed files.

The manifest of the live Whoosh generation must exist, and the index and the manifest
must agree item by item:

- every id a file claims is an article in the index, and every id it cites an item;
- every article in the index comes from a file the manifest lists, claiming its id;
- every related item is cited by an article in the index, and no file claims it;
- every id an article cites exists;
- no id appears twice, and nothing is in the index that no file accounts for.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from searchidx.items import StoredItem
from searchidx.store import IndexDir, opened, reads_index


@dataclass(slots=True)
class CheckReport:
    """What ``check`` found. ``problems`` empty means the index is sound."""

    index: str
    generation: int
    files: int
    items: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@reads_index
def check_index(index_path: str, limit: int = 50) -> CheckReport:
    """Verify the index; report at most ``limit`` problems in detail."""
    ixdir = IndexDir(index_path)
    ixdir.require()
    ix = ixdir.open_whoosh()
    data_dir = ixdir.data_dir()
    generation = ix.latest_generation()
    manifest = ixdir.read_manifest(data_dir, generation)
    problems: list[str] = []

    kinds: dict[str, str] = {}
    sources: dict[str, str] = {}
    cited: set[str] = set()
    counts: Counter[str] = Counter()
    with opened(ix.searcher) as searcher:
        for stored in searcher.all_stored_fields():
            item = StoredItem.from_json(stored["data"])
            counts[item.id] += 1
            kinds[item.id] = item.kind
            if item.kind == "article":
                sources[item.id] = item.path
                cited.update(r["id"] for r in item.related)
        items = searcher.doc_count()

    problems += [f"id {i} is in the index {n} times" for i, n in counts.items() if n > 1]
    claimed: dict[str, set[str]] = {}
    accounted: set[str] = set()
    for path, entry in manifest.files.items():
        for i in entry.ids:
            claimed.setdefault(i, set()).add(path)
            if kinds.get(i) != "article":
                problems.append(f"{path}: its article {i} is missing from the index")
        for i in entry.cites:
            if i not in kinds:
                problems.append(f"{path}: the item {i} it cites is missing from the index")
        accounted.update(entry.ids, entry.cites)
    for i, path in sources.items():
        if path not in manifest.files:
            problems.append(f"article {i} comes from {path}, which the manifest does not list")
        elif path not in claimed.get(i, ()):
            problems.append(f"article {i} is not claimed by its file {path}")
    for i, kind in kinds.items():
        if kind == "related" and i not in cited:
            problems.append(f"related item {i} is cited by no article")
        if kind == "related" and i in claimed:
            problems.append(f"related item {i} is claimed as an article by {sorted(claimed[i])[0]}")
    problems += [f"item {i} is cited but missing" for i in sorted(cited - kinds.keys())]
    problems += [f"item {i} is accounted for by no file" for i in sorted(kinds.keys() - accounted)]

    report = CheckReport(index_path, generation, len(manifest.files), items)
    if len(problems) > limit:
        problems = [*problems[:limit], f"… and {len(problems) - limit} more problems"]
    report.problems = problems
    leftovers = [
        n
        for n in os.listdir(data_dir)
        if ".tmp-" in n or (n.startswith("manifest-") and n != f"manifest-{generation}.json")
    ]
    if leftovers:
        report.notes.append(
            f"{len(leftovers)} leftover file(s) of an interrupted run; "
            "the next index run removes them"
        )
    orphans = orphan_files(ix, data_dir, generation)
    if orphans:
        report.notes.append(
            f"{len(orphans)} index file(s) no longer in use ({', '.join(orphans[:3])}"
            f"{', …' if len(orphans) > 3 else ''}); the next index run that changes "
            "something removes them"
        )
    return report


def orphan_files(ix: Any, data_dir: str, generation: int) -> list[str]:
    """Files of Whoosh's naming in the data folder that the live table of contents does
    not refer to (as Whoosh tells them when it cleans up after a commit)."""
    from whoosh.index import TOC

    live = {segment.segment_id() for segment in ix._segments()}
    toc_name, segment_name = TOC._pattern(ix.indexname), TOC._segment_pattern(ix.indexname)
    orphans = []
    for name in sorted(os.listdir(data_dir)):
        toc, segment = toc_name.match(name), segment_name.match(name)
        if (toc and int(toc.group(1)) != generation) or (segment and segment.group(1) not in live):
            orphans.append(name)
    return orphans
