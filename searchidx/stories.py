"""Stories: every outlet's coverage of one story, first publisher first.

The index is grouped by :func:`searchidx.storycore.group_parts` from columns only (the
normalised title, the ``gist`` of the excerpt, the time, the ids an article's related
list names), with word rarity from the index's own items. The grouping of one
committed generation is kept in the index's data folder, in its grouping file
(:mod:`searchidx.storyfile`): the first command of a generation that needs stories
brings the file to it, in one transaction, and later ones read the stories from it.
The file keeps what the next generation starts from
(:class:`searchidx.storystate.GroupingState`, read piece by piece): only the rows
written since are read, only the parts they touch are clustered again, and only the
stories of those parts are made again. A read-only index is grouped in memory (from
the file, when it keeps an earlier generation); a file that cannot be read is made
again.

A query and filters select the stories having a matching member and show them whole.
Within a story, near-identical titles (:mod:`searchidx.copies`'s method, its defaults)
are copies: each copy names the member it copies, the first of its copy cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from searchidx import options, progress, storycore, storyfile, storystate
from searchidx.backend import Snapshot, column_texts, why_nothing
from searchidx.engine import Index, index_at, reads_index
from searchidx.errors import InvalidOption, ItemNotFound
from searchidx.fields import MISSING_LAST, as_text, provider_key
from searchidx.items import StoredItem
from searchidx.query import Filters, split_dates
from searchidx.store import gc_paused

#: Bump when the grouping changes, so cached groupings of older versions are not used.
GROUPING_VERSION = 13


@dataclass(slots=True)
class StoryMember:
    """One item of a story."""

    id: str
    kind: str
    title: str
    provider: str
    published: str | None
    url: str
    path: str
    line: int | None
    copy_of: str | None


@dataclass(slots=True)
class Story:
    """One story's items in publication order; ``id`` is its first publisher's item."""

    id: str
    size: int
    outlets: int
    first_published: str | None
    span_hours: float | None
    members: list[StoryMember]


@dataclass(slots=True)
class StoriesResult:
    """The stories having a member that matches a query and filters, largest first."""

    stories: list[Story]
    query: str | None = None
    total: int = 0
    items: int = 0
    filters: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: No item has all the query's words, and this many have some (as search shows).
    partial: int = 0
    #: Known providers closest to a --provider that none is (when nothing matched).
    provider_suggestions: list[str] = field(default_factory=list)

    def public(self) -> StoriesJson:
        """What JSON output shows: ``{"stories": [...], "total_stories", "items"}``."""
        return StoriesJson(self.stories, self.total, self.items)


@dataclass(slots=True)
class StoriesJson:
    """The JSON form of a result: the stories shown, how many there are in all (as
    ``dupes`` gives ``total_clusters``), and among how many items."""

    stories: list[Story]
    total_stories: int
    items: int


# --- grouping the index --------------------------------------------------------------------


def _read_items(snap: Snapshot, rows: list[int]) -> list[tuple[str, storystate.Item]]:
    """The keys and items (as grouping reads them) of ``rows``: from whole columns when
    they are many, else row by row."""
    names = ("id", "norm", "gist", "links", "oldest")
    columns: list[Sequence[Any]] = (
        [snap.column_values(name) for name in names]
        if len(rows) * 8 > snap.rows()
        else [snap.column(name, translate=False) for name in names]
    )
    ids, norms, gists, links, oldest = columns
    out = []
    for row in rows:
        t = oldest[row]
        when = None if t == MISSING_LAST else -t // 1_000_000
        item = (when, as_text(norms[row]), as_text(gists[row]), as_text(links[row]))
        out.append((as_text(ids[row]), item))
    return out


@dataclass(slots=True)
class Stories:
    """The stories of one generation: their item ids and rows, and what ranks them: how
    many outlets each has, and its earliest member's ``oldest`` (the negated time)."""

    ids: list[list[str]]
    rows: list[list[int]]
    outlets: list[int]
    first: list[int]

    @classmethod
    def of(cls, kept: Iterable[storyfile.StoryRow], base: dict[int, int]) -> Stories:
        """The stories as the grouping file keeps them, their rows as (run id, place),
        with ``base`` the first row of each run id."""
        out = cls([], [], [], [])
        for _, keys, places, outlets, first in kept:
            out.ids.append(keys)
            out.rows.append([base[rid] + place for rid, place in places])
            out.outlets.append(outlets)
            out.first.append(first)
        return out


