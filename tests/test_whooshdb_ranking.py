"""Ranking in bulk (searchidx.whooshdb.ranking) against Whoosh's own collectors, on
real on-disk indexes shaped like the users' files (related coverage outside the
collection, excerpts, bodies, topics) and updated several times (many segments,
deleted documents), and on an empty one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from searchidx.engine import index_at
from searchidx.indexing import update_index
from searchidx.query import Filters
from searchidx.whooshdb.query import SORTS, build_filter, date_bounds, parse_query, restrict, run
from searchidx.whooshdb.ranking import ranked
from searchidx.whooshdb.snapshot import WhooshSnapshot
from tests.conftest import article, front_matter, related

WORDS = ["apple", "samsung", "court", "storm", "bank", "vote", "deal", "climate", "change"]
FILLER = ["shares", "report", "talks", "plan", "rise", "week", "chief", "new", "says", "of"]
OUTLETS = [("Harbor Wire", "harborwire.com"), ("Daily Ledger", "ledger.example")]
OUTLETS += [("Metro Post", "metropost.example"), ("Reuters", "reuters.com")]


def _text(rng: random.Random, n: int) -> str:
    words = rng.sample(WORDS, rng.randint(1, 3)) + rng.choices(FILLER, k=rng.randint(2, 6))
    if rng.random() < 0.3:
        words += rng.sample(WORDS, 1)  # a word twice: a weight of 2
    if rng.random() < 0.2:
        words += ["climate", "change"]
    rng.shuffle(words)
    return " ".join(words) + f" {n}"


def _put(folder: Path, rng: random.Random, n: int) -> None:
    name, domain = OUTLETS[n % len(OUTLETS)]
    fields = article(
        _text(rng, n).capitalize(),
        f"https://{domain}/{n}",
        provider=name,
        domain=domain,
        published=f"2014-0{3 + n % 4}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
        excerpt=_text(rng, n) if n % 3 else None,
        topics=[rng.choice(["Business", "Courts", "Weather"]) for _ in range(n % 3)],
        quality=n % 5,
        heat=n % 7,
        type="article" if n % 4 else "video",
        related=[
            related(
                _text(rng, 1000 + n * 10 + k),
                f"https://elsewhere{k}.example/{n}",
                f"Elsewhere {k}",
                f"elsewhere{k}.example",
                publishedDateTime=f"2014-0{3 + n % 4}-{1 + (n + k) % 28:02d}T10:00:00Z",
            )
            for k in range(n % 4)
        ],
    )
    body = _text(rng, n) if n % 5 == 0 else ""
    (folder / f"{n:04d}.md").write_text(front_matter(fields, body), encoding="utf-8")


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhooshSnapshot]:
    """Seed-shaped files indexed, then updated four times with new and edited files."""
    rng = random.Random(11)
    base = tmp_path_factory.mktemp("ranking")
    corpus, index = base / "corpus", str(base / "index")
    corpus.mkdir()
    for n in range(160):
        _put(corpus, rng, n)
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    for step in range(4):
        for n in range(160 + 20 * step, 180 + 20 * step):
            _put(corpus, rng, n)
        for n in rng.sample(range(160), 12):  # edited: the old documents are deleted
            _put(corpus, rng, n)
        assert update_index(index, [str(corpus)], jobs=1).failed == 0
    snap = index_at(index).snapshot()
    assert isinstance(snap, WhooshSnapshot)
    assert len(snap.reader.leaf_readers()) > 2
    assert snap.reader.has_deletions()
    yield snap


QUERIES = [
    "apple",
    "court",
    "of",
    "apple samsung",
    "storm bank vote",
    "apple OR storm",
    "(apple OR court) deal",
    '"climate change"',
    '"change climate"',
    '"shares report"',
    "title:apple",
    "apple -court",  # NOT: Whoosh ranks it
    "appl*",  # a wildcard: Whoosh ranks it
    "aple~",
    "nothingsuch",
    "apple nothingsuch",
    "shares report says",  # common words made optional
]
FILTERS = [
    Filters(),
    Filters(providers=("Reuters",)),
    Filters(providers=("Harbor Wire", "Metro Post")),
    Filters(domains=("ledger.example",)),
    Filters(topics=("Courts",)),
    Filters(topics=("Courts", "Weather")),
    Filters(kind="related"),
    Filters(since=datetime(2014, 4, 1, tzinfo=UTC), until=datetime(2014, 5, 15, tzinfo=UTC)),
    Filters(since=datetime(2030, 1, 1, tzinfo=UTC)),
]


def _both(snap: WhooshSnapshot, text: str, filters: Filters, sort: str, limit: int | None) -> Any:
    sortedby, reverse = SORTS[sort]
    q = parse_query(snap.schema, text, snap=snap)
    fast = run(snap.searcher, q, filters, sortedby, reverse, limit, snap.numbers, snap.ids)
    whoosh = run(
        snap.searcher, q, filters, sortedby, reverse, limit, snap.numbers, snap.ids, bulk=False
    )
    return fast, whoosh


def _ties(rows: list[int], scores: list[Any]) -> list[set[int]]:
    """Rows grouped by score, scores equal to 9 decimals being one."""
    groups: dict[float, set[int]] = {}
    for row, score in zip(rows, scores, strict=True):
        groups.setdefault(round(score, 9), set()).add(row)
    return list(groups.values())


def _same(fast: Any, whoosh: Any, complete: bool = True) -> None:
    """The same answer: the same total, rows and scores. Whoosh adds a row's parts
    in an order that depends on its segment, so rows of equal parts may get scores
    differing in the last bits and come in another order: among scores equal to 9
    decimals, any order is the same answer, and at a cut (``complete`` False) the
    last such group may hold other rows."""
    assert fast is not None and whoosh is not None
    rows, scores, total = fast
    assert (total, len(rows)) == (whoosh[2], len(whoosh[0]))
    if not rows or scores[0] is None:  # sorted by a column: ties go by item id
        assert rows == whoosh[0]
        return
    assert scores == pytest.approx(whoosh[1], rel=1e-12)
    mine, theirs = _ties(rows, scores), _ties(whoosh[0], whoosh[1])
    if complete:
        assert mine == theirs
    else:
        assert mine[:-1] == theirs[:-1] and len(mine[-1]) == len(theirs[-1])
    # Among equal scores, rows go in order.
    assert all(rows[k] < rows[k + 1] for k in range(len(rows) - 1) if scores[k] == scores[k + 1])


def _optional_words_reference(
    snap: WhooshSnapshot, text: str, filters: Filters, limit: int | None
) -> Any:
    """Whoosh's ranking of a query with optional common words (an AND-MAYBE) under a
    filter, by its definition: Whoosh's own scores of the query alone, plus the 1.0 a
    filter adds, over the rows the filter allows. (Whoosh's own run of the two
    together leaves out the optional words' scores of some rows: inside an
    intersection, its AND-MAYBE matcher moves the optional part to the row asked
    for, not to the row the required part moved on to.)"""
    q = parse_query(snap.schema, text, snap=snap)
    alone = run(snap.searcher, q, Filters(), None, False, None, snap.numbers, snap.ids, bulk=False)
    assert alone is not None
    allowed = set(snap.match("*", filters))
    extra = 1.0 if build_filter(filters) is not None else 0.0
    scores = {
        d: (s or 0.0) + extra for d, s in zip(alone[0], alone[1], strict=True) if d in allowed
    }
    rows = sorted(scores, key=lambda d: (-scores[d], d))
    return rows[:limit], [scores[d] for d in rows[:limit]], len(rows)


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])  # quality, heat: as newest
def test_bulk_ranking_is_whooshs(updated: WhooshSnapshot, text: str, sort: str) -> None:
    from whoosh import query as wq

    optional = isinstance(parse_query(updated.schema, text, snap=updated), wq.AndMaybe)
    for filters in FILTERS:
        for limit in (10, None):
            fast, whoosh = _both(updated, text, filters, sort, limit)
            if optional and sort == "relevance" and build_filter(filters) is not None:
                whoosh = _optional_words_reference(updated, text, filters, limit)
            _same(fast, whoosh, complete=limit is None)


def test_whoosh_misses_optional_words_under_a_filter(updated: WhooshSnapshot) -> None:
    """Why the reference above: Whoosh's own ranking of the two together differs."""
    filters = Filters(providers=("Harbor Wire", "Metro Post"))
    fast, whoosh = _both(updated, "apple samsung", filters, "relevance", None)
    reference = _optional_words_reference(updated, "apple samsung", filters, None)
    assert fast[0] == reference[0] != whoosh[0]


