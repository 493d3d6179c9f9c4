"""Ranking a query of words a block of postings at a time.

Whoosh scores a match by walking a tree of matchers one document at a time: for a
word in four text fields, a dozen calls a document, which is most of the time of a
search for a common word (35 ms for the 8,000 items having "apple" among 340,000).
The queries users type most are words and phrases, ANDs and ORs of them, with
filters; these are scored here with Whoosh's own BM25F formula and statistics, from
posting blocks read whole, and ranked as Whoosh ranks them: by score, ties by document number
(or by the sort column, ties by item id, as :func:`by_column` also orders the matches of
the queries only Whoosh runs). Scores are sums of
the same terms as Whoosh's, possibly added in another order, so they may differ from
Whoosh's in the last bits, far below the four decimals shown.

The OR of a search's best partial matches (words with a coordination bonus) is scored
here too, and not as Whoosh does (see :meth:`_Scorer.coordinated`). Anything else
(wildcards, NOT, ranges, boosts, a reader of another kind) is left to Whoosh:
:func:`ranked` then returns None.
``tests/test_whooshdb_ranking.py`` compares both ways on updated indexes.
"""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from whoosh import query as wq
from whoosh.scoring import BM25F, bm25
from whoosh.util.numeric import byte_to_length

from searchidx.whooshdb.bulk import field_lengths, postings_with_weights

Scores = dict[int, float]


class _Unsupported(Exception):
    """A part of the query that only Whoosh runs."""


#: Whether queries are ranked here at all (the benchmark turns it off to measure
#: Whoosh's own ranking of the same queries beside it).
IN_BULK = True

#: A snapshot's numeric column, each segment's values read whole: (first row, values).
Numbers = Callable[[str], list[tuple[int, Any]]]
#: The item ids (as UTF-8 bytes) of some rows of a snapshot, in the order of the rows.
Ids = Callable[[Sequence[int]], list[bytes]]


def ranked(
    searcher: Any,
    q: Any,
    sortedby: str | None,
    reverse: bool,
    limit: int | None,
    numbers: Numbers,
    ids: Ids,
    dates: tuple[int, int] | None = None,
) -> tuple[list[int], list[float | None], int] | None:
    """The top ``limit`` rows (all for None) matching ``q`` and, when given, whose
    ``oldest`` column is within ``dates`` (inclusive), with their scores (None when
    sorted by a column), and the number of matches; or None when the query has a part
    only Whoosh runs."""
    if not IN_BULK or type(searcher.weighting) is not BM25F:
        return None
    try:
        found = _Scorer(searcher, scored=sortedby is None).scores(q)
        if dates is not None:
            lo, hi = dates
            values = _values(numbers, "oldest", found)
            found = {d: s for d, s in found.items() if lo <= values[d] <= hi}
        if sortedby is None:
            rows = _by_score(found, limit)
            return rows, [found[d] for d in rows], len(found)
        rows = by_column(_values(numbers, sortedby, found), reverse, limit, ids)
    except _Unsupported:
        return None
    return rows, [None] * len(rows), len(found)


def _by_score(found: Scores, limit: int | None) -> list[int]:
    """Highest score first, ties in document order (as Whoosh's collectors). For a
    page, only the rows scoring at least the page's lowest score are put in order."""
    if limit is not None and limit < len(found):
        if limit <= 0:
            return []
        floor = heapq.nlargest(limit, found.values())[-1]
        found = {d: s for d, s in found.items() if s >= floor}
    rows = sorted(found, key=lambda d: (-found[d], d))
    return rows if limit is None else rows[:limit]


