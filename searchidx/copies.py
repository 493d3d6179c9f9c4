"""Duplicate stories: clusters of near-identical headlines across the whole index.

Similarity
    Two items are near-identical when their normalised titles
    (:func:`searchidx.titles.normalize_title`) score at least ``threshold`` with
    rapidfuzz's ``fuzz.ratio``, carry the same numbers, and, when both are dated, were
    published less than ``window_days`` apart.

Candidates
    Comparing every pair is quadratic. Instead each title is keyed by its
    ``KEY_TOKENS`` rarest words (by document frequency over the items compared), and only
    titles sharing a key are scored: near-identical headlines share most words, so they
    share rare ones. Within a key, titles are sorted by time and only those inside the
    window are scored. On UCI headlines this finds over 99% of the pairs that scoring
    every pair finds (``tests/bench``).

Clusters
    Star clustering in publication order: each item joins the cluster of the earliest
    earlier item it is near-identical to that leads a cluster (the highest-scoring one
    when several do), or else starts its own. Every member is therefore near-identical
    to its cluster's first member, which is the first publisher, and unrelated stories
    cannot chain into one giant cluster through intermediate headlines.
"""

from __future__ import annotations

import bisect
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from searchidx import options
from searchidx.backend import (
    Snapshot,
    TitleWordRows,
    column_texts,
    find_row,
    why_nothing,
)
from searchidx.engine import Index, index_at, reads_index
from searchidx.errors import InvalidOption
from searchidx.fields import MISSING_LAST, as_text
from searchidx.query import Filters, split_dates
from searchidx.titles import numbers

#: Default similarity threshold (0-100); see the README and tests/bench for the data.
DEFAULT_THRESHOLD = options.COPY_THRESHOLD
#: Default publication-time window in days; see the README and tests/bench.
DEFAULT_WINDOW_DAYS = options.COPY_WINDOW_DAYS
#: How many of a title's rarest words key its candidates when every title is keyed.
KEY_TOKENS = 6
#: How many of one title's rarest words find its candidates among all words of others:
#: on the 100k UCI index, 2 find 97.7-99.8% of the near-duplicates of 2,000 sampled items
#: that comparing each with every item finds, in 0.56-0.60 ms an item (four runs of
#: ``python -m tests.bench``); 3 found all in one run, in 0.95 ms, and raised the median
#: search from 14 to 19 ms.
LOOKUP_KEYS = 2

_DAY_US = 86_400_000_000


@dataclass(slots=True)
class Member:
    """One item of a cluster."""

    id: str
    kind: str
    title: str
    provider: str
    published: str | None
    url: str
    path: str
    line: int | None
    similarity: float


@dataclass(slots=True)
class Cluster:
    """Near-identical items, first publisher first."""

    size: int
    members: list[Member]


@dataclass(slots=True)
class DupesResult:
    """The clusters found among the items matching a query and filters."""

    threshold: float
    window_days: float | None
    query: str | None
    items: int
    clusters: list[Cluster]
    total_clusters: int = 0
    filters: dict[str, Any] = field(default_factory=dict)
    of: str | None = None
    seconds: float = 0.0
    #: No item has all the query's words, and this many have some (as search shows).
    partial: int = 0
    #: Known providers closest to a --provider that none is (when nothing matched).
    provider_suggestions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Titles:
    """The titles being compared, by position: row, id, normalised title, publication
    time in microseconds (None when undated)."""

    rows: list[int]
    ids: list[str]
    norms: list[str]
    times: list[int | None]

    def order_key(self, i: int) -> tuple[bool, int, str]:
        """Publication order: earliest first, undated last, then by id."""
        t = self.times[i]
        return (t is None, t or 0, self.ids[i])