def test_every_form_a_user_types_is_ranked_in_bulk(updated: WhooshSnapshot) -> None:
    snap = updated
    bulk = []
    for text in QUERIES:
        q = parse_query(snap.schema, text, snap=snap)
        for filters in FILTERS:
            q_f = restrict(q, build_filter(filters))
            found = ranked(
                snap.searcher, q_f, None, False, 10, snap.numbers, snap.ids, date_bounds(filters)
            )
            bulk.append((text, found is not None))
    left = sorted({text for text, used in bulk if not used})
    assert left == ["appl*", "apple -court"]  # NOT and wildcards: Whoosh


def test_the_comparison_sees_matches(updated: WhooshSnapshot) -> None:
    """The queries above find something, with ties, many segments and filters."""
    fast, _ = _both(updated, "apple", Filters(), "relevance", None)
    assert fast[2] > 50
    assert len(set(fast[1])) < len(fast[1])  # equal scores: ties are ordered by row
    fast, _ = _both(updated, '"climate change"', Filters(providers=("Reuters",)), "newest", 5)
    assert fast[2] > 0 and len(fast[0]) == min(5, fast[2])


def _word_scores(snap: WhooshSnapshot, q: Any) -> list[dict[int, float]]:
    """Whoosh's own scores of each word of an OR (through the plain ORs in it)."""
    from whoosh import query as wq

    out = []
    for sub in q.subqueries:
        if type(sub) is wq.Or:
            out += _word_scores(snap, sub)
        else:
            assert type(sub) is wq.Term
            out.append({hit.docnum: hit.score for hit in snap.searcher.search(sub, limit=None)})
    return out