def by_column(keys: dict[int, Any], reverse: bool, limit: int | None, ids: Ids) -> list[int]:
    """The top ``limit`` rows (all for None) by their column's raw value (largest first
    when ``reverse``), ties by item id: the order of the items, whatever rows an update
    or a rebuild gave them. For a page, only the rows at least as good as the page's
    last one are put in order, and only the ids of rows tied with another are read."""
    if limit is not None and limit < len(keys):
        if limit <= 0:
            return []
        pick = heapq.nlargest if reverse else heapq.nsmallest
        edge = pick(limit, keys.values())[-1]
        keys = {d: v for d, v in keys.items() if (v >= edge if reverse else v <= edge)}
    shared = {v for v, n in Counter(keys.values()).items() if n > 1}
    tied = [d for d in keys if keys[d] in shared] if shared else []
    of = dict(zip(tied, ids(tied), strict=True))
    rows = sorted(keys, key=lambda d: of.get(d, b""))
    rows.sort(key=keys.__getitem__, reverse=reverse)  # stable: ties stay in order of id
    return rows if limit is None else rows[:limit]


def column_order(
    rows: Iterable[int],
    sortedby: str,
    reverse: bool,
    limit: int | None,
    numbers: Numbers,
    ids: Ids,
) -> list[int]:
    """The top ``limit`` of ``rows`` by a numeric column, as :func:`by_column` orders
    them (for the matches of a query that only Whoosh runs)."""
    return by_column(_values(numbers, sortedby, rows, whole=False), reverse, limit, ids)


def _values(numbers: Numbers, name: str, rows: Iterable[int], whole: bool = True) -> dict[int, Any]:
    """The raw values of a numeric column for some rows; with ``whole``, only from a
    column read whole (else _Unsupported), else also from Whoosh's reader of a segment's
    column (such as one of a segment with no value of it)."""
    parts = numbers(name)
    if whole and any(not isinstance(values, array) for _, values in parts):
        raise _Unsupported(name)  # a column not read whole
    bases = [base for base, _ in parts]
    out: dict[int, Any] = {}
    for d in rows:
        base, values = parts[bisect.bisect_right(bases, d) - 1]
        out[d] = values[d - base]
    return out


def _leaves(searcher: Any) -> list[tuple[Any, int]]:
    return [(sub.reader(), base) for sub, base in searcher.leaf_searchers()]


