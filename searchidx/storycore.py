"""Grouping items into stories: rarity-weighted word overlap, time, related lists.

This module works on plain lists (one entry per item) and knows nothing of the index;
:mod:`searchidx.stories` feeds it from an index and renders results.

Vectors
    Each item is a bag of the words of its normalised title
    (:func:`searchidx.titles.normalize_title`) and, at a lower weight, of its excerpt,
    each weighted by inverse document frequency over the items grouped (so names,
    numbers and other rare words count most) and the vector scaled to unit length.
    Stop words are dropped; words with digits count ``NUMBER_BOOST`` times.

Candidate graph
    Two items are linked when both are dated within ``window_days`` of each other (or
    either is undated) and the cosine of their vectors, plus ``RELATED_BONUS`` when a
    related list says they cover one story, reaches ``EDGE_MIN``. Words found in more
    than ``COMMON_SHARE`` of the items are left out of the overlap (they cannot make a
    story), which keeps the candidate search near linear.

Clusters
    Average-link agglomerative clustering inside each connected component of the
    graph: the two clusters with the highest mean similarity over all their member
    pairs (pairs not linked count as 0) merge while that mean reaches ``threshold``.
    Every member is therefore, on average, as similar as ``threshold`` to the rest of
    its story: no chains of pairwise-similar headlines. Ties are broken by the items'
    keys, so the result does not depend on input order, and a component's clusters
    depend only on that component: re-grouping the components an update touches gives
    what grouping everything again gives.

Boilerplate
    A title whose words, numbers and weekday and month names left out, recur on
    ``BOILERPLATE_DAYS`` or more distinct days ("10 things to know on Friday", "The
    article requested cannot be found") never joins a story.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Mean similarity two clusters need to merge (see tests/bench/stories_bench.py).
DEFAULT_THRESHOLD = 0.5
#: Least similarity of a candidate pair: lower pairs count as 0 in the mean.
EDGE_MIN = 0.3
#: Candidate pairs are at most this many days apart (undated items pair with all).
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
#: Least mean similarity without time of two clusters that merge.
TEXT_FLOOR = 0.2
#: Weight of excerpt words against title words.
EXCERPT_WEIGHT = 0.5
#: Words with digits (numbers, years, prices) count this many times.
NUMBER_BOOST = 1.5
#: How many of an item's rarest words find its candidates ...
KEY_WORDS = 3
#: ... among how many of the latest earlier items having each word.
KEY_RECENT = 20
#: A title template seen on this many distinct days is boilerplate.
BOILERPLATE_DAYS = 4

_DAY = 86_400

STOP_WORDS = frozenset(
    (  # noqa: SIM905
        "a about after against all also am an and any are as at be been before being but by "
        "can could did do does for from had has have he her his how i if in into is it its "
        "just more most my new no not now of off on one or our out over s says said she so "
        "than that the their them then there these they this to too up us was we were what "
        "when where which who why will with would you your"
    ).split()
)
_TEMPLATE_DROP = re.compile(
    r"\b(?:\d+(?:st|nd|rd|th)?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|today|tonight|week|"
    r"weekend|morning|evening)\b"
)


@dataclass(slots=True)
class Entry:
    """One item to group: a stable key (its id), normalised title, normalised excerpt
    words ("" when none), publication time in epoch seconds (None when undated)."""

    key: str
    title: str
    excerpt: str
    time: int | None


def words(norm: str) -> list[str]:
    """The words of a normalised text that count: stop words and single letters out."""
    return [w for w in norm.split() if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]


def template(norm: str) -> str:
    """A title with numbers, weekdays, months and similar date words left out."""
    return " ".join(_TEMPLATE_DROP.sub(" ", norm).split())


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


def document_frequencies(entries: Iterable[Entry]) -> tuple[Counter[str], int]:
    """How many items have each word (title or excerpt), and how many items there are."""
    df: Counter[str] = Counter()
    n = 0
    for e in entries:
        n += 1
        df.update(set(words(e.title)) | set(words(e.excerpt)))
    return df, n


def word_weights(df: Counter[str], n: int) -> dict[str, float]:
    """Each word's rarity weight: smoothed inverse document frequency, numbers boosted."""
    out: dict[str, float] = {}
    for w, c in df.items():
        idf = math.log((n + 1) / (c + 1)) + 1.0
        out[w] = idf * NUMBER_BOOST if any(ch.isdigit() for ch in w) else idf
    return out


