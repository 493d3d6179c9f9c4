"""Grouping items into stories: rarity-weighted word overlap, time, related lists.

This module works on plain lists (one entry per item) and knows nothing of the index;
:mod:`searchidx.stories` feeds it from an index and renders results.

Vectors
    Each item is a bag of the words of its normalised title
    (:func:`searchidx.titles.normalize_title`) and, at a lower weight, of its excerpt,
    each weighted by inverse document frequency over the items grouped (so names,
    numbers and other rare words count most) and the vector scaled to unit length.
    Stop words are dropped; words with digits count ``NUMBER_BOOST`` times. The counts
    are rounded down to steps of ``2 ** (1/4)`` (:func:`coarse`), and a rare word weighs
    as a word of a few items (:func:`weighed_count`), so that a few more items leave
    nearly every weight, and so nearly every vector, as it was. An item of a block of
    days (see Blocks) is weighed over the dated items of its block and of the blocks
    just before it (its view, :func:`views_of`; an undated item over every item), so
    that items added to the newest days, or a new week, as a collection grows, leave
    every older item's vector as it was, and a change in an older week leaves the
    vectors of the weeks past those just after it as they were, however many.

Similarity
    The cosine of two items' vectors, plus what their days give (``TIME_WEIGHT``: the
    same day, one or two days apart), plus ``RELATED_BONUS`` when a related list says
    they cover one story and their texts back it.

Candidate graph
    Each item is compared with the ``KEY_RECENT`` latest earlier items within
    ``window_days`` that share one of its ``KEY_WORDS`` rarest words; pairs whose cosine
    reaches ``EDGE_MIN`` and whose texts share ``EDGE_WORDS`` words are linked (no two
    clusters can merge without such a pair), and
    pairs a related list names are linked whatever their text.

Clusters
    Average-link agglomerative clustering: the two clusters with the highest mean
    similarity over all their member pairs merge while that mean reaches ``threshold``
    and its part without time ``TEXT_FLOOR``. Every member is therefore, on average, as
    similar as ``threshold`` to the rest of its story: no chains of pairwise-similar
    headlines. Ties are broken by the items' keys, so the result does not depend on
    input order.

Blocks
    Items are clustered in blocks of ``BLOCK_DAYS`` days (undated items in a block of
    their own); then, around each boundary between two blocks, the items of candidate
    pairs across it as similar as ``threshold`` (or named by a related list) are
    clustered again, from single items, beside the rest of their stories (as one
    cluster each), and the result replaces those stories. A
    block's stories depend only on its items (and the word weights), a boundary's only
    on its two blocks: re-grouping the parts an update touches gives what grouping
    everything again gives (:func:`group_parts` with ``kept``; which parts an update
    touches is :mod:`searchidx.storystate`'s business).

Boilerplate
    A title whose words, numbers and weekday and month names left out, recur on
    ``BOILERPLATE_DAYS`` or more distinct days ("10 things to know on Friday", "The
    article requested cannot be found") never joins a story.
"""

from __future__ import annotations

import bisect
import heapq
import math
import multiprocessing as mp
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

#: Mean similarity two clusters need to merge (see tests/bench/stories_bench.py).
DEFAULT_THRESHOLD = 0.5
#: Least cosine (text alone) of a candidate pair. Two clusters can only merge when some
#: pair of their members reaches TEXT_FLOOR, so pairs below it need not be edges; the
#: graph then links items by what they say, not by their day.
EDGE_MIN = TEXT_FLOOR = 0.2
#: Words two items' texts must share to be a candidate pair (unless a related list
#: names them): one word, however rare, is a coincidence ("Lohan offered $1m book deal"
#: and "Colorado raises $2M in first month of marijuana taxes" share "million").
EDGE_WORDS = 2
#: Candidate pairs are at most this many days apart (undated items pair with undated items).
DEFAULT_WINDOW_DAYS = 3.0
#: Added to the similarity of two items a related list names as one story.
RELATED_BONUS = 0.35
#: ... in full when their cosine reaches this, by the square of the share below: a related list's
#: claim that the texts do not back (a shared topic word at most) counts for little.
LINK_FULL = 0.15
#: Time at the scale of days, as three extra dimensions (the day, half on each side),
#: so that it enters the mean similarity of clusters: the square of this is added to
#: the similarity of two items of one day, 2/3 of it a day apart, 1/6 two days apart.
TIME_WEIGHT = 0.55
#: Weight of excerpt words against title words.
EXCERPT_WEIGHT = 0.5
#: Words with digits (numbers, years, prices) count this many times.
NUMBER_BOOST = 1.5
#: Items are clustered in blocks of this many days (counted from 1970-01-01), then
#: stories are joined across each boundary between neighbouring blocks.
BLOCK_DAYS = 7
#: Fewer items than this to cluster are clustered in one process whatever ``jobs`` says.
PARALLEL_MIN_ITEMS = 20_000
#: Word counts are rounded down to a step of 2 ** (1/4) before weighing (see ``coarse``).
STEPS_PER_DOUBLING = 4
#: A word in fewer items than one in RARE_SHARE, or than RARE_FLOOR, weighs as one in
#: that many (see ``weighed_count``).
RARE_SHARE = 1024
RARE_FLOOR = 32
#: How many of an item's rarest words find its candidates ...
KEY_WORDS = 3
#: ... among how many of the latest earlier items having each word.
KEY_RECENT = 20
#: An item's view (see ``Counts``) is its block and the blocks before it back until it
#: holds this many items; when every block up to its own holds fewer, it takes in the
#: blocks after its own until it does. (On the sample of tests/bench/stories_bench.py,
#: about 3,500 headlines a week, P and R at the default threshold: 20,000 items, 0.916
#: and 0.407; 30,000, 0.914 and 0.421; 40,000, 0.914 and 0.428; 50,000, 0.914 and 0.429;
#: 60,000, 0.914 and 0.427; views of every block up to their own, 0.913 and 0.425.)
VIEW_MIN = 40_000
#: A title template seen on this many distinct days is boilerplate.
BOILERPLATE_DAYS = 4