_SETTINGS = (storycore.DEFAULT_THRESHOLD, storycore.DEFAULT_WINDOW_DAYS)


@dataclass(slots=True)
class Grouped:
    """A grouping brought to a snapshot: its stories, its state, and the stories as
    the grouping file keeps them that it made again (``made``: every one, of a state
    grouped afresh) and that are no more (the first keys ``unmade``)."""

    stories: Stories
    state: storystate.GroupingState
    made: list[storyfile.StoryRow]
    unmade: set[str]

    def write(self, file: storyfile.StateFile, generation: int) -> None:
        """Write what changed to ``file`` (inside its transaction), as of ``generation``."""
        self.state.save(file)
        file.put_stories(self.made, self.unmade)
        file.set_meta({"grouping": GROUPING_VERSION, "generation": generation})


def group_index(snap: Snapshot, file: storyfile.StateFile | None = None) -> Grouped:
    """Every story (two or more items) of the index, grouped from the state ``file``
    keeps when it keeps one of an earlier generation (its stories made again where
    this snapshot changed them), else afresh; nothing is written."""
    state = None
    if file is not None and _usable(file.meta(), snap):
        state = storystate.GroupingState.open(file, _SETTINGS)
    state = state or storystate.GroupingState(_SETTINGS)
    runs = snap.row_runs()

    def read(rows: list[int]) -> list[tuple[str, storystate.Item]]:
        progress.report(0, len(rows), progress.ITEMS_READ)
        found = _read_items(snap, rows) if rows else []
        progress.report(len(rows), len(rows), progress.ITEMS_READ)
        return found

    with gc_paused():
        changes = state.update(
            runs,
            read,
            jobs=min(os.cpu_count() or 1, 4),
            progress=lambda done, total: progress.report(done, total, progress.STEPS_DONE),
        )
        base = {state.runs[token].rid: first for token, first, _, _ in runs}
        if changes.every:
            made = _story_rows(snap, state.stories(), state.places(None), base, whole=True)
            kept: list[storyfile.StoryRow] = []
        else:
            wanted = [k for story in changes.stories for k in story]
            made = _story_rows(snap, changes.stories, state.places(wanted), base, whole=False)
            assert file is not None  # a state read from a file
            kept = [s for s in file.stories() if s[0] not in changes.unmade]
        every = sorted(kept + made)
        return Grouped(Stories.of(every, base), state, made, changes.unmade)


def _usable(meta: dict[str, Any], snap: Snapshot) -> bool:
    """Whether a grouping file's state may be brought to ``snap``: of this version, and
    of this generation or an earlier one."""
    generation = meta.get("generation")
    return (
        meta.get("grouping") == GROUPING_VERSION
        and isinstance(generation, int)
        and generation <= snap.generation
    )


def _story_rows(
    snap: Snapshot,
    stories: list[list[str]],
    places: dict[str, tuple[int, int]],
    base: dict[int, int],
    *,
    whole: bool,
) -> list[storyfile.StoryRow]:
    """The stories as the grouping file keeps them: each story's keys, places (with
    ``base``, each run id's first row), outlets and earliest ``oldest``, read from
    whole columns when ``whole``, else row by row."""
    if not stories:
        return []
    if whole:
        outlets = outlet_keys(snap)
        oldest: Sequence[Any] = snap.column_values("oldest")

        def outlets_of(rows: list[int]) -> int:
            return _outlets(outlets, rows)

    else:
        providers = snap.column("provider", translate=False)
        domains = snap.column("domain", translate=False)
        oldest = snap.column("oldest", translate=False)

        def outlets_of(rows: list[int]) -> int:
            found = (_outlet(as_text(providers[d]), as_text(domains[d])) for d in rows)
            return len({o for o in found if o})

    out: list[storyfile.StoryRow] = []
    for story in stories:
        at = [places[k] for k in story]
        rows = [base[rid] + place for rid, place in at]
        out.append((story[0], story, at, outlets_of(rows), max(oldest[d] for d in rows)))
    return out


def kept_state(folder: str) -> storystate.GroupingState | None:
    """The grouping state kept in an index's data folder, read as it is asked for
    (None when there is none that can be read)."""
    try:
        file = storyfile.StateFile.open(os.path.join(folder, storyfile.NAME), writable=False)
        return storystate.GroupingState.open(file, _SETTINGS)
    except (sqlite3.Error, OSError):
        return None


def index_stories(snap: Snapshot) -> list[list[str]]:
    """The stories of the snapshot's generation, as lists of item ids."""
    return _stories(snap).ids