def load_titles(snap: Snapshot, rows: Iterable[int]) -> Titles:
    """Read ids, normalised titles and times from columns (no stored items)."""
    ids = column_texts(snap, "id")
    norms = column_texts(snap, "norm")
    oldest = snap.column_values("oldest")
    out = Titles([], [], [], [])
    for d in rows:
        if norms[d]:
            out.rows.append(d)
            out.ids.append(ids[d])
            out.norms.append(norms[d])
            out.times.append(None if oldest[d] == MISSING_LAST else -oldest[d])
    return out


def _window_us(window_days: float | None) -> int | None:
    """The window in microseconds, a microsecond short: items exactly ``window_days``
    apart are outside it (a weekly column's issues, "The 20 Funniest Tweets From Women
    This Week", are 7 days apart to the minute, and are no copies)."""
    return None if window_days is None else max(int(window_days * _DAY_US) - 1, 0)


def candidate_pairs(
    norms: Sequence[str],
    times: Sequence[int | None],
    threshold: float,
    window_days: float | None,
    key_tokens: int = KEY_TOKENS,
) -> dict[tuple[int, int], float]:
    """Near-identical pairs (i < j) among ``norms``, found through rare-word keys."""
    window = _window_us(window_days)
    df: Counter[str] = Counter()
    for n in norms:
        df.update(set(n.split()))
    postings: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(norms):  # words are split again rather than kept: less memory
        for key in sorted(set(n.split()), key=lambda t: (df[t], t))[:key_tokens]:
            postings[key].append(i)
    nums = [numbers(n) for n in norms]
    pairs: dict[tuple[int, int], float] = {}
    for ids in postings.values():
        if len(ids) < 2:
            continue
        dated = sorted((i for i in ids if times[i] is not None), key=lambda i: times[i] or 0)
        undated = [i for i in ids if times[i] is None]
        stamps = [times[i] or 0 for i in dated]
        for pos, i in enumerate(dated):
            end = (
                len(dated) if window is None else bisect.bisect_right(stamps, stamps[pos] + window)
            )
            _score_against(i, dated[pos + 1 : end], norms, nums, threshold, pairs)
        for pos, i in enumerate(undated):
            _score_against(i, undated[pos + 1 :] + dated, norms, nums, threshold, pairs)
    return pairs


def _in_window(a: int | None, b: int | None, window: int | None) -> bool:
    return window is None or a is None or b is None or abs(a - b) <= window


def _score_against(
    i: int,
    others: list[int],
    norms: Sequence[str],
    nums: list[list[str]],
    threshold: float,
    pairs: dict[tuple[int, int], float],
) -> None:
    if not others:
        return
    found = process.extract(
        norms[i],
        [norms[j] for j in others],
        scorer=fuzz.ratio,
        score_cutoff=threshold,
        limit=None,
    )
    for _, score, k in found:
        j = others[k]
        if nums[i] == nums[j]:
            pairs[(i, j) if i < j else (j, i)] = float(score)


def star_clusters(
    order: Sequence[int], pairs: dict[tuple[int, int], float]
) -> list[list[tuple[int, float]]]:
    """Clusters of positions as (position, similarity to the first member), each in
    ``order``; an item joins the best-matching earlier cluster leader."""
    rank = {i: r for r, i in enumerate(order)}
    neighbours: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (i, j), score in pairs.items():
        neighbours[i].append((j, score))
        neighbours[j].append((i, score))
    clusters: dict[int, list[tuple[int, float]]] = {}
    for i in order:
        leaders = [
            (score, -rank[j], j)
            for j, score in neighbours.get(i, ())
            if j in clusters and rank[j] < rank[i]
        ]
        if leaders:
            clusters[max(leaders)[2]].append((i, max(leaders)[0]))
        else:
            clusters[i] = [(i, 100.0)]
    return list(clusters.values())


def _check(threshold: float, window_days: float | None, min_size: int, limit: int) -> None:
    if not 0 <= threshold <= 100:
        raise InvalidOption("--threshold must be between 0 and 100")
    if window_days is not None and window_days < 0:
        raise InvalidOption("--window must not be negative")
    if min_size < 2 or limit < 0:
        raise InvalidOption("--min-size must be at least 2 and --limit not negative")