@pytest.mark.parametrize("text", ["apple nothingsuch", "storm bank vote 1001", "climate samsung 7"])
def test_a_partial_match_is_scored_by_the_coordination_formula(
    updated: WhooshSnapshot, text: str
) -> None:
    """The OR of a search's best partial matches: each row's sum of its words' scores,
    raised by how many of the n words it has (n counted over the whole index)."""
    snap = updated
    loose = parse_query(snap.schema, text, or_group=True, snap=snap)
    assert loose.scale
    found = [part for part in _word_scores(snap, loose) if part]
    n = len(found)
    expected: dict[int, float] = {}
    for d in set().union(*found):
        total = sum(part.get(d, 0.0) for part in found)
        having = sum(d in part for part in found)
        if n > 1:
            total = (total + (having - 1) / (n - loose.scale) ** 2) * (n - 1) / n
        expected[d] = total
    result = ranked(snap.searcher, loose, None, False, None, snap.numbers, snap.ids)
    assert result is not None
    rows, scores, total = result
    assert total == len(expected) > 0
    assert dict(zip(rows, scores, strict=True)) == pytest.approx(expected, rel=1e-12)
    assert scores == sorted(scores, reverse=True)
    if n > 1:
        assert len({sum(d in part for part in found) for d in expected}) > 1  # bonuses vary