def story_docs(snap: Snapshot) -> list[list[int]]:
    """The stories of the snapshot's generation, as lists of rows."""
    return _stories(snap).rows


def _stories(snap: Snapshot) -> Stories:
    """The stories of the snapshot's generation: as the index's grouping file keeps
    them, or grouped now from the state it keeps and written there (best effort: an
    index that cannot be written to is grouped in memory each time). A file that cannot
    be read is started afresh."""
    if snap.rows() == 0:  # an empty index has no columns to read
        return Stories([], [], [], [])
    path = os.path.join(snap.folder, storyfile.NAME)
    for _ in range(2):
        file = None
        try:
            file = _open(path)
            if file is None:
                break
            return _through(file, snap)
        except sqlite3.OperationalError:
            break  # locked for longer than a grouping takes, or the disk failed
        except _DAMAGED:  # made again
            if file is not None:
                file.close()
                file = None
            with contextlib.suppress(OSError):
                os.unlink(path)
        finally:
            if file is not None:
                file.close()
    return group_index(snap).stories


#: What reading a damaged grouping file raises.
_DAMAGED = (sqlite3.DatabaseError, ValueError, EOFError, TypeError)


def _open(path: str) -> storyfile.StateFile | None:
    """The grouping file, to write when the folder may be written to, else to read
    (None: there is none, and the folder may not be written to). Raises
    :class:`sqlite3.DatabaseError` for a file that is no database."""
    try:
        return storyfile.StateFile.open(path, writable=True)
    except (sqlite3.OperationalError, OSError):
        pass
    try:
        return storyfile.StateFile.open(path, writable=False) if os.path.exists(path) else None
    except (sqlite3.OperationalError, OSError):
        return None


def _through(file: storyfile.StateFile, snap: Snapshot) -> Stories:
    """The stories of the snapshot's generation, by way of the grouping file: as it
    keeps them, or grouped from its state and written to it (when it may be written
    to, and keeps no later generation's)."""
    with file.reading():
        kept = _kept(file, snap)
    if kept is not None:
        return kept
    if not file.writable:
        with file.reading():
            return group_index(snap, file).stories
    grouped = None
    try:
        with file.writing():
            kept = _kept(file, snap)  # another process may have written it meanwhile
            if kept is not None:
                return kept
            meta = file.meta()
            grouped = group_index(snap, file)
            generation = meta.get("generation")
            later = (  # a process reading a later generation wrote it: keep it
                meta.get("grouping") == GROUPING_VERSION
                and isinstance(generation, int)
                and generation > snap.generation
            )
            if not later:
                grouped.write(file, snap.generation)
    except sqlite3.OperationalError:  # the disk is full, the folder read-only
        if grouped is None:
            raise
        return grouped.stories
    _drop_older(snap.folder)
    return grouped.stories


def _kept(file: storyfile.StateFile, snap: Snapshot) -> Stories | None:
    """The stories the grouping file keeps, when they are of the snapshot's generation
    and this version."""
    meta = file.meta()
    if meta.get("grouping") != GROUPING_VERSION or meta.get("generation") != snap.generation:
        return None
    rids = {token: rid for token, (rid, _, _) in file.runs().items()}
    base = {rids[token]: first for token, first, _, _ in snap.row_runs() if token in rids}
    if len(base) != len(rids):
        raise sqlite3.DatabaseError("the grouping file names runs the index does not have")
    return Stories.of(file.stories(), base)


