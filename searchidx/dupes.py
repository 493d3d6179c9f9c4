"""Duplicate stories: clusters of near-identical headlines across the whole index.

Similarity
    Two items are near-identical when their normalised titles
    (:func:`searchidx.dedup.normalize_title`) score at least ``threshold`` with
    rapidfuzz's ``fuzz.ratio``, carry the same numbers, and, when both are dated, were
    published within ``window_days`` of each other.

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
import json
import sys
import time
import weakref
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from whoosh.columns import MultiColumnReader, NumericColumn

from searchidx.dedup import numbers
from searchidx.errors import InvalidOption, ItemNotFound
from searchidx.schema import MISSING_LAST, as_text, column_reader
from searchidx.searching import Filters, matching_docs, parse_query, searcher_for, split_dates
from searchidx.store import reads_index

#: Default similarity threshold (0-100); see the README and tests/bench for the data.
DEFAULT_THRESHOLD = 90.0
#: Default publication-time window in days; see the README and tests/bench.
DEFAULT_WINDOW_DAYS = 7.0
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


@dataclass(slots=True)
class Titles:
    """The titles being compared, by position: document number, id, normalised title,
    publication time in microseconds (None when undated)."""

    docnums: list[int]
    ids: list[str]
    norms: list[str]
    times: list[int | None]

    def order_key(self, i: int) -> tuple[bool, int, str]:
        """Publication order: earliest first, undated last, then by id."""
        t = self.times[i]
        return (t is None, t or 0, self.ids[i])


def load_titles(reader: Any, docs: Iterable[int]) -> Titles:
    """Read ids, normalised titles and times from columns (no stored documents)."""
    ids = _texts(reader, "id")
    norms = _texts(reader, "norm")
    oldest = list(column_reader(reader, "oldest"))
    out = Titles([], [], [], [])
    for d in docs:
        if norms[d]:
            out.docnums.append(d)
            out.ids.append(ids[d])
            out.norms.append(norms[d])
            out.times.append(None if oldest[d] == MISSING_LAST else -oldest[d])
    return out


def _texts(reader: Any, name: str) -> list[str]:
    return [as_text(v) for v in column_reader(reader, name, translate=False)]


def _window_us(window_days: float | None) -> int | None:
    return None if window_days is None else int(window_days * _DAY_US)


def _in_window(a: int | None, b: int | None, window: int | None) -> bool:
    return window is None or a is None or b is None or abs(a - b) <= window


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
    index_path: str,
    query: str | None = None,
    filters: Filters | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    min_size: int = 2,
    limit: int = 20,
    of: str | None = None,
) -> DupesResult:
    """Clusters of near-identical items, largest first; ``of`` gives one item's."""
    _check(threshold, window_days, min_size, limit)
    started = time.perf_counter()
    searcher = searcher_for(index_path)
    reader = searcher.reader()
    text, filters = split_dates(query or "*", filters or Filters())
    q = parse_query(searcher.schema, text, reader=reader)
    if of is not None:
        members, compared = _dupes_of(searcher, of, q, filters, threshold, window_days)
        groups = [members] if len(members) >= min(min_size, 2) else []
    else:
        titles = load_titles(reader, matching_docs(searcher, q, filters))
        compared = len(titles.ids)
        pairs = candidate_pairs(titles.norms, titles.times, threshold, window_days)
        order = sorted(range(len(titles.ids)), key=titles.order_key)
        found = [c for c in star_clusters(order, pairs) if len(c) >= min_size]
        found.sort(key=lambda c: (-len(c), titles.order_key(c[0][0])))
        groups = [[(titles.docnums[i], sim) for i, sim in c] for c in found]
    shown = groups if limit == 0 else groups[:limit]
    clusters = [Cluster(len(g), [_member(searcher, d, sim) for d, sim in g]) for g in shown]
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
    )


def _member(searcher: Any, docnum: int, similarity: float) -> Member:
    rec = json.loads(searcher.stored_fields(docnum)["data"])
    return Member(
        id=rec["id"],
        kind=rec["kind"],
        title=rec["title"],
        provider=rec["provider"],
        published=rec["published"],
        url=rec["url"],
        path=rec["path"],
        similarity=round(similarity, 1),
    )


# --- one item's duplicates ----------------------------------------------------------------