@reads_index
def find_dupes(
    index: Index | str,
    query: str | None = None,
    filters: Filters | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    min_size: int = 2,
    limit: int = options.DUPES_LIMIT,
    of: str | None = None,
) -> DupesResult:
    """Clusters of near-identical items, largest first; ``of`` gives one item's."""
    _check(threshold, window_days, min_size, limit)
    started = time.perf_counter()
    snap = index_at(index).snapshot()
    text, filters = split_dates(query or "*", filters or Filters())
    partial, closest = 0, list[str]()
    if of is not None:
        members, compared = _dupes_of(snap, of, text, filters, threshold, window_days)
        groups = [members] if len(members) >= min(min_size, 2) else []
    else:
        matching = snap.match(text, filters)
        if not matching:
            partial, closest = why_nothing(snap, text, filters)
        titles = load_titles(snap, matching)
        compared = len(titles.ids)
        pairs = candidate_pairs(titles.norms, titles.times, threshold, window_days)
        order = sorted(range(len(titles.ids)), key=titles.order_key)
        found = [c for c in star_clusters(order, pairs) if len(c) >= min_size]
        found.sort(key=lambda c: (-len(c), titles.order_key(c[0][0])))
        groups = [[(titles.rows[i], sim) for i, sim in c] for c in found]
    shown = groups if limit == 0 else groups[:limit]
    clusters = [Cluster(len(g), [_member(snap, d, sim) for d, sim in g]) for g in shown]
    return DupesResult(
        threshold=threshold,
        window_days=window_days,
        query=query,
        items=compared,
        clusters=clusters,
        total_clusters=len(groups),
        filters=filters.describe(),
        of=of,
        seconds=time.perf_counter() - started,
        partial=partial,
        provider_suggestions=closest,
    )


def _member(snap: Snapshot, row: int, similarity: float) -> Member:
    item = snap.item(row)
    return Member(
        id=item.id,
        kind=item.kind,
        title=item.title,
        provider=item.provider,
        published=item.published,
        url=item.url,
        path=item.path,
        line=item.line,
        similarity=round(similarity, 1),
    )


# --- one item's duplicates ----------------------------------------------------------------