def test_a_filter_leaves_partial_matches_scores_as_they_are(tmp_path: Path) -> None:
    """A filter adds the same constant to every row it keeps (as to full matches): the
    coordination bonus counts the words found in the whole index, not only in the
    rows the filter keeps (here no Harbor Wire item has "zanzibar")."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docs = [("Zanzibar ferry talks", "Other Wire", "otherwire.com")]
    docs += [(f"Harbor barrier plan {n}", "Other Wire", "otherwire.com") for n in range(30)]
    docs += [(f"Market rally story {n}", "Other Wire", "otherwire.com") for n in range(120)]
    docs += [(f"Harbor dredging vote {n}", "Harbor Wire", "harborwire.com") for n in range(3)]
    for n, (title, name, domain) in enumerate(docs):
        fields = article(title, f"https://{domain}/{n}", provider=name, domain=domain)
        (corpus / f"{n:03d}.md").write_text(front_matter(fields), encoding="utf-8")
    index = str(tmp_path / "index")
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    snap = index_at(index).snapshot()
    every = snap.rank("zanzibar harbor", Filters(), literal=False, sort="relevance", fetch=None)
    kept = snap.rank(
        "zanzibar harbor",
        Filters(providers=("Harbor Wire",)),
        literal=False,
        sort="relevance",
        fetch=None,
    )
    assert every.partial and kept.partial and kept.total == 3 and every.total == 34
    unfiltered = dict(zip(every.rows, every.scores, strict=True))
    pairs = zip(kept.rows, kept.scores, strict=True)
    assert {round((s or 0) - (unfiltered[d] or 0), 9) for d, s in pairs} == {1.0}


def test_partial_matches_after_a_rare_words_last_item_keep_their_scores(tmp_path: Path) -> None:
    """Whoosh scores its coordinated OR again from the words left when a word's
    postings end, and with one word left a score is 0: in an index of several
    segments, items having "harbor" were ranked 0 after the segment of the only
    "zanzibar" one."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    titles = ["Zanzibar ferry talks"] + [f"Harbor barrier plan {n}" for n in range(12)]
    index = str(tmp_path / "index")
    for n, title in enumerate(titles):  # indexed four at a time: segments of their own
        fields = article(title, f"https://harborwire.com/{n}")
        (corpus / f"{n:02d}.md").write_text(front_matter(fields), encoding="utf-8")
        if n % 4 == 3 or n == len(titles) - 1:
            assert update_index(index, [str(corpus)], jobs=1).failed == 0
    snap = index_at(index).snapshot()
    assert isinstance(snap, WhooshSnapshot)
    assert len(snap.reader.leaf_readers()) > 2
    loose = parse_query(snap.schema, "zanzibar harbor", or_group=True, snap=snap)
    whooshs = [hit.score for hit in snap.searcher.search(loose, limit=None)]
    assert len(whooshs) == 13 and 0.0 in whooshs  # Whoosh's fault, not copied
    ranking = snap.rank("zanzibar harbor", Filters(), literal=False, sort="relevance", fetch=None)
    assert ranking.partial and ranking.total == 13
    assert all(s is not None and s > 0 for s in ranking.scores)
    assert len({round(s or 0, 9) for s in ranking.scores[1:]}) == 1  # twelve alike titles


def test_an_empty_index(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    index = str(tmp_path / "index")
    assert update_index(index, [str(tmp_path / "corpus")], jobs=1).failed == 0
    snap = index_at(index).snapshot()
    assert isinstance(snap, WhooshSnapshot)
    for text in ("apple", '"climate change"', "apple samsung"):
        fast, whoosh = _both(snap, text, Filters(providers=("Reuters",)), "newest", 10)
        assert fast == whoosh == ([], [], 0)


def test_rare_words_kept_with_their_term(tmp_path: Path) -> None:
    """A word of one item has its posting kept with the term (not in a block)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, title in enumerate(["Zanzibar apple deal", "Apple deal talks", "Apple apple court"]):
        fields = article(title, f"https://a.example/{n}", excerpt="Zanzibar court" if n else None)
        (corpus / f"{n}.md").write_text(front_matter(fields), encoding="utf-8")
    index = str(tmp_path / "index")
    assert update_index(index, [str(corpus)], jobs=1).failed == 0
    snap = index_at(index).snapshot()
    assert isinstance(snap, WhooshSnapshot)
    for text in ("zanzibar", "zanzibar apple", '"zanzibar apple"', "apple", "court"):
        fast, whoosh = _both(snap, text, Filters(), "relevance", None)
        _same(fast, whoosh)
        assert fast[2] > 0