class Lookup:
    """What one-item duplicate lookups share: the columns, word frequencies and word
    postings of one searcher, read once for a page of hits rather than once per hit
    (the hits of one query share many words)."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.norms, self.oldest, self._leaves = _columns(searcher)
        self._df: dict[str, int] = {}
        self._postings: dict[str, list[tuple[int, int | None]]] = {}
        self._norm_of: dict[int, str] = {}

    def frequency(self, word: str) -> int:
        if word not in self._df:
            self._df[word] = self.reader.doc_frequency("norm", word)
        return self._df[word]

    def postings(self, word: str) -> list[tuple[int, int | None]]:
        """The live documents whose title has ``word``, each with its time. Read segment
        by segment, one word at a time: through the whole index's reader each document
        costs several times as much (a union of words, and a column lookup per segment
        search for every document)."""
        if word not in self._postings:
            found: list[tuple[int, int | None]] = []
            for leaf, base, oldest in self._leaves:
                if ("norm", word) in leaf:
                    ids = leaf.postings("norm", word).all_ids()
                    found += [(base + d, _time(oldest[d])) for d in ids]
            self._postings[word] = found
        return self._postings[word]

    def norm(self, docnum: int) -> str:
        if docnum not in self._norm_of:
            self._norm_of[docnum] = as_text(self.norms[docnum])
        return self._norm_of[docnum]


_COLUMNS: weakref.WeakKeyDictionary[Any, tuple[Any, Any, list[tuple[Any, int, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def _columns(searcher: Any) -> tuple[Any, Any, list[tuple[Any, int, Any]]]:
    """The title and time columns of a searcher, whole and by segment, made once for as
    long as the searcher lives: making a column reader reads its offsets (a pass over
    every document), which cost more than a lookup itself."""
    found = _COLUMNS.get(searcher)
    if found is None:
        reader = searcher.reader()
        leaves = [
            (leaf, base, _whole_column(leaf, "oldest"))
            for leaf, base in reader.leaf_readers()
            if leaf.doc_count_all()  # an index of no items has one leaf, of no columns
        ]
        oldest: Any
        if not leaves:
            oldest = []
        elif len(leaves) == 1:
            oldest = leaves[0][2]
        else:
            oldest = MultiColumnReader([c for _, _, c in leaves], [b for _, b, _ in leaves])
        found = (column_reader(reader, "norm", translate=False), oldest, leaves)
        _COLUMNS[searcher] = found
    return found


def _whole_column(leaf: Any, fieldname: str) -> Any:
    """A segment's numeric column, every value read at once into an array: Whoosh's
    reader reads and unpacks one value a lookup, and a page's "+N similar" lookups read
    the time of every item sharing a word with its titles (tens of thousands for a
    common word). Any other kind of column is given as Whoosh reads it."""
    column = leaf.column_reader(fieldname, translate=False)
    if type(column) is not NumericColumn.Reader:
        return column
    size = column._count * column._fixedlen
    data = column._dbfile.get(column._basepos, size)
    if len(data) != size:  # as Whoosh's own reading of the value would fail
        raise EOFError(f"the {fieldname} column ends {size - len(data)} bytes early")
    values = array(column._typecode)
    values.frombytes(data)
    if sys.byteorder == "little":  # Whoosh writes them big-endian
        values.byteswap()
    values.extend([column._default] * (leaf.doc_count_all() - len(values)))
    return values


def near_duplicates(
    searcher: Any,
    docnum: int,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    restrict: set[int] | None = None,
    lookup: Lookup | None = None,
) -> list[tuple[int, float]]:
    """The items near-identical to one document, as (docnum, similarity to it).

    Candidates are the items, published within the window, that share one of this
    title's ``LOOKUP_KEYS`` rarest words; a near-identical title has nearly all of them."""
    lk = lookup or Lookup(searcher)
    norm = lk.norm(docnum)
    if not norm:
        return []
    keys = sorted(set(norm.split()), key=lambda t: (lk.frequency(t), t))
    when = _time(lk.oldest[docnum])
    window = _window_us(window_days)
    candidates: dict[int, None] = {}
    for key in keys[:LOOKUP_KEYS]:
        for d, t in lk.postings(key):
            if d != docnum and (restrict is None or d in restrict) and _in_window(when, t, window):
                candidates[d] = None
    if not candidates:
        return []
    docs = list(candidates)
    others = [lk.norm(d) for d in docs]
    mine = numbers(norm)
    found = process.extract(norm, others, scorer=fuzz.ratio, score_cutoff=threshold, limit=None)
    return [(docs[k], float(score)) for _, score, k in found if numbers(others[k]) == mine]


def _time(raw: int) -> int | None:
    return None if raw == MISSING_LAST else -raw


def _dupes_of(
    searcher: Any,
    item_id: str,
    q: Any,
    filters: Filters,
    threshold: float,
    window_days: float | None,
) -> tuple[list[tuple[int, float]], int]:
    """The item and its near-duplicates in publication order, each with its similarity
    to the first of them."""
    from whoosh import query as wq

    docnum = next(iter(searcher.docs_for_query(wq.Term("id", item_id))), None)
    if docnum is None:
        raise ItemNotFound(f"no item with id {item_id!r}")
    allowed = set(matching_docs(searcher, q, filters))
    found = near_duplicates(searcher, docnum, threshold, window_days, allowed)
    docs = [docnum, *(d for d, _ in found)]
    reader = searcher.reader()
    titles = load_titles(reader, docs)
    order = sorted(range(len(titles.ids)), key=titles.order_key)
    first = titles.norms[order[0]]
    members = [(titles.docnums[i], float(fuzz.ratio(first, titles.norms[i]))) for i in order]
    return members, len(titles.ids)


def similar_counts(
    searcher: Any, docnums: Iterable[int], threshold: float = DEFAULT_THRESHOLD
) -> dict[int, int]:
    """How many near-duplicates each of some documents has in the whole index."""
    lookup = Lookup(searcher)
    return {d: len(near_duplicates(searcher, d, threshold, lookup=lookup)) for d in docnums}


def group_hits(
    searcher: Any,
    docnums: Sequence[int],
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
) -> list[list[int]]:
    """Fold ranked hits into stories: star clusters among the hits, each in publication
    order (first publisher first), the groups in the order of their best-ranked hit."""
    rank = {d: r for r, d in enumerate(docnums)}
    titles = load_titles(searcher.reader(), docnums)
    pairs = candidate_pairs(titles.norms, titles.times, threshold, window_days)
    order = sorted(range(len(titles.ids)), key=titles.order_key)
    groups = [[titles.docnums[i] for i, _ in c] for c in star_clusters(order, pairs)]
    grouped = {d for g in groups for d in g}
    groups += [[d] for d in docnums if d not in grouped]
    groups.sort(key=lambda g: min(rank[d] for d in g))
    return groups