def _drop_older(folder: str) -> None:
    """Remove what versions before the grouping file kept: ``stories-*.json``,
    ``story-state-*.bin``, ``story-parts-*.json``."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name.endswith((".json", ".bin")) and name.startswith(
                ("stories-", "story-state-", "story-parts-")
            ):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


# --- stories for people ----------------------------------------------------------------------


def _check(min_outlets: int, min_size: int, limit: int) -> None:
    if min_outlets < 1:
        raise InvalidOption("--min-outlets must be at least 1")
    if min_size < 2:
        raise InvalidOption("--min-size must be at least 2")
    if limit < 0:
        raise InvalidOption("--limit must not be negative")


def _docnums(snap: Snapshot) -> dict[str, int]:
    """The row of every live item, by id."""
    if snap.rows() == 0:
        return {}
    ids = column_texts(snap, "id")
    return {ids[d]: d for d in snap.live() if ids[d]}


def _order_key(item: StoredItem) -> tuple[bool, str, str]:
    published = item.published or ""
    return (not published, published, item.id)


def build_story(snap: Snapshot, docnums: Sequence[int]) -> Story:
    """A story of the given documents: members in publication order, copies marked."""
    from searchidx.copies import (
        DEFAULT_THRESHOLD,
        DEFAULT_WINDOW_DAYS,
        candidate_pairs,
        star_clusters,
    )
    from searchidx.titles import normalize_title

    recs = sorted((snap.item(d) for d in docnums), key=_order_key)
    norms = [normalize_title(r.title, r.provider, r.domain) for r in recs]
    times = [_micros(r.published) for r in recs]
    pairs = candidate_pairs(norms, times, DEFAULT_THRESHOLD, DEFAULT_WINDOW_DAYS)
    copy_of: dict[int, int] = {}
    for cluster in star_clusters(range(len(recs)), pairs):
        lead = cluster[0][0]
        for i, _ in cluster[1:]:
            copy_of[i] = lead
    members = [
        StoryMember(
            id=r.id,
            kind=r.kind,
            title=r.title,
            provider=r.provider,
            published=r.published,
            url=r.url,
            path=r.path,
            line=r.line,
            copy_of=recs[copy_of[i]].id if i in copy_of else None,
        )
        for i, r in enumerate(recs)
    ]
    dated = [t for t in times if t is not None]
    span = round((max(dated) - min(dated)) / 3.6e9, 1) if dated else None
    outlets = len({o for r in recs if (o := _outlet(provider_key(r.provider), r.domain))})
    return Story(
        id=members[0].id,
        size=len(members),
        outlets=outlets,
        first_published=members[0].published,
        span_hours=span,
        members=members,
    )


def _micros(published: str | None) -> int | None:
    from datetime import datetime

    if not published:
        return None
    return int(datetime.fromisoformat(published).timestamp() * 1_000_000)


def outlet_keys(snap: Snapshot) -> list[str]:
    """Each row's outlet: its provider (keyed), else its domain (an item without a
    provider, as in datasets that name none, is its site's), else none ("")."""
    providers = column_texts(snap, "provider")
    domains = column_texts(snap, "domain")
    return [_outlet(p, d) for p, d in zip(providers, domains, strict=True)]


def _outlet(provider: str, domain: str) -> str:
    """An item's outlet from its provider's key and its domain ("" for none)."""
    return provider or (f"@{domain}" if domain else "")


def _outlets(outlets: Sequence[str], docs: Iterable[int]) -> int:
    return len({outlets[d] for d in docs if outlets[d]})


def _selected(
    snap: Snapshot, query: str | None, filters: Filters
) -> tuple[set[int] | None, Filters, int, list[str]]:
    """The rows the query and filters select (None: every item), the filters with the
    query's ``published:`` clauses in them, and, when no row is selected, why
    (:func:`searchidx.backend.why_nothing`)."""
    text, filters = split_dates(query or "*", filters)
    text = text.strip() or "*"
    if text == "*" and not filters.describe():
        return None, filters, 0, []
    matching = set(snap.match(text, filters))
    partial, closest = (0, []) if matching else why_nothing(snap, text, filters)
    return matching, filters, partial, closest


@reads_index
def find_stories(
    index: Index | str,
    query: str | None = None,
    filters: Filters | None = None,
    *,
    min_outlets: int = options.MIN_OUTLETS,
    min_size: int = 2,
    limit: int = options.STORIES_LIMIT,
) -> StoriesResult:
    """Stories with a member matching the query and filters, largest (most outlets)
    first, each shown whole."""
    _check(min_outlets, min_size, limit)
    started = time.perf_counter()
    filters = filters or Filters()
    snap = index_at(index).snapshot()
    if snap.count() == 0:
        return StoriesResult([], query, 0, 0, filters.describe(), time.perf_counter() - started)
    grouped = _stories(snap)
    chosen: Sequence[int] = range(len(grouped.rows))
    matching, filters, partial, closest = _selected(snap, query, filters)
    if matching is not None:
        chosen = [n for n in chosen if any(d in matching for d in grouped.rows[n])]
    items = snap.count() if matching is None else len(matching)
    ranked = []
    for n in chosen:
        g, outlets = grouped.rows[n], grouped.outlets[n]
        if len(g) < min_size or outlets < min_outlets:
            continue
        # the negated time: the largest is the earliest
        ranked.append((-outlets, -len(g), -grouped.first[n], min(g), g))
    ranked.sort()
    shown = ranked if limit == 0 else ranked[:limit]
    return StoriesResult(
        stories=[build_story(snap, g) for *_, g in shown],
        query=query,
        total=len(ranked),
        items=items,
        filters=filters.describe(),
        seconds=time.perf_counter() - started,
        partial=partial,
        provider_suggestions=closest,
    )