def vector(e: Entry, weights: dict[str, float], unseen: float) -> dict[str, float]:
    """The unit-length rarity-weighted vector of one item (``unseen``: weight of a word
    missing from ``weights``)."""
    vec: dict[str, float] = {}
    if e.excerpt:
        for w in words(e.excerpt):
            vec[w] = EXCERPT_WEIGHT * weights.get(w, unseen)
    for w in words(e.title):
        vec[w] = weights.get(w, unseen)
    norm = math.sqrt(sum(v * v for v in vec.values()))
    if not norm:
        return {}
    vec = {w: v / norm for w, v in vec.items()}
    if e.time is not None and TIME_WEIGHT:
        day = e.time // _DAY
        vec[f"@{day}"] = TIME_WEIGHT
        vec[f"@{day - 1}"] = vec[f"@{day + 1}"] = TIME_WEIGHT / 2
    return vec


def time_similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """The part of two vectors' dot product that their days give."""
    return sum(v * b.get(w, 0.0) for w, v in a.items() if w[0] == "@")


def dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[w] for w, v in a.items() if w in b)


def key_words(vec: dict[str, float], df: Counter[str], count: int) -> list[str]:
    """An item's ``count`` rarest words that another item has too: the ones its
    candidates are found by."""
    return sorted((w for w in vec if df.get(w, 0) > 1), key=lambda w: (df[w], w))[:count]


def candidate_edges(
    vectors: Sequence[dict[str, float]],
    times: Sequence[int | None],
    keys: Sequence[str],
    df: Counter[str],
    window_days: float,
    links: Iterable[tuple[int, int]] = (),
    skip: set[int] | frozenset[int] = frozenset(),
) -> dict[tuple[int, int], float]:
    """Candidate pairs (i < j) with their similarity. Each item is paired with the
    ``KEY_RECENT`` latest earlier items within the window that share one of its
    ``KEY_WORDS`` rarest words, and kept when the cosine reaches ``EDGE_MIN``; pairs in
    ``links`` get RELATED_BONUS on top and are kept whatever their text."""
    window = int(window_days * _DAY)
    order = sorted(
        (i for i in range(len(vectors)) if i not in skip and vectors[i]),
        key=lambda i: (times[i] is None, times[i] or 0, keys[i]),
    )
    postings: dict[str, list[int]] = defaultdict(list)  # in ``order``
    stamps: dict[str, list[int]] = defaultdict(list)
    edges: dict[tuple[int, int], float] = {}
    for i in order:
        t = times[i]
        seen: set[int] = set()
        vi = vectors[i]
        for w in key_words(vi, df, KEY_WORDS):
            ps = postings[w]
            if ps:
                lo = len(ps) - KEY_RECENT
                if t is not None:
                    lo = max(lo, bisect.bisect_left(stamps[w], t - window))
                for j in ps[max(lo, 0) :]:
                    if j not in seen:
                        seen.add(j)
                        s = dot(vi, vectors[j])
                        if s >= EDGE_MIN:
                            edges[(j, i) if j < i else (i, j)] = s
            ps.append(i)
            stamps[w].append(-(2**62) if t is None else t)
    for a, b in links:
        if a == b or a in skip or b in skip or not vectors[a] or not vectors[b]:
            continue
        ta, tb = times[a], times[b]
        if ta is not None and tb is not None and abs(ta - tb) > window:
            continue
        pair = (a, b) if a < b else (b, a)
        edges[pair] = dot(vectors[a], vectors[b])
    return edges