class _Scorer:
    """Scores of a query's parts over every segment of one searcher."""

    def __init__(self, searcher: Any, scored: bool = True) -> None:
        self.searcher = searcher
        self.scored = scored  # without, every score is 0.0: only the rows count
        self.schema = searcher.schema
        self.weighting = searcher.weighting
        self.leaves = _leaves(searcher)
        # Keyed by id(): the rows themselves are kept with it, so the id is not reused.
        self._wanted: dict[tuple[int, int], tuple[Scores, list[int]]] = {}

    def scores(self, q: Any, within: Scores | None = None) -> Scores:
        """The rows matching ``q`` with their scores; only those ``within`` some rows
        when given (the matches so far of an AND: only they can match it)."""
        kind = type(q)
        if kind is wq.Term:
            return self.term(q, within)
        if kind is wq.Or and q.boost == 1.0 and not q.scale and not q.minmatch:
            return _union([self.scores(sub, within) for sub in q.subqueries])
        if kind is wq.Or and q.boost == 1.0 and q.scale and not q.minmatch:
            return self.coordinated(q, within)
        if kind is wq.And and q.boost == 1.0:
            return self.intersection(q.subqueries, within)
        if kind is wq.AndMaybe and q.boost == 1.0:
            must = self.scores(q.a, within)
            maybe = self.scores(q.b, must)
            for d, s in maybe.items():
                must[d] += s
            return must
        if kind is wq.Phrase:
            return self.phrase(q, within)
        if kind is wq.ConstantScoreQuery:
            # Whoosh lists the wrapped query's rows with the constant as every
            # posting's weight, and a weight of 0 reads as none given: 1.0.
            return dict.fromkeys(self.scores(q.child, within), q.score or 1.0)
        if q is wq.NullQuery:
            return {}
        raise _Unsupported(repr(q))

    def coordinated(self, q: Any, within: Scores | None) -> Scores:
        """An OR of words with a coordination bonus (``scale``): each row's sum of its
        words' scores, raised the more of the words it has, by the formula of Whoosh's
        ``CoordMatcher``: ``(sum + (m - 1) / (n - scale) ** 2) * (n - 1) / n`` for a row
        having ``m`` of the ``n`` words (in their fields) that some item has. Whoosh
        counts ``n`` segment by segment, and again whenever a word's postings end
        before the others': from there on a segment's rows get other scores, and once
        one word is left, ``n`` is 1 and every score 0 (on a 56k-item index, 286 of
        the 546 partial matches of "nato ebola" scored 0, which ones depending on the
        segments). Here ``n`` is counted over the whole index, whatever rows a filter
        leaves (``within``); with fewer than two such words every row has them all,
        and its score is the plain sum."""
        words = [self.scores(leaf) for leaf in _words_of(q)]
        found = [part for part in words if part]
        total = _union(found)
        if within is not None:
            total = {d: s for d, s in total.items() if d in within}
        n = len(found)
        if n < 2 or not self.scored:
            return total
        having: dict[int, int] = dict.fromkeys(total, 0)
        for part in found:
            for d in part:
                if d in having:
                    having[d] += 1
        bonus, factor = 1 / (n - q.scale) ** 2, (n - 1) / n
        return {d: (s + (having[d] - 1) * bonus) * factor for d, s in total.items()}

    def intersection(self, subqueries: list[Any], within: Scores | None) -> Scores:
        """Rows matching every part, each scored the sum of its parts' scores (added in
        the query's order). The part matching fewest rows is read first, and the
        others only for the rows matched so far."""
        reader = self.searcher.reader()
        order = sorted(range(len(subqueries)), key=lambda k: subqueries[k].estimate_size(reader))
        parts: dict[int, Scores] = {}
        for k in order:
            within = parts[k] = self.scores(subqueries[k], within)
            if not within:
                return {}
        last = parts[order[-1]]  # only the rows of every part
        out: Scores = {}
        for d in last:
            total = 0.0
            for k in range(len(subqueries)):
                total += parts[k][d]
            out[d] = total
        return out

    def wanted(self, within: Scores, leaf: Any, base: int) -> list[int]:
        """The rows of ``within`` in one segment, as its own document numbers, in
        order (kept for the other terms asking with the same rows)."""
        key = (id(within), base)
        if key not in self._wanted:
            end = base + leaf.doc_count_all()
            self._wanted[key] = (within, sorted(d - base for d in within if base <= d < end))
        return self._wanted[key][1]

    def term(self, q: Any, within: Scores | None = None) -> Scores:
        """A word's scores in one field."""
        if q.boost != 1.0 or q.fieldname not in self.schema:
            raise _Unsupported(repr(q))
        try:
            text = self.schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return {}
        return self.postings(q.fieldname, text, within)

    def phrase(self, q: Any, within: Scores | None) -> Scores:
        """The rows having the words of a phrase next to each other (as Whoosh's
        phrase query: its words within ``slop`` positions, in order), each scored the
        sum of the words' scores."""
        if q.boost != 1.0 or q.fieldname not in self.schema:
            raise _Unsupported(repr(q))
        field = self.schema[q.fieldname]
        if not field.format or not field.format.supports("positions"):
            raise _Unsupported(repr(q))  # Whoosh refuses it
        if field.format.supports("characters"):
            raise _Unsupported(repr(q))  # spans would carry characters
        try:
            words = [field.to_bytes(w) for w in q.words]
        except ValueError:
            return {}
        reader = self.searcher.reader()
        if not words or any((q.fieldname, w) not in reader for w in words):
            return {}
        order = sorted(range(len(words)), key=lambda k: reader.doc_frequency(q.fieldname, words[k]))
        parts: dict[int, Scores] = {}
        places: dict[int, dict[int, Any]] = {}
        for k in order:
            places[k] = {}
            within = parts[k] = self.postings(q.fieldname, words[k], within, places[k])
            if not within:
                return {}
        decode = field.format.decoder("positions")
        out: Scores = {}
        for d in parts[order[-1]]:
            if _near([decode(places[k][d]) for k in range(len(words))], q.slop):
                total = 0.0
                for k in range(len(words)):
                    total += parts[k][d]
                out[d] = total
        return out

    def postings(
        self,
        fieldname: str,
        text: bytes,
        within: Scores | None,
        values: dict[int, Any] | None = None,
    ) -> Scores:
        """A term's scores by Whoosh's BM25F formula and statistics (in a field without
        scores, as Whoosh's WeightScorer: its weight); with ``values``, also its
        postings' values (positions) put there."""
        field = self.schema[fieldname]
        out: Scores = {}
        if (fieldname, text) not in self.searcher.reader():
            return out
        weighting = self.weighting
        if field.scorable:
            idf = self.searcher.idf(fieldname, text)
            avgfl = self.searcher.avg_field_length(fieldname) or 1
            b = weighting._field_B.get(fieldname, weighting.B)
            k1 = weighting.K1
        table: dict[tuple[float, int], float] = {}  # by weight and length byte
        for leaf, base in self.leaves:
            wanted = None if within is None else self.wanted(within, leaf, base)
            found = postings_with_weights(leaf, fieldname, text, wanted, values is not None)
            if found is None:
                raise _Unsupported(f"{fieldname}:{text!r}")
            ids, weights, encoded = found
            if not ids:
                continue
            if values is not None:
                values.update(zip([base + d for d in ids], encoded, strict=True))
            if not self.scored:
                out.update(dict.fromkeys([base + d for d in ids], 0.0))
                continue
            if not field.scorable:
                out.update(zip([base + d for d in ids], weights, strict=True))
                continue
            lengths = field_lengths(leaf, fieldname)
            if lengths is None:
                raise _Unsupported(f"{fieldname}:{text!r}")
            # A posting's score depends on its weight and its field length (a byte): each
            # pair's score is worked out once, and looked up for every posting.
            keys = list(zip(weights, map(lengths.__getitem__, ids), strict=True))
            for key in set(keys).difference(table):
                table[key] = bm25(idf, key[0], byte_to_length(key[1]), avgfl, b, k1)
            out.update(zip(map(base.__add__, ids), map(table.__getitem__, keys), strict=True))
        return out