@reads_index
def story_of(index: Index | str, item_id: str) -> Story | None:
    """The story of one item (by full id), or None when it is in none."""
    snap = index_at(index).snapshot()
    docnum = _docnums(snap)
    if item_id not in docnum:
        raise ItemNotFound(f"no item with id {item_id!r}")
    for g in index_stories(snap):
        if item_id in g:
            return build_story(snap, [docnum[i] for i in g if i in docnum])
    return None


def fold_hits(snap: Snapshot, docnums: Sequence[int]) -> list[list[int]]:
    """Ranked hits folded by story: each group in publication order (first publisher
    first), groups in the order of their best-ranked hit; hits in no story stand alone."""
    stories = index_stories(snap)
    ids = snap.column("id", translate=False)
    story = {i: n for n, g in enumerate(stories) for i in g}
    oldest = snap.column("oldest")
    groups: dict[object, list[int]] = {}
    for d in docnums:
        key = story.get(as_text(ids[d]), ("alone", d))
        groups.setdefault(key, []).append(d)
    out = []
    for g in groups.values():  # dicts keep the order of each group's best-ranked hit
        g.sort(key=lambda d: (oldest[d] == MISSING_LAST, -oldest[d], as_text(ids[d])))
        out.append(g)
    return out


@dataclass(slots=True)
class FirstBucket:
    """One provider: the stories it published first, and the stories it covered."""

    value: str
    first: int
    stories: int


@dataclass(slots=True)
class FirstsResult:
    """Providers by the stories they published first."""

    field: str
    query: str | None
    total: int
    distinct: int
    buckets: list[FirstBucket]
    filters: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: No item has all the query's words, and this many have some (as search shows).
    partial: int = 0
    #: Known providers closest to a --provider that none is (when nothing matched).
    provider_suggestions: list[str] = dataclasses.field(default_factory=list)


@reads_index
def provider_firsts(
    index: Index | str,
    query: str | None = None,
    filters: Filters | None = None,
    *,
    min_outlets: int = options.MIN_OUTLETS,
    limit: int = options.STORIES_LIMIT,
) -> FirstsResult:
    """Per provider, the stories (of ``min_outlets`` or more outlets, with a member
    matching the query and filters) it published first, beside those it covered; most
    firsts first."""
    if limit < 0:
        raise InvalidOption("--limit must not be negative")
    filters = filters or Filters()
    snap = index_at(index).snapshot()
    docnum = _docnums(snap)
    if not docnum:
        return FirstsResult("provider", query, 0, 0, [], filters.describe())
    groups = [[docnum[i] for i in g if i in docnum] for g in index_stories(snap)]
    matching, filters, partial, closest = _selected(snap, query, filters)
    if matching is not None:
        groups = [g for g in groups if any(d in matching for d in g)]
    providers = column_texts(snap, "provider")
    outlets = outlet_keys(snap)
    ids = column_texts(snap, "id")
    oldest = snap.column("oldest")
    first: dict[str, int] = defaultdict(int)
    covered: dict[str, int] = defaultdict(int)
    total = 0
    for g in groups:
        if _outlets(outlets, g) < min_outlets:
            continue
        total += 1
        for p in {providers[d] for d in g if providers[d]}:
            covered[p] += 1
        lead = min(g, key=lambda d: (oldest[d] == MISSING_LAST, -oldest[d], ids[d]))
        if providers[lead]:
            first[providers[lead]] += 1
    ranked = sorted(covered, key=lambda p: (-first[p], -covered[p], p))
    # Each provider by the spelling of its name most items have, as facets provider
    # labels it (not that of the first item met).
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for (name, _), n in snap.value_counts(("provider_name", "domain")).items():
        text = as_text(name)
        spellings[provider_key(text)][text] += n

    def shown(p: str) -> str:
        counts = spellings.get(p)
        return min(counts, key=lambda v: (-counts[v], v)) if counts else p

    buckets = [FirstBucket(shown(p) or p, first[p], covered[p]) for p in ranked]
    return FirstsResult(
        "provider",
        query,
        total,
        len(buckets),
        buckets if limit == 0 else buckets[:limit],
        filters.describe(),
        partial,
        closest,
    )