def components(n: int, edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (of two or more items) of the graph on ``range(n)``."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def average_link(
    members: Sequence[int],
    vectors: Sequence[dict[str, float]],
    edges: dict[tuple[int, int], float],
    bonus: dict[tuple[int, int], float],
    keys: Sequence[str],
    threshold: float,
) -> list[list[int]]:
    """Average-link clusters of one component (``edges``: its candidate pairs).

    The sum of similarities over all member pairs of two clusters is the dot product of
    their summed vectors, so the mean is exact without storing every pair: the sums of
    clusters joined by a candidate pair are kept and added up on merges (a sum not kept
    is one dot product); related-list bonuses ride on their pairs. Two clusters merge
    when their mean reaches ``threshold`` and the mean without time reaches
    ``TEXT_FLOOR`` (days alone never make a story). Only clusters joined by a candidate
    pair are compared. A cluster is named by its smallest key; merges go best mean
    first, ties by the two names, so results are deterministic."""
    size = {keys[i]: 1 for i in members}
    items = {keys[i]: [i] for i in members}
    sums = {keys[i]: vectors[i] for i in members}  # copied before the first change
    tsums = {keys[i]: {w: v for w, v in vectors[i].items() if w[0] == "@"} for i in members}
    psum: dict[str, dict[str, float]] = {keys[i]: {} for i in members}
    ptime: dict[str, dict[str, float]] = {keys[i]: {} for i in members}
    for i, j in edges:
        a, b = keys[i], keys[j]
        s = dot(vectors[i], vectors[j]) + bonus.get((i, j), 0.0)
        t = dot(tsums[a], tsums[b])
        psum[a][b] = psum[b][a] = s
        ptime[a][b] = ptime[b][a] = t
    version = dict.fromkeys(size, 0)
    heap: list[tuple[float, str, str, int, int]] = []

    def consider(a: str, b: str) -> None:
        pairs = size[a] * size[b]
        s = psum[a][b]
        if s >= threshold * pairs and s - ptime[a][b] >= TEXT_FLOOR * pairs:
            lo, hi = (a, b) if a < b else (b, a)
            heap.append((-s / pairs, lo, hi, version[lo], version[hi]))

    for a, row in psum.items():
        for b in row:
            if a < b:
                consider(a, b)
    heapq.heapify(heap)
    while heap:
        _, keep, gone, vk, vg = heapq.heappop(heap)  # keep < gone
        if version.get(keep) != vk or version.get(gone) != vg:
            continue  # stale: one of them has changed since
        for table, vecs in ((psum, sums), (ptime, tsums)):
            row_k, row_g = table[keep], table.pop(gone)
            row_k.pop(gone, None)
            row_g.pop(keep, None)
            for c, s in row_g.items():
                known = row_k.get(c)
                if known is None:
                    known = dot(vecs[keep], vecs[c])
                row_k[c] = known + s
                row_c = table[c]
                row_c.pop(gone, None)
                row_c[keep] = row_k[c]
            for c in row_k.keys() - row_g.keys():
                s = row_k[c] + dot(vecs[gone], vecs[c])
                row_k[c] = s
                table[c][keep] = s
        for vecs in (sums, tsums):
            merged = dict(vecs[keep]) if size[keep] == 1 else vecs[keep]
            for w, v in vecs.pop(gone).items():
                merged[w] = merged.get(w, 0.0) + v
            vecs[keep] = merged
        size[keep] += size.pop(gone)
        items[keep] += items.pop(gone)
        del version[gone]
        version[keep] += 1
        for c in psum[keep]:
            before = len(heap)
            consider(keep, c)
            if len(heap) > before:
                heapq.heappush(heap, heap.pop())
    return [sorted(v) for v in items.values() if len(v) > 1]


def group(
    entries: Sequence[Entry],
    links: Iterable[tuple[int, int]] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float = DEFAULT_WINDOW_DAYS,
    df: Counter[str] | None = None,
    n: int | None = None,
) -> list[list[int]]:
    """Stories of two or more items among ``entries`` (positions), each sorted by
    position. ``df``/``n`` are the word statistics to weigh by (default: of ``entries``)."""
    if df is None or n is None:
        df, n = document_frequencies(entries)
    weights = word_weights(df, n)
    unseen = math.log(n + 1) + 1.0
    vectors = [vector(e, weights, unseen) for e in entries]
    skip = boilerplate(entries)
    keys = [e.key for e in entries]
    links = list(links)
    edges = candidate_edges(vectors, [e.time for e in entries], keys, df, window_days, links, skip)
    bonus: dict[tuple[int, int], float] = {}
    for a, b in links:
        pair = (a, b) if a < b else (b, a)
        if pair in edges and a != b:
            text = edges[pair] - time_similarity(vectors[a], vectors[b])
            bonus[pair] = RELATED_BONUS * min(1.0, text / LINK_FULL) ** 2
    return cluster_components(len(entries), vectors, edges, bonus, keys, threshold)


def cluster_components(
    n: int,
    vectors: Sequence[dict[str, float]],
    edges: dict[tuple[int, int], float],
    bonus: dict[tuple[int, int], float],
    keys: Sequence[str],
    threshold: float,
) -> list[list[int]]:
    """Average-link clusters of every connected component of the candidate graph."""
    out: list[list[int]] = []
    comps = components(n, edges)
    where = {i: c for c, comp in enumerate(comps) for i in comp}
    parts: list[dict[tuple[int, int], float]] = [{} for _ in comps]
    for pair, s in edges.items():
        parts[where[pair[0]]][pair] = s
    for comp, part in zip(comps, parts, strict=True):
        out += average_link(comp, vectors, part, bonus, keys, threshold)
    return out
