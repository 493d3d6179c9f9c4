"""Integrity check of an index against its manifest of indexed files.

The manifest of the live Whoosh generation must exist, and the index and the manifest
must agree item by item:

- every id a file claims is an article in the index, and every id it cites an item
  (but when another file with the same URL is the article's source: the first file by
  path is indexed, and only its related list);
- every article in the index comes from a file the manifest lists, claiming its id;
- every related item is cited by an article in the index, and no file claims it;
- every id an article cites exists;
- no id appears twice, and nothing is in the index that no file accounts for.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from searchidx.backend import Snapshot
from searchidx.engine import index_at, reads_index


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


@dataclass(slots=True)
class _Contents:
    """The items of one committed state, as ``check`` compares them with its manifest."""

    counts: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    cited: set[str] = field(default_factory=set)


def _contents(snap: Snapshot) -> _Contents:
    """Every file of the state read (see ``Snapshot.verify``), then its items."""
    snap.verify()
    out = _Contents()
    for row in snap.live():
        item = snap.item(row)
        out.counts[item.id] += 1
        out.kinds[item.id] = item.kind
        if item.kind == "article":
            out.sources[item.id] = item.path
            out.cited.update(r["id"] for r in item.related)
    return out


@reads_index
def check_index(index_path: str, limit: int = 50) -> CheckReport:
    """Verify the index: every file of it readable (raising IndexDamaged if not), then
    its items against its manifest; report at most ``limit`` problems in detail."""
    from searchidx.whooshdb.storage import orphan_files

    problems: list[str] = []
    # A writer that commits meanwhile makes ``reads_index`` read the new state.
    index = index_at(index_path)
    snap, manifest = index.manifest(index.snapshot())
    found = _contents(snap)
    counts, kinds, sources, cited = found.counts, found.kinds, found.sources, found.cited
    data_dir, generation = snap.folder, snap.generation

    problems += [f"id {i} is in the index {n} times" for i, n in counts.items() if n > 1]
    claimed: dict[str, set[str]] = {}
    accounted: set[str] = set()
    for path, entry in manifest.files.items():
        lost = False  # an article of it is another file's (one URL in two files)
        for i in entry.ids:
            claimed.setdefault(i, set()).add(path)
            if kinds.get(i) != "article":
                problems.append(f"{path}: its article {i} is missing from the index")
            elif sources.get(i) != path:
                lost = True
        for i in entry.cites:
            if i not in kinds and not lost:
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

    report = CheckReport(index_path, generation, len(manifest.files), snap.count())
    if len(problems) > limit:
        problems = [*problems[:limit], f"… and {len(problems) - limit} more problems"]
    report.problems = problems
    leftovers = [
        n
        for n in os.listdir(data_dir)
        if ".tmp-" in n or (n.startswith("manifest-") and n not in manifest.file_names())
    ]
    if leftovers:
        report.notes.append(
            f"{len(leftovers)} leftover file(s) of an interrupted run; "
            "the next index run removes them"
        )
    orphans = orphan_files(data_dir, generation)
    if orphans:
        report.notes.append(
            f"{len(orphans)} index file(s) no longer in use ({', '.join(orphans[:3])}"
            f"{', …' if len(orphans) > 3 else ''}); the next index run that changes "
            "something removes them"
        )
    return report