_DAY = 86_400

#: A block of days: days since 1970-01-01 divided by BLOCK_DAYS (None: undated items).
Block = int | None

STOP_WORDS = frozenset(
    (  # noqa: SIM905
        "a about after against all also am an and any are as at be been before being but by "
        "can could did do does for from had has have he her his how i if in into is it its "
        "just more most my new no not now of off on one or our out over s says said she so "
        "than that the their them then there these they this to too up us was we were what "
        "when where which who why will with would you your"
    ).split()
)
_MONTHS = frozenset(
    (  # noqa: SIM905
        "january february march april may june july august september october november "
        "december jan feb mar apr jun jul aug sep sept oct nov dec"
    ).split()
)
_DATE_WORDS = _MONTHS | frozenset(
    (  # noqa: SIM905
        "monday tuesday wednesday thursday friday saturday sunday today tonight week "
        "weekend morning evening"
    ).split()
)
_ORDINALS = frozenset(("st", "nd", "rd", "th"))


@dataclass(slots=True)
class Entry:
    """One item to group: a stable key (its id), normalised title, normalised excerpt
    words ("" when none), publication time in epoch seconds (None when undated)."""

    key: str
    title: str
    excerpt: str
    time: int | None


def words(norm: str) -> list[str]:
    """The words of a normalised text that count: stop words and single letters out, and
    dates: weekday and month names and the like, and numbers next to a month name (the
    day and year of "March 10, 2014"), which the days of items say better ("Stock Market
    News for March 10, 2014" and "News in Pictures - 10 March, 2014" are not one story)."""
    toks = norm.split()
    months = [k for k, w in enumerate(toks) if w in _MONTHS]
    out = []
    for k, w in enumerate(toks):
        if w in STOP_WORDS or not (w[1:] or w.isdigit()) or w in _DATE_WORDS:
            continue
        if months and w.isdecimal() and any(abs(k - m) <= 2 for m in months):
            continue
        out.append(w)
    return out


def template(norm: str) -> str:
    """A title with numbers, weekdays, months and similar date words left out."""
    return " ".join(w for w in norm.split() if not _date_word(w))


def _date_word(word: str) -> bool:
    """Whether a word of a normalised title is a number ("12", "3rd") or a date word."""
    if word.isdecimal():
        return True
    return word in _DATE_WORDS or (word[-2:] in _ORDINALS and word[:-2].isdecimal())