def _words_of(q: Any) -> Iterable[Any]:
    """The words (terms) of an OR, through the plain ORs in it; any other part is
    left to Whoosh."""
    for sub in q.subqueries:
        if type(sub) is wq.Term:
            yield sub
        elif type(sub) is wq.Or and sub.boost == 1.0 and not sub.scale and not sub.minmatch:
            yield from _words_of(sub)
        else:
            raise _Unsupported(repr(sub))


def _near(positions: list[list[int]], slop: int) -> bool:
    """Whether the words' positions make the phrase, as Whoosh's ordered SpanNear2
    with ``mindist`` 1 decides: each word comes 1 to ``slop`` positions after the
    end of the words before it (its spans, without characters, depend on nothing
    else)."""
    ends = set(positions[0])
    for found in positions[1:]:
        if slop == 1:
            ends = {p for p in found if p - 1 in ends}
        else:
            ends = {p for p in found if any(1 <= p - e <= slop for e in ends)}
        if not ends:
            return False
    return bool(ends)


def _union(parts: list[Scores]) -> Scores:
    """Each row's sum of the scores it has in ``parts``."""
    if not parts:
        return {}
    out = dict(parts[0])
    for part in parts[1:]:
        for d, s in part.items():
            had = out.get(d)
            out[d] = s if had is None else had + s
    return out