class Lookup:
    """What one-item duplicate lookups share: the title and time columns, word
    frequencies and word postings of one snapshot, read once for a page of hits rather
    than once per hit (the hits of one query share many words; the snapshot may keep
    them for later pages too)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.norms = snap.column("norm", translate=False)
        self.oldest = snap.column("oldest")
        self._df: dict[str, int] = {}
        self._postings: dict[str, TitleWordRows] = {}
        self._norm_of: dict[int, str] = {}

    def frequency(self, word: str) -> int:
        if word not in self._df:
            self._df[word] = self.snap.title_word_count(word)
        return self._df[word]

    def postings(self, word: str) -> TitleWordRows:
        """The live rows whose title has ``word``."""
        if word not in self._postings:
            self._postings[word] = self.snap.title_word_rows(word)
        return self._postings[word]

    def norm(self, row: int) -> str:
        if row not in self._norm_of:
            self._norm_of[row] = as_text(self.norms[row])
        return self._norm_of[row]


def near_duplicates(
    snap: Snapshot,
    docnum: int,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    restrict: set[int] | None = None,
    lookup: Lookup | None = None,
) -> list[tuple[int, float]]:
    """The items near-identical to one document, as (docnum, similarity to it).

    Candidates are the items, published within the window, that share one of this
    title's ``LOOKUP_KEYS`` rarest words; a near-identical title has nearly all of them.
    Those whose titles are too short or too long to score ``threshold`` are left out
    before their titles are read (:func:`_sizes`)."""
    lk = lookup or Lookup(snap)
    norm = lk.norm(docnum)
    if not norm:
        return []
    keys = sorted(set(norm.split()), key=lambda t: (lk.frequency(t), t))
    when = _time(lk.oldest[docnum])
    window = _window_us(window_days)
    candidates: dict[int, None] = {}
    for key in keys[:LOOKUP_KEYS]:
        if window is None or when is None:
            rows = lk.postings(key).within(None, None)
        else:
            rows = lk.postings(key).within(when - window, when + window)
        if restrict is not None:
            rows = [d for d in rows if d in restrict]
        candidates.update(dict.fromkeys(rows))
    candidates.pop(docnum, None)
    if not candidates:
        return []
    return _scored(snap, norm, candidates, threshold)


def _scored(
    snap: Snapshot, norm: str, candidates: Iterable[int], threshold: float
) -> list[tuple[int, float]]:
    """The ``candidates`` whose titles are near-identical to ``norm`` (their numbers the
    same), as (row, similarity): those too short or too long to score ``threshold``
    are left out before their titles are read (:func:`_sizes`)."""
    docs, others = snap.titles_sized(candidates, *_sizes(len(norm), threshold))
    mine = numbers(norm)
    found = process.extract(norm, others, scorer=fuzz.ratio, score_cutoff=threshold, limit=None)
    return [(docs[k], float(score)) for _, score, k in found if numbers(others[k]) == mine]


def _sizes(length: int, threshold: float) -> tuple[int, int]:
    """The fewest and most characters a title may have to score ``threshold`` against
    one of ``length``, with a character to spare either side. ``fuzz.ratio`` is
    200 * (longest common subsequence) / (sum of the lengths), so at most
    200 * shorter / (sum of the lengths)."""
    if not 0 < threshold <= 100:  # every title, or none: the scores tell
        return 0, sys.maxsize
    least = math.floor(length * threshold / (200 - threshold)) - 1
    most = math.ceil(length * (200 - threshold) / threshold) + 1
    return max(least, 0), most


def _time(raw: int) -> int | None:
    return None if raw == MISSING_LAST else -raw


def _dupes_of(
    snap: Snapshot,
    item_id: str,
    text: str,
    filters: Filters,
    threshold: float,
    window_days: float | None,
) -> tuple[list[tuple[int, float]], int]:
    """The item and its near-duplicates in publication order, each with its similarity
    to the first of them. Unlike a page's "+N similar" (:func:`near_duplicates`), every
    item the query allows inside the window is compared, so that no near-duplicate is
    left out: the answer to one question is exact (the window's titles are read, which
    on a large index takes a fraction of a second)."""
    row = find_row(snap, item_id)
    found = _all_near_duplicates(snap, row, snap.match(text, filters), threshold, window_days)
    titles = load_titles(snap, [row, *(d for d, _ in found)])
    order = sorted(range(len(titles.ids)), key=titles.order_key)
    first = titles.norms[order[0]]
    members = [(titles.rows[i], float(fuzz.ratio(first, titles.norms[i]))) for i in order]
    return members, len(titles.ids)


def _all_near_duplicates(
    snap: Snapshot, row: int, allowed: Iterable[int], threshold: float, window: float | None
) -> list[tuple[int, float]]:
    """Every item of ``allowed`` near-identical to ``row``, as (row, similarity)."""
    norm = Lookup(snap).norm(row)
    if not norm:
        return []
    oldest = snap.column_values("oldest")  # read whole: most rows are looked at
    when, span = _time(oldest[row]), _window_us(window)
    candidates = [d for d in allowed if d != row and _in_window(when, _time(oldest[d]), span)]
    return _scored(snap, norm, candidates, threshold)


def similar_counts(
    snap: Snapshot, rows: Iterable[int], threshold: float = DEFAULT_THRESHOLD
) -> dict[int, int]:
    """How many near-duplicates each of some rows has in the whole index."""
    lookup = Lookup(snap)
    return {d: len(near_duplicates(snap, d, threshold, lookup=lookup)) for d in rows}