def boilerplate(entries: Sequence[Entry]) -> set[int]:
    """Positions of items whose title template recurs on BOILERPLATE_DAYS distinct days."""
    days: dict[str, set[int]] = defaultdict(set)
    keys: list[str] = []
    for e in entries:
        t = template(e.title)
        keys.append(t)
        if t and e.time is not None:
            days[t].add(e.time // _DAY)
    bad = {t for t, d in days.items() if len(d) >= BOILERPLATE_DAYS}
    return {i for i, t in enumerate(keys) if not t or t in bad}


def coarse(count: int) -> float:
    """``count`` rounded down to a power of ``2 ** (1 / STEPS_PER_DOUBLING)``: the counts
    the weights are made of, so that one more item rarely changes any weight."""
    if count <= 1:
        return float(count)
    return math.pow(2.0, math.floor(math.log2(count) * STEPS_PER_DOUBLING) / STEPS_PER_DOUBLING)


def weighed_count(df: int, n: int) -> float:
    """The count a word in ``df`` of ``n`` items is weighed (and looked up as a
    candidate's key) by: coarse, and at least one in ``RARE_SHARE`` of the items (coarse)
    up to ``RARE_FLOOR``. Below that, a word is rare enough that its exact count says
    little, and weighing by it would change the vector of every item having a rare word
    each time one more item has it. (On the UCI sample of
    ``tests/bench/stories_bench.py``, with every item weighed over every item, no
    floor: P 0.907, R 0.410; a floor of 8: 0.906, 0.417; 16: 0.905, 0.424; 32: 0.903,
    0.435. Weighed over views, which hold fewer items, a floor of 16: 0.914, 0.414;
    24: 0.915, 0.421; 32: 0.913, 0.425.)"""
    floor = min(RARE_FLOOR, coarse(n) / RARE_SHARE)
    return max(coarse(df), floor)


def word_weight(word: str, df: int, n: int) -> float:
    """A word's rarity weight: smoothed inverse document frequency of the coarse counts
    (:func:`weighed_count`), numbers boosted."""
    idf = math.log((coarse(n) + 1) / (weighed_count(df, n) + 1)) + 1.0
    return idf * NUMBER_BOOST if any(ch.isdigit() for ch in word) else idf


@dataclass(slots=True)
class Counts:
    """A collection's word counts, which its items are weighed by: how many items of
    each block of days have each word (``df``), and how many items each block has
    (``sizes``). An item of a dated block is weighed over the dated items of its view
    (:func:`views_of`), an undated item over every item."""

    df: Mapping[Block, Mapping[str, int]]
    sizes: Mapping[Block, int]
    #: How many dated items have each word, when given: the undated block's view (every
    #: item) reads these and its own counts instead of every block's.
    totals: Mapping[str, int] | None = None
    #: The dated blocks in order and :func:`views_of` ``sizes`` (made by :meth:`view`).
    _views: tuple[list[int], dict[Block, int], dict[Block, int], dict[Block, int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, found: Sequence[set[str]], blocks: Sequence[Block]) -> Counts:
        """The counts of items having the words ``found``, in ``blocks``."""
        df: dict[Block, Counter[str]] = defaultdict(Counter)
        for ws, b in zip(found, blocks, strict=True):
            df[b].update(ws)
        return cls(df, Counter(blocks))

    def view(self, b: Block, words: Iterable[str]) -> tuple[dict[str, int], int]:
        """The counts of ``words`` over block ``b``'s view, and how many items its view
        has (the views worked out once, when the first is asked for)."""
        if self._views is None:
            self._views = (sorted(c for c in self.sizes if c is not None), *views_of(self.sizes))
        dated, starts, ends, items = self._views
        seen: list[Block] = [*dated, None]
        if b is not None:
            seen = seen[bisect.bisect_left(dated, starts[b]) : bisect.bisect_right(dated, ends[b])]
        elif self.totals is not None:
            seen = [None]
        tables = [t for c in seen if (t := self.df.get(c))]
        if b is None and self.totals is not None:
            tables.append(self.totals)
        return {w: sum([t.get(w, 0) for t in tables]) for w in words}, items[b]


def views_of(
    sizes: Mapping[Block, int],
) -> tuple[dict[Block, int], dict[Block, int], dict[Block, int]]:
    """For blocks of ``sizes`` items: the first and last block of each dated block's
    view, and how many items each block's view has (the undated block's: every item).

    A dated block's view is the block and those before it back until it holds
    ``VIEW_MIN`` items. When every block up to its own holds fewer, it is every block
    from the first up to the one at which the collection reaches ``VIEW_MIN`` (every
    block when it never does). So the views that take in a block are those of the
    blocks after it up to ``VIEW_MIN`` items on (and of the first blocks): a change in
    one week changes the views of the weeks just after it at most, however long the
    collection."""
    dated = sorted(b for b in sizes if b is not None)
    through: list[int] = []  # the items of the dated blocks up to each
    for c in dated:
        through.append((through[-1] if through else 0) + sizes[c])
    # the first block whose prefix holds VIEW_MIN items (the last when none does)
    full = min(bisect.bisect_left(through, VIEW_MIN), len(dated) - 1)
    starts: dict[Block, int] = {}
    ends: dict[Block, int] = {}
    items: dict[Block, int] = {}
    for i, c in enumerate(dated):
        if through[i] < VIEW_MIN:
            lo, hi = 0, full
        else:  # the latest block back to which the view holds VIEW_MIN items
            lo, hi = min(bisect.bisect_right(through, through[i] - VIEW_MIN), i), i
        starts[c], ends[c] = dated[lo], dated[hi]
        items[c] = through[hi] - (through[lo - 1] if lo else 0)
    items[None] = sum(sizes.values())
    return starts, ends, items


class _Prepared:
    """The items as numbers: word ids (in word order), unit text vectors, days. With
    ``every`` False, a vector is made only when :meth:`fill` is asked for its item (a
    regrouping clusters again only the parts an update touched); with ``counts``, words
    are weighed by a whole collection's counts instead of these items'.

    An item's words are weighed over its block's view (see :class:`Counts`):
    :attr:`weight` and :attr:`rank` hold, for each block filled so far, the weights of
    its items' words and the order their candidates are looked up in (rarest first)."""

    __slots__ = (
        "_block",
        "_counts",
        "_done",
        "_items",
        "_toks",
        "_wid",
        "days",
        "found_by",
        "keys",
        "rank",
        "vectors",
        "vocab",
        "weight",
        "words",
    )

    def __init__(
        self, entries: Sequence[Entry], every: bool = True, counts: Counts | None = None
    ) -> None:
        toks: list[tuple[list[str], list[str]]] = []
        every_word: set[str] = set()
        for e in entries:
            # one string per word, not one per word of each item (a few hundred MB less
            # for the items of a whole index)
            title = list(map(sys.intern, words(e.title)))
            excerpt = list(map(sys.intern, words(e.excerpt))) if e.excerpt else []
            toks.append((title, excerpt))
            every_word.update(title, excerpt)
        n = len(entries)
        self.days = [None if e.time is None else e.time // _DAY for e in entries]
        blocks: list[Block] = [None if d is None else d // BLOCK_DAYS for d in self.days]
        if counts is None:  # these items are the whole collection
            counts = Counts.of([set(t).union(x) for t, x in toks], blocks)
        self._counts = counts
        self._block = blocks
        vocab = sorted(every_word)
        del every_word
        self._wid = {w: i for i, w in enumerate(vocab)}
        self._items: dict[Block, list[int]] = defaultdict(list)
        for k, b in enumerate(blocks):
            self._items[b].append(k)
        #: By block, worked out when one of its items is first filled: each word's
        #: weight, and its place when candidates are looked up (None: no other item of
        #: the view has it, so it finds no candidate).
        self.weight: dict[Block, dict[int, float]] = {}
        self.rank: dict[Block, dict[int, tuple[float, int] | None]] = {}
        self._toks = toks
        self.vocab = vocab
        #: Whether each item has a word that counts (its vector is not empty).
        self.words = [bool(t or x) for t, x in toks]
        self.vectors: list[dict[int, float]] = [_NO_VECTOR] * n
        #: The words each item's candidates are looked up by (made with its vector).
        self.found_by: list[list[int]] = [[]] * n
        self._done = bytearray(n)
        self.keys = [e.key for e in entries]
        if every:
            self.fill(range(n))

    def _weigh(self, b: Block) -> None:
        """Work out the weights and ranks of the words of block ``b``'s items over its
        view (when a vector of it is first made: a grouping that runs blocks in other
        processes works them out there, and a regrouping for the blocks it clusters)."""
        wanted: set[str] = set()
        for k in self._items[b]:
            title, excerpt = self._toks[k]
            wanted.update(title, excerpt)
        wid = self._wid
        df, items = self._counts.view(b, wanted)
        self.weight[b] = {wid[w]: word_weight(w, d, items) for w, d in df.items()}
        self.rank[b] = {
            wid[w]: (weighed_count(d, items), wid[w]) if d > 1 else None for w, d in df.items()
        }

    def fill(self, items: Iterable[int]) -> None:
        """Make the vectors (and the words candidates are found by) of ``items`` that
        are not made yet."""
        wid, done, vectors, blocks = self._wid, self._done, self.vectors, self._block
        sqrt = math.sqrt
        for k in items:
            if done[k]:
                continue
            b = blocks[k]
            if b not in self.weight:
                self._weigh(b)
            weight = self.weight[b]
            title, excerpt = self._toks[k]
            vec: dict[int, float] = {}
            for w in excerpt:
                i = wid[w]
                vec[i] = EXCERPT_WEIGHT * weight[i]
            for w in title:
                i = wid[w]
                vec[i] = weight[i]
            norm = sqrt(sum([v * v for v in vec.values()]))
            vectors[k] = {w: v / norm for w, v in vec.items()} if norm else {}
            self.found_by[k] = key_words(vec, self.rank[b])
            done[k] = 1


#: The vector of an item not made yet (never changed: a made vector replaces it).
_NO_VECTOR: dict[int, float] = {}


#: Time similarity of two items by how many days apart they are (see TIME_WEIGHT).
_TIME_SIM = (1.5 * TIME_WEIGHT**2, TIME_WEIGHT**2, 0.25 * TIME_WEIGHT**2)


def _time_vector(day: int | None) -> dict[int, float]:
    if day is None or not TIME_WEIGHT:
        return {}
    return {day: TIME_WEIGHT, day - 1: TIME_WEIGHT / 2, day + 1: TIME_WEIGHT / 2}


def time_similarity(a: int | None, b: int | None) -> float:
    """The similarity two items get from their days (0 when either is undated)."""
    if a is None or b is None or not TIME_WEIGHT:
        return 0.0
    gap = abs(a - b)
    return _TIME_SIM[gap] if gap < 3 else 0.0


def dot(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    s = 0.0
    for w, v in a.items():
        o = b.get(w)
        if o is not None:
            s += v * o
    return s


def key_words(vector: dict[int, float], rank: Mapping[int, tuple[float, int] | None]) -> list[int]:
    """The words an item's candidates are looked up by: its ``KEY_WORDS`` first words by
    ``rank`` (rarest first), among those another item has (their rank is not None)."""
    ranked = [(r, w) for w in vector if (r := rank[w]) is not None]
    ranked.sort()
    return [w for _, w in ranked[:KEY_WORDS]]


def _shares(a: dict[int, float], b: dict[int, float], n: int) -> bool:
    """Whether two vectors have ``n`` words in common."""
    if len(b) < len(a):
        a, b = b, a
    found = 0
    for w in a:
        if w in b:
            found += 1
            if found >= n:
                return True
    return False


def candidate_edges(
    members: Iterable[int],
    vectors: Sequence[dict[int, float]],
    times: Sequence[int | None],
    keys: Sequence[str],
    found_by: Sequence[Sequence[int]],
    window_days: float,
    links: Iterable[tuple[int, int]] = (),
    edge_min: float = EDGE_MIN,
) -> dict[tuple[int, int], float]:
    """Candidate pairs (i < j) among ``members`` with the cosine of their vectors. Each
    item is paired with the ``KEY_RECENT`` latest earlier items (by time, then key)
    within the window that share one of the words it is ``found_by`` (see
    :func:`key_words`), and kept when the cosine reaches ``edge_min`` and their texts
    share ``EDGE_WORDS`` words; pairs in ``links`` are kept whatever their text."""
    window = int(window_days * _DAY)
    order = sorted(
        (i for i in members if vectors[i]),
        key=lambda i: (times[i] is None, times[i] or 0, keys[i]),
    )
    postings: dict[int, list[int]] = defaultdict(list)  # in ``order``
    stamps: dict[int, list[int]] = defaultdict(list)
    edges: dict[tuple[int, int], float] = {}
    for i in order:
        t = times[i]
        seen: set[int] = set()
        vi = vectors[i]
        for w in found_by[i]:
            ps = postings[w]
            if ps:
                lo = len(ps) - KEY_RECENT
                if t is not None:
                    lo = max(lo, bisect.bisect_left(stamps[w], t - window))
                for j in ps[max(lo, 0) :]:
                    if j not in seen:
                        seen.add(j)
                        vj = vectors[j]
                        s = dot(vi, vj)
                        if s >= edge_min and _shares(vi, vj, EDGE_WORDS):
                            edges[(j, i) if j < i else (i, j)] = s
            ps.append(i)
            stamps[w].append(-(2**62) if t is None else t)
    for a, b in links:
        if a == b or not vectors[a] or not vectors[b]:
            continue
        ta, tb = times[a], times[b]
        if ta is not None and tb is not None and abs(ta - tb) > window:
            continue
        pair = (a, b) if a < b else (b, a)
        if pair not in edges:
            edges[pair] = dot(vectors[a], vectors[b])
    return edges


_K = TypeVar("_K", int, str)


def components(edges: Iterable[tuple[_K, _K]]) -> list[list[_K]]:
    """Connected components of the graph the edges make, each sorted."""
    parent: dict[_K, _K] = {}

    def find(x: _K) -> _K:
        root = x
        while (up := parent.setdefault(root, root)) != root:
            root = up
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[_K, list[_K]] = defaultdict(list)
    for i in sorted(parent):
        groups[find(i)].append(i)
    return list(groups.values())


def split(
    edges: dict[tuple[int, int], float],
) -> list[tuple[list[int], dict[tuple[int, int], float]]]:
    """The connected components of the graph, each with its own edges."""
    comps = components(edges)
    where = {i: c for c, comp in enumerate(comps) for i in comp}
    parts: list[dict[tuple[int, int], float]] = [{} for _ in comps]
    for pair, s in edges.items():
        parts[where[pair[0]]][pair] = s
    return list(zip(comps, parts, strict=True))


def average_link(
    start: Sequence[Sequence[int]],
    vectors: Sequence[dict[int, float]],
    days: Sequence[int | None] | None,
    edges: dict[tuple[int, int], float],
    bonus: dict[tuple[int, int], float],
    keys: Sequence[str],
    threshold: float,
) -> list[list[int]]:
    """Average-link clustering from the clusters ``start`` (lists of items; singletons
    to cluster from scratch), where ``edges`` are candidate pairs with their cosine
    (``days`` None: no time). Returns the clusters of two or more items.

    The sum of similarities over all member pairs of two clusters is the dot product of
    their summed vectors (text, and days as three dimensions a day), so the mean is
    exact without storing every pair: the sums of clusters joined by a candidate pair
    are kept and added up on merges (a sum not kept is one dot product); related-list
    bonuses ride on their pairs. Two clusters merge when their mean reaches
    ``threshold`` and the mean without time reaches ``TEXT_FLOOR`` (days alone never
    make a story). Only clusters joined by a candidate pair are compared. A cluster is
    named by its smallest key; merges go best mean first, ties by the two names, so
    results are deterministic."""
    by_key = keys.__getitem__
    start = sorted((sorted(c, key=by_key) for c in start), key=lambda c: by_key(c[0]))
    m = len(start)
    local = {g: k for k, c in enumerate(start) for g in c}
    size = [len(c) for c in start]
    items: list[list[int]] = [list(c) for c in start]
    day = [None if days is None or len(c) > 1 else days[c[0]] for c in start]
    sums: list[dict[int, float]] = []  # a singleton's is its vector, copied on change
    tsums: list[dict[int, float]] = []
    for members in start:
        if len(members) == 1:
            sums.append(vectors[members[0]])
            tsums.append(_time_vector(None if days is None else days[members[0]]))
            continue
        total: dict[int, float] = {}
        ttotal: dict[int, float] = {}
        for g in members:
            for w, v in vectors[g].items():
                total[w] = total.get(w, 0.0) + v
            if days is not None:
                for w, v in _time_vector(days[g]).items():
                    ttotal[w] = ttotal.get(w, 0.0) + v
        sums.append(total)
        tsums.append(ttotal)
    rows: list[dict[int, float]] = [{} for _ in range(m)]  # text (and bonus) sums
    trows: list[dict[int, float]] = [{} for _ in range(m)]  # time sums
    bonuses: dict[tuple[int, int], float] = defaultdict(float)
    for (i, j), s in edges.items():
        a, b = local[i], local[j]
        if a == b:
            continue
        if size[a] == 1 and size[b] == 1:
            rows[a][b] = rows[b][a] = s + bonus.get((i, j), 0.0)
            trows[a][b] = trows[b][a] = time_similarity(day[a], day[b])
        else:
            bonuses[(a, b) if a < b else (b, a)] += bonus.get((i, j), 0.0)
    for (a, b), extra in bonuses.items():
        rows[a][b] = rows[b][a] = dot(sums[a], sums[b]) + extra
        trows[a][b] = trows[b][a] = dot(tsums[a], tsums[b])
    version = [0] * m
    heap: list[tuple[float, int, int, int, int]] = []
    floor = TEXT_FLOOR
    for a in range(m):
        ra, ta = rows[a], trows[a]
        for b, s in ra.items():
            pairs = size[a] * size[b]
            if a < b and s >= floor * pairs and s + ta[b] >= threshold * pairs:
                heap.append((-(s + ta[b]) / pairs, a, b, 0, 0))
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        _, keep, gone, vk, vg = pop(heap)  # keep < gone
        if version[keep] != vk or version[gone] != vg:
            # One of them has changed since: its entry is still an upper bound of
            # their mean (see below); if both are alive, the pair goes back exact.
            if version[keep] >= 0 and version[gone] >= 0:
                s, t = rows[keep][gone], trows[keep][gone]
                pairs = size[keep] * size[gone]
                if s >= floor * pairs and s + t >= threshold * pairs:
                    push(heap, (-(s + t) / pairs, keep, gone, version[keep], version[gone]))
            continue
        rk, rg, tk, tg = rows[keep], rows[gone], trows[keep], trows[gone]
        del rk[gone], rg[keep], tk[gone], tg[keep]
        sk, sg, tsk, tsg = sums[keep], sums[gone], tsums[keep], tsums[gone]
        before = size[keep]
        sz = before + size[gone]
        v = version[keep] + 1
        # The mean of the merged cluster with a neighbour lies between its means with
        # the two parts, so an entry of the pair (keep, c) already in the heap bounds
        # it from above unless it rises: only a rise, or a pair new to ``keep``, is
        # pushed; a stale bound is made exact when it comes up (above).
        for c in rk:
            s0, t0 = rk[c], tk[c]
            shared = rg.get(c)
            if shared is None:
                s, t = s0 + dot(sg, sums[c]), t0 + dot(tsg, tsums[c])
            else:
                s, t = s0 + shared, t0 + tg[c]
            rk[c], tk[c] = s, t
            rows[c][keep], trows[c][keep] = s, t
            sc = size[c]
            pairs = sz * sc
            if s >= floor * pairs and s + t >= threshold * pairs:
                old = before * sc
                mean = (s + t) / pairs
                if s0 < floor * old or s0 + t0 < threshold * old or mean > (s0 + t0) / old:
                    if keep < c:
                        push(heap, (-mean, keep, c, v, version[c]))
                    else:
                        push(heap, (-mean, c, keep, version[c], v))
        for c, sg_c in rg.items():
            rc, tc = rows[c], trows[c]
            del rc[gone]
            tg_c = tc.pop(gone)
            if c in rk:
                continue
            s, t = dot(sk, sums[c]) + sg_c, dot(tsk, tsums[c]) + tg_c
            rk[c], tk[c] = s, t
            rc[keep], tc[keep] = s, t
            pairs = sz * size[c]
            if s >= floor * pairs and s + t >= threshold * pairs:
                if keep < c:
                    push(heap, (-(s + t) / pairs, keep, c, v, version[c]))
                else:
                    push(heap, (-(s + t) / pairs, c, keep, version[c], v))
        for vecs, mine, theirs in ((sums, sk, sg), (tsums, tsk, tsg)):
            merged = dict(mine) if before == 1 else mine
            for w, x in theirs.items():
                merged[w] = merged.get(w, 0.0) + x
            vecs[keep] = merged
        sums[gone] = tsums[gone] = rows[gone] = trows[gone] = {}
        size[keep] = sz
        items[keep] += items[gone]
        items[gone] = []
        version[keep] = v
        version[gone] = -1
    return [sorted(v) for v in items if len(v) > 1]


@dataclass(slots=True)
class Part:
    """The stories (lists of positions) of one block of days (``block``), or of the
    region around the boundary after block ``seam`` (``region``: its items, whose
    stories these replace); ``reused`` when taken from an earlier grouping."""

    groups: list[list[int]]
    region: list[int] = field(default_factory=list)
    block: Block = None
    seam: int | None = None
    reused: bool = False


@dataclass(slots=True)
class Kept:
    """Parts of an earlier grouping to take as they are, by item keys: the stories of
    blocks, and the region and stories around the boundary after a block."""

    blocks: dict[Block, list[list[str]]] = field(default_factory=dict)
    seams: dict[int, tuple[list[str], list[list[str]]]] = field(default_factory=dict)


def group(
    entries: Sequence[Entry],
    links: Iterable[tuple[int, int]] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float = DEFAULT_WINDOW_DAYS,
) -> list[list[int]]:
    """Stories of two or more items among ``entries`` (positions), each sorted by
    position, in the order of their first positions."""
    parts = group_parts(entries, links, threshold=threshold, window_days=window_days)
    return stories_of(parts)


def stories_of(parts: Sequence[Part]) -> list[list[int]]:
    """The stories parts make: the blocks' stories, those of a region around a boundary
    replaced by the region's (an item in two regions joins both regions' stories)."""
    return join_parts((p.groups, p.region) for p in parts)


def join_parts(parts: Iterable[tuple[list[list[_K]], list[_K]]]) -> list[list[_K]]:
    """:func:`stories_of` for parts given as (stories, region), of positions or keys:
    each story sorted, stories in the order of their first members. A block's story
    that no region takes meets no other story (a region takes whole stories), so only
    the regions' stories are joined."""
    parts = list(parts)
    replaced = {i for _, region in parts for i in region}
    alone: list[list[_K]] = []
    linked: list[list[_K]] = []
    for groups, region in parts:
        if region:
            linked += groups
        else:
            alone += [sorted(g) for g in groups if g[0] not in replaced]
    # the first with itself too: a story of one item stays one
    joined = components((g[0], i) for g in linked for i in g)
    return sorted(alone + joined, key=lambda g: g[0])


def group_parts(
    entries: Sequence[Entry],
    links: Iterable[tuple[int, int]] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float = DEFAULT_WINDOW_DAYS,
    kept: Kept | None = None,
    counts: Counts | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[Part]:
    """Stories block by block of ``BLOCK_DAYS`` days (undated items in a block of their
    own), then around each boundary between neighbouring blocks: the stories of either
    block having a candidate pair across the boundary (within the window of it) are
    clustered again from single items, as one region, with every candidate pair among
    them, and the region's stories replace theirs.

    A block's stories depend only on its items, their words' weights and the related
    pairs inside it; a boundary's only on its two blocks and the related pairs across
    it. The parts in ``kept`` (an earlier grouping's, whose inputs have not changed
    since) are taken from there instead of being clustered again. With ``counts``,
    ``entries`` are some of a collection's items: words are weighed by its counts and
    boilerplate is left to the caller (every entry given is grouped). With ``jobs``
    over 1, blocks (then boundaries) are clustered by that many processes at once.
    ``progress`` is told ``(done, total)`` as each part is clustered (not the kept
    ones)."""
    work = _Grouping(entries, links, threshold, window_days, counts)
    keys = work.keys
    order = sorted(work.blocks, key=lambda b: (b is None, b or 0))
    kept = kept or Kept()

    def recall(groups: list[list[str]], members: Iterable[int]) -> list[list[int]]:
        pos = {keys[i]: i for i in members}
        return [[pos[k] for k in g] for g in groups]

    parts: dict[Block, Part] = {}
    for b in order:
        if b in kept.blocks:
            parts[b] = Part(recall(kept.blocks[b], work.blocks[b]), [], b, None, True)
    todo = [b for b in order if b not in parts]
    if sum(len(work.blocks[b]) for b in todo) < PARALLEL_MIN_ITEMS:
        jobs = 1
    sides = [b for b in order if b is not None and b + 1 in work.blocks]
    total = len(todo) + sum(b not in kept.seams for b in sides)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    size = {b: len(items) for b, items in work.blocks.items()}
    found = _map(jobs, work, _block_job, todo, size.__getitem__, tick)
    for b, groups in zip(todo, found, strict=True):
        parts[b] = Part(groups, [], b)
    stories = {b: p.groups for b, p in parts.items()}
    seams: dict[int, Part] = {}
    for b in sides:
        if b in kept.seams:
            region_keys, seam_groups = kept.seams[b]
            both = work.blocks[b] + work.blocks[b + 1]
            seams[b] = Part(
                recall(seam_groups, both), recall([region_keys], both)[0], None, b, True
            )
    todo_seams = [b for b in sides if b not in seams]
    args = [(b, stories[b], stories[b + 1]) for b in todo_seams]
    joined = _map(jobs, work, _boundary_job, args, lambda a: size[a[0]] + size[a[0] + 1], tick)
    for b, (new_groups, region) in zip(todo_seams, joined, strict=True):
        seams[b] = Part(new_groups, region, None, b)
    return [parts[b] for b in order] + [seams[b] for b in sides]


class _Grouping:
    """Everything the blocks and boundaries of one grouping are clustered from."""

    def __init__(
        self,
        entries: Sequence[Entry],
        links: Iterable[tuple[int, int]],
        threshold: float,
        window_days: float,
        counts: Counts | None = None,
    ) -> None:
        self.prep = prep = _Prepared(entries, every=False, counts=counts)
        self.keys = prep.keys
        self.times = [e.time for e in entries]
        self.threshold = threshold
        self.window_days = window_days
        skip = boilerplate(entries) if counts is None else set()
        self.blocks: dict[int | None, list[int]] = defaultdict(list)
        self.block_of: dict[int, int | None] = {}
        for i, d in enumerate(prep.days):
            if i not in skip and prep.words[i]:
                b = None if d is None else d // BLOCK_DAYS
                self.blocks[b].append(i)
                self.block_of[i] = b
        self.inner: dict[int | None, list[tuple[int, int]]] = defaultdict(list)
        self.across: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for a, b in links:
            if a == b or a not in self.block_of or b not in self.block_of:
                continue
            ba, bb = self.block_of[a], self.block_of[b]
            if ba == bb:
                self.inner[ba].append((a, b))
            elif ba is not None and bb is not None and abs(ba - bb) == 1:
                self.across[min(ba, bb)].append((a, b))

    def cluster(
        self,
        members: Iterable[int],
        ls: list[tuple[int, int]],
        starts: list[list[int]] | None = None,
    ) -> list[list[int]]:
        """Stories among ``members``: from single items, component by component, or from
        ``starts``."""
        prep = self.prep
        edges = candidate_edges(
            members,
            prep.vectors,
            self.times,
            self.keys,
            prep.found_by,
            self.window_days,
            ls,
        )
        bonus: dict[tuple[int, int], float] = {}
        for a, b in ls:
            pair = (a, b) if a < b else (b, a)
            if pair in edges:
                bonus[pair] = RELATED_BONUS * min(1.0, edges[pair] / LINK_FULL) ** 2
        args = (prep.vectors, prep.days)
        if starts is not None:
            return average_link(starts, *args, edges, bonus, self.keys, self.threshold)
        groups: list[list[int]] = []
        for comp, part in split(edges):
            groups += average_link(
                [[i] for i in comp], *args, part, bonus, self.keys, self.threshold
            )
        return groups

    def block(self, b: int | None) -> list[list[int]]:
        """The stories of one block."""
        self.prep.fill(self.blocks[b])
        return self.cluster(self.blocks[b], self.inner[b])

    def boundary(
        self, b: int, before: list[list[int]], after: list[list[int]]
    ) -> tuple[list[list[int]], list[int]]:
        """The stories around the boundary after block ``b`` (whose stories are
        ``before``, the next block's ``after``), and the items whose stories they
        replace."""
        prep, times, window_days = self.prep, self.times, self.window_days
        prep.fill(self.blocks[b])
        prep.fill(self.blocks[b + 1])
        edge = (b + 1) * BLOCK_DAYS * _DAY
        window = int(window_days * _DAY)
        zone = [i for i in self.blocks[b] if (times[i] or 0) >= edge - window]
        zone += [i for i in self.blocks[b + 1] if (times[i] or 0) < edge + window]
        edges = candidate_edges(zone, prep.vectors, times, self.keys, prep.found_by, window_days)
        block_of, days = self.block_of, prep.days
        # Two stories merge only when some pair of their members is as similar as the
        # threshold on its own (a mean never exceeds its largest term): the items of
        # candidate pairs across the boundary that are, and of pairs a related list
        # names, are clustered again; the rest keep their stories. (A pair that is no
        # candidate is not looked at, here as in the candidate graph.)
        loose = {i for pair in self.across[b] for i in pair}
        for (x, y), s in edges.items():
            if (
                block_of[x] != block_of[y]
                and s + time_similarity(days[x], days[y]) >= self.threshold
            ):
                loose.update((x, y))
        home = {i: g for g in before + after for i in g}
        region = set(loose)
        for i in loose:
            region.update(home.get(i, ()))
        starts = [[i] for i in sorted(loose)]
        rests = {tuple(home[i]) for i in region - loose}
        starts += [[i for i in g if i not in loose] for g in sorted(rests)]
        ls = [
            (x, y)
            for x, y in self.inner[b] + self.inner[b + 1] + self.across[b]
            if x in region and y in region
        ]
        return self.cluster(sorted(region), ls, starts), sorted(region)


#: The grouping that the processes of :func:`_map` work on (inherited when they start).
_WORK: _Grouping | None = None


def _block_job(b: int | None) -> list[list[int]]:
    assert _WORK is not None
    return _WORK.block(b)


def _boundary_job(
    args: tuple[int, list[list[int]], list[list[int]]],
) -> tuple[list[list[int]], list[int]]:
    assert _WORK is not None
    return _WORK.boundary(*args)


_T = TypeVar("_T")
_R = TypeVar("_R")


def _map(
    jobs: int,
    work: _Grouping,
    fn: Callable[[_T], _R],
    items: list[_T],
    cost: Callable[[_T], int],
    tick: Callable[[], None],
) -> list[_R]:
    """``fn`` over ``items``: in this process, or with ``jobs`` forked processes that
    inherit ``work``, handed out costliest first (by ``cost``) so that no process is
    left with a big one at the end. ``tick`` is called as each result comes (in the
    order they were handed out)."""
    global _WORK
    _WORK = work
    try:
        if jobs <= 1 or len(items) <= 1 or "fork" not in mp.get_all_start_methods():
            out: list[_R] = []
            for x in items:
                out.append(fn(x))
                tick()
            return out
        order = sorted(range(len(items)), key=lambda k: -cost(items[k]))
        done: list[_R] = []
        with mp.get_context("fork").Pool(min(jobs, len(items))) as pool:
            for result in pool.imap(fn, [items[k] for k in order], chunksize=1):
                done.append(result)
                tick()
        out = [done[0]] * len(items)
        for k, result in zip(order, done, strict=True):
            out[k] = result
        return out
    finally:
        _WORK = None
