"""Searching an index: the query language, filters, sorting, highlighting, and the
``show`` and ``stats`` look-ups.

Queries use Whoosh's language over title, alternative titles, excerpt, body and topics:
words are ANDed; ``OR``, ``NOT`` (or ``-word``), ``"phrases"``, ``field:term``, wildcards
(on the unstemmed words), ``term~`` fuzzy terms work. ``published:[2024-01-01 to
2024-03-31]`` (either end may be left out) and ``published:2024-03`` restrict the whole
search exactly as ``--since``/``--until`` do; a date that cannot be read there is an
error. Other text Whoosh cannot read (an unbalanced bracket) is searched as plain words,
and so is every query under ``literal=True``. Totals are exact: every page of a search
reports the same total, which is the number of hits ``limit=0`` returns.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from searchidx.errors import InvalidOption, ItemNotFound
from searchidx.schema import (
    DEFAULT_FIELDS,
    WORD_FIELDS,
    as_text,
    column_reader,
    provider_key,
    text_analyzer,
    topic_key,
)
from searchidx.store import IndexDir, opened, reads_index

SORTS = {
    "relevance": (None, False),
    "newest": ("published", True),
    "oldest": ("oldest", True),
    "quality": ("quality", True),
    "heat": ("heat", True),
}
KINDS = ("article", "related", "all")


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions that apply on top of a query. Values within one option are ORed."""

    providers: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kind: str = "all"
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InvalidOption(
                f"the dates select nothing: since {iso(self.since)} is after until "
                f"{iso(self.until)}"
            )

    def describe(self) -> dict[str, Any]:
        """The filters in force, for output headers and JSON."""
        out: dict[str, Any] = {}
        for key in ("providers", "domains", "topics"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.kind != "all":
            out["kind"] = self.kind
        if self.since:
            out["since"] = iso(self.since)
        if self.until:
            out["until"] = iso(self.until)
        return out


@dataclass(slots=True)
class Hit:
    """One search result."""

    id: str
    kind: str
    title: str
    excerpt: str
    provider: str
    domain: str
    topics: list[str]
    published: str | None
    url: str
    path: str
    score: float | None
    match: str = "all"
    similar: int = 0
    also: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SearchResult:
    """A page of hits and what produced them."""

    query: str
    total: int
    page: int
    limit: int
    sort: str
    filters: dict[str, Any]
    partial: bool = False
    suggestion: str | None = None
    provider_suggestions: list[str] = field(default_factory=list)
    collapsed: bool = False
    stories: int | None = None
    terms: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hits: list[Hit] = field(default_factory=list)


@dataclass(slots=True)
class ItemRef:
    """A short reference to another item."""

    id: str
    kind: str
    title: str
    provider: str
    published: str | None
    url: str


@dataclass(slots=True)
class Item:
    """One item in full, as ``show`` prints it."""

    id: str
    kind: str
    title: str
    titles: list[str]
    excerpt: str
    provider: str
    domain: str
    topics: list[str]
    category: str
    type: str
    published: str | None
    quality: float | None
    heat: float | None
    is_published: bool | None
    images: int
    url: str
    urls: list[str]
    path: str
    line: int | None
    related: list[ItemRef]
    cited_by: list[ItemRef]


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


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_date_option(text: str, end_of_day: bool = False) -> datetime:
    """Parse ``--since``/``--until``: a date (whole day, UTC) or an ISO date-time."""
    s = text.strip()
    try:
        if re.fullmatch(r"\d{4}", s):
            value = (
                datetime(int(s), 12, 31, tzinfo=UTC)
                if end_of_day
                else datetime(int(s), 1, 1, tzinfo=UTC)
            )
            return value + timedelta(days=1, microseconds=-1) if end_of_day else value
        if re.fullmatch(r"\d{4}-\d{2}", s):
            start = datetime.fromisoformat(s + "-01").replace(tzinfo=UTC)
            if not end_of_day:
                return start
            nxt = (start + timedelta(days=32)).replace(day=1)
            return nxt - timedelta(microseconds=1)
        value = datetime.fromisoformat(s)
    except ValueError:
        raise InvalidOption(
            f"{text!r} is not a date; use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 date-time"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
        if end_of_day and len(s) == 10:
            value += timedelta(days=1, microseconds=-1)
    return value.astimezone(UTC)


# --- opening -------------------------------------------------------------------------------


_SEARCHERS: dict[str, Any] = {}


@atexit.register
def close_searchers() -> None:
    """Close the searchers kept open, and with them the index files they read (a
    segment is several files; left to the end of the process, each would be reported
    as a file never closed)."""
    while _SEARCHERS:
        with contextlib.suppress(Exception):
            _SEARCHERS.popitem()[1].close()


@reads_index
def searcher_for(index_path: str) -> Any:
    """A searcher over the last committed state of an index, kept open for the next
    call in this process and replaced when a writer has committed since. (Whoosh's own
    ``refresh`` keeps readers of segments that only gained deletions, which would still
    show deleted items.)"""
    ixdir = IndexDir(index_path)
    ixdir.require()
    key = os.path.realpath(ixdir.data_dir())
    searcher = _SEARCHERS.get(key)
    if searcher is not None:
        try:
            if searcher.up_to_date():
                return searcher
        except OSError:  # its files were replaced under it
            pass
    for stale in [k for k in _SEARCHERS if os.path.dirname(k) == os.path.dirname(key)]:
        with contextlib.suppress(Exception):
            _SEARCHERS.pop(stale).close()
    _SEARCHERS[key] = opened(ixdir.open_whoosh().searcher)
    return _SEARCHERS[key]


# --- queries -------------------------------------------------------------------------------

_WORD = re.compile(r"\w+(?:[.'’-]\w+)*")


def _parser(schema: Any, or_group: bool = False) -> Any:
    from whoosh import qparser
    from whoosh import query as wq

    class Parser(qparser.QueryParser):  # type: ignore[misc]
        """Whoosh's parser, with wildcards and prefixes sent to the unstemmed twins of
        the text fields (a stem such as "immigr" does not start with "immigrati")."""

        def term_query(
            self,
            fieldname: str,
            text: str,
            termclass: Any,
            boost: float = 1.0,
            tokenize: bool = True,
            removestops: bool = True,
        ) -> Any:
            if termclass in (wq.Wildcard, wq.Prefix) and fieldname in WORD_FIELDS:
                fieldname = WORD_FIELDS[fieldname]
            return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)

    group = qparser.OrGroup.factory(0.9) if or_group else qparser.AndGroup
    parser = Parser(None, schema, group=group)
    parser.add_plugin(qparser.MultifieldPlugin(list(DEFAULT_FIELDS)))
    parser.remove_plugin_class(qparser.SingleQuotePlugin)  # apostrophes are everywhere
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(qparser.GtLtPlugin())
    parser.add_plugin(
        qparser.FieldAliasPlugin(
            {"topic": ["topics"], "published": ["date"], "provider": ["source"]}
        )
    )
    return parser


def literal_words(text: str) -> list[str]:
    """The plain words of a query string."""
    return _WORD.findall(text)


#: ``published:[A to B]``, ``published:[A to]``, ``published:[to B]``, ``published:A``
#: (``date:`` is the same field), outside quotes.
_DATE_CLAUSE = re.compile(r'"[^"]*"|(?<![\w:])(?:published|date):(?:\[([^\]]*)\]?|(\S+))', re.I)
_RANGE_TO = re.compile(r"\s*\bto\b\s*", re.I)
#: A minus that starts a word (after a space or bracket), outside quotes: ``-word``,
#: ``-"a phrase"``, ``-(a OR b)``; not the hyphen of "covid-19".
_MINUS = re.compile(r'"[^"]*"|(?:(?<=^)|(?<=[\s(]))-(?=[\w"(])')


def _date_bounds(clause: str, inner: str | None, single: str | None) -> tuple[Any, Any]:
    """The (since, until) of one date clause; InvalidOption when a date is unreadable."""
    try:
        return _bounds(inner, single)
    except InvalidOption as exc:
        raise InvalidOption(f"cannot read the date range {clause!r}: {exc}") from None


def _bounds(inner: str | None, single: str | None) -> tuple[Any, Any]:
    if single is not None:
        op = re.match(r"[<>]=?", single)
        if op:  # published:>=A, published:<B ...
            single = single[op.end() :]
            if not single:
                raise InvalidOption("it names no date")
            if op.group(0) == ">":
                return parse_date_option(single, end_of_day=True) + timedelta(microseconds=1), None
            if op.group(0) == ">=":
                return parse_date_option(single), None
            if op.group(0) == "<":
                return None, parse_date_option(single) - timedelta(microseconds=1)
            return None, parse_date_option(single, end_of_day=True)
        ends = [single, single]
    else:
        ends = _RANGE_TO.split((inner or "").strip(), maxsplit=1)
        if len(ends) == 1:
            ends = [ends[0], ends[0]]
    since = parse_date_option(ends[0]) if ends[0].strip() else None
    until = parse_date_option(ends[1], end_of_day=True) if ends[1].strip() else None
    if since is None and until is None:
        raise InvalidOption("it names no date")
    return since, until


def split_dates(text: str, filters: Filters) -> tuple[str, Filters]:
    """Take ``published:`` clauses out of a query and into the filters (narrowing any
    ``--since``/``--until`` already given), so that a range in the query selects exactly
    what the options select."""
    since, until = filters.since, filters.until
    taken = False

    def take(m: re.Match[str]) -> str:
        nonlocal since, until, taken
        if m.group(0).startswith('"'):
            return m.group(0)
        taken = True
        lo, hi = _date_bounds(m.group(0), m.group(1), m.group(2))
        if lo is not None:
            since = lo if since is None else max(since, lo)
        if hi is not None:
            until = hi if until is None else min(until, hi)
        return " "

    rest = _DATE_CLAUSE.sub(take, text)
    if not taken:
        return text, filters
    # Also a clause that does not narrow the filters leaves the query: the index has
    # no terms of publication times (see searchidx.schema).
    return rest, replace(filters, since=since, until=until)


def minus_to_not(text: str) -> str:
    """``-word`` (the web-search habit) as Whoosh's ``NOT word``."""
    return _MINUS.sub(lambda m: m.group(0) if m.group(0) != "-" else "NOT ", text)


_FUZZY = re.compile(r"(?<![\w:])([^\W\d_]{3,})~([12])?(?=\s|\)|$)")
_SPELL_FIELD = "norm"


_VOCABULARY: dict[int, tuple[list[str], list[int]]] = {}


def vocabulary(reader: Any) -> tuple[list[str], list[int]]:
    """The titles' words and their document frequencies, read once per reader."""
    key = id(reader)
    if key not in _VOCABULARY:
        _VOCABULARY.clear()
        words, freqs = [], []
        for btext, info in reader.iter_field(_SPELL_FIELD):
            words.append(btext.decode("utf-8"))
            freqs.append(info.doc_frequency())
        _VOCABULARY[key] = (words, freqs)
    return _VOCABULARY[key]


def close_words(reader: Any, word: str, maxdist: int) -> list[str]:
    """Known (unstemmed) title words within ``maxdist`` edits of ``word``, the closest
    and most common first. (rapidfuzz scores the vocabulary; Whoosh's own edit-distance
    automaton, in pure Python, takes half a second on a 100k-item index.)"""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    word = word.lower()
    words, freqs = vocabulary(reader)
    found = process.extract(
        word, words, scorer=Levenshtein.distance, score_cutoff=maxdist, limit=None
    )
    found.sort(key=lambda m: (m[1], -freqs[m[2]], m[0]))
    return [w for w, _, _ in found]


def expand_fuzzy(text: str, reader: Any) -> str:
    """Rewrite ``word~`` as ``(word OR close OR words)``. Whoosh's own fuzzy terms
    compare stems, where one typo can change the whole stem ("evacuaton" is not near
    "evacu"); this compares words as typed."""

    def replace(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        maxdist = int(m.group(2) or (1 if len(word) <= 4 else 2))
        words = [word, *(w for w in close_words(reader, word, maxdist) if w != word)]
        return "(" + " OR ".join(words) + ")" if len(words) > 1 else word

    return _FUZZY.sub(replace, text)


#: A plain query word in more than this share of the items only ranks (it is optional)
#: when the query has other words: "the flood barrier of the city" finds what "flood
#: barrier city" finds, while "US sanctions" needs both words. Nothing is dropped.
COMMON_SHARE = 0.3
#: Below this many items, word frequencies say little and every word is required.
COMMON_MIN_ITEMS = 20


def _plain_word(q: Any) -> str | None:
    """The word of a bare query word (the same term in each default field), or None."""
    from whoosh import query as wq

    if not isinstance(q, wq.Or) or len(q.subqueries) != len(DEFAULT_FIELDS):
        return None
    texts = {sub.text for sub in q.subqueries if type(sub) is wq.Term}
    fields = [sub.fieldname for sub in q.subqueries if type(sub) is wq.Term]
    if len(texts) != 1 or sorted(fields) != sorted(DEFAULT_FIELDS):
        return None
    return str(next(iter(texts)))


def _plain_words(q: Any) -> int:
    """How many bare words an AND of bare words has (common ones included); 0 for any
    other query."""
    from whoosh import query as wq

    if _plain_word(q) is not None:
        return 1
    if isinstance(q, wq.AndMaybe):  # common words made optional
        return _plain_words(q.a) + _plain_words(q.b) if _plain_words(q.a) else 0
    if type(q) in (wq.And, wq.Or):
        counts = [_plain_words(sub) for sub in q.subqueries]
        return sum(counts) if all(counts) else 0
    return 0


def relax_common(q: Any, reader: Any) -> Any:
    """Make the very common plain words of an AND query optional (see COMMON_SHARE)."""
    from whoosh import query as wq

    items = reader.doc_count()
    if not isinstance(q, wq.And) or items < COMMON_MIN_ITEMS:
        return q
    required: list[Any] = []
    optional: list[Any] = []
    for sub in q.subqueries:
        word = _plain_word(sub)
        share = (
            max(reader.doc_frequency(f, word) for f in DEFAULT_FIELDS) / items
            if word is not None
            else 0.0
        )
        (optional if share > COMMON_SHARE else required).append(sub)
    if not optional or not required:
        return q
    must = required[0] if len(required) == 1 else wq.And(required)
    return wq.AndMaybe(must, wq.Or(optional))


def parse_query(
    schema: Any,
    text: str,
    literal: bool = False,
    or_group: bool = False,
    reader: Any = None,
) -> Any:
    """Parse a query string; fall back to its plain words if Whoosh cannot read it.
    With a ``reader``, ``word~`` fuzzy terms are expanded to close known words."""
    from whoosh import query as wq

    if text.strip() in {"", "*"}:
        return wq.Every()
    parser = _parser(schema, or_group)
    if not literal:
        query_text = minus_to_not(text)
        if reader is not None:  # reads the index: its failures are not the query's
            query_text = expand_fuzzy(query_text, reader)
        try:
            q = parser.parse(query_text)
        except Exception:  # any parser failure means "read it literally"
            q = wq.NullQuery
        if isinstance(q, wq.Not):  # only excluded words: everything else
            q = wq.AndNot(wq.Every(), q.query)
        if reader is not None and q is not wq.NullQuery:
            q = relax_common(q, reader)
        if q is not wq.NullQuery or not literal_words(text):
            return q
    words = literal_words(text)
    if not words:
        return wq.NullQuery
    return parser.parse(" ".join(f'"{w}"' for w in words))


def build_filter(f: Filters) -> Any:
    """A Whoosh query that keeps only items passing the filters, or None."""
    from whoosh import query as wq

    parts: list[Any] = []
    if f.providers:
        parts.append(wq.Or([wq.Term("provider", provider_key(p)) for p in f.providers]))
    if f.domains:
        from searchidx.documents import normalize_domain  # YAML comes with it: only here

        parts.append(wq.Or([wq.Term("domain", normalize_domain(d)) for d in f.domains]))
    if f.topics:
        parts.append(wq.Or([wq.Term("topic", topic_key(t)) for t in f.topics]))
    if f.kind != "all":
        if f.kind not in KINDS:
            raise InvalidOption(f"kind must be one of {', '.join(KINDS)}")
        parts.append(wq.Term("kind", f.kind))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def in_date_range(searcher: Any, f: Filters, docs: Iterable[int]) -> list[int]:
    """Those of ``docs`` published within ``--since``/``--until``, read from the
    ``oldest`` column. (Whoosh's date range query collects every document of every
    term of the range: a second on a 100k index.)"""
    from searchidx.schema import MISSING_LAST

    docs = list(docs)
    if not (f.since or f.until):
        return docs
    lo = -int(f.until.timestamp() * 1_000_000) if f.until else MISSING_LAST + 1
    hi = -int(f.since.timestamp() * 1_000_000) if f.since else 2**63 - 1
    column = column_reader(searcher.reader(), "oldest")
    if len(docs) > 5000:  # one pass over the column beats as many lookups
        column = list(column)
    return [d for d in docs if lo <= column[d] <= hi]


def matching_docs(searcher: Any, q: Any, f: Filters) -> list[int]:
    """The live documents matching a query and passing the filters."""
    return in_date_range(searcher, f, searcher.docs_for_query(restrict(q, build_filter(f))))


def _record(stored: dict[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = json.loads(stored["data"])
    return rec


def _hit(rec: dict[str, Any], score: float | None) -> Hit:
    return Hit(
        id=rec["id"],
        kind=rec["kind"],
        title=rec["title"],
        excerpt=rec["excerpt"],
        provider=rec["provider"],
        domain=rec["domain"],
        topics=rec["topics"],
        published=rec["published"],
        url=rec["url"],
        path=rec["path"],
        score=round(score, 4) if score is not None else None,
    )


def search(
    index_path: str,
    text: str,
    filters: Filters = Filters(),
    *,
    literal: bool = False,
    sort: str = "relevance",
    limit: int = 10,
    page: int = 1,
    collapse: bool = False,
    similar: bool = True,
) -> SearchResult:
    """Run a search and return one page of hits (``limit`` 0: every hit, on one page).
    Each hit says how many near-duplicates it has in the index; with ``collapse``, the
    hits of one story fold into their first publisher, which lists the other
    providers. ``similar=False`` skips the counts. The total is exact and the same on
    every page."""
    if sort not in SORTS:
        raise InvalidOption(f"sort must be one of {', '.join(SORTS)}")
    if limit < 0 or page < 1:
        raise InvalidOption("--limit must not be negative and --page must be at least 1")
    if limit == 0 and page > 1:
        raise InvalidOption("--limit 0 shows every hit on one page; leave out --page")
    started = time.perf_counter()
    searcher = searcher_for(index_path)
    if not literal:
        text_query, filters_used = split_dates(text, filters)
    else:
        text_query, filters_used = text, filters
    result = SearchResult(
        query=text,
        total=0,
        page=page,
        limit=limit,
        sort=sort,
        filters=filters_used.describe(),
        collapsed=collapse,
    )
    sortedby, reverse = SORTS[sort]
    # Collapsing needs the neighbours of the page's hits, so it ranks more of them.
    fetch: int | None = page * limit
    if collapse:
        fetch = max(page * limit * 5, 200)
    if limit == 0:
        fetch = None
    reader = searcher.reader()
    q = parse_query(searcher.schema, text_query, literal, reader=reader)
    ran = _run(searcher, q, filters_used, sortedby, reverse, fetch)
    if ran is None:  # Whoosh could not run it: the plain words instead
        q = parse_query(searcher.schema, text_query, literal=True)
        ran = _run(searcher, q, filters_used, sortedby, reverse, fetch)
    # Only a query of plain words falls back to its best partial matches: with NOT, a
    # phrase or a field, "no match" is the answer.
    if ran is not None and ran[0].is_empty() and _plain_words(q) > 1:
        loose = parse_query(searcher.schema, text_query, literal, or_group=True, reader=reader)
        partial = _run(searcher, loose, filters_used, sortedby, reverse, fetch)
        if partial is not None and not partial[0].is_empty():
            ran, q, result.partial = partial, loose, True
    if ran is not None:
        results, result.total = ran
        result.hits, result.stories = _page(
            searcher, results, page, limit, collapse, sortedby is None, similar
        )
        if result.partial:
            for hit in result.hits:
                hit.match = "partial"
    result.terms = query_terms(searcher, q)
    result.suggestion = did_you_mean(searcher, text_query)
    if result.total == 0 and filters.providers:
        result.provider_suggestions = closest_providers(searcher, filters.providers)
    result.seconds = time.perf_counter() - started
    return result


def _page(
    searcher: Any,
    results: Any,
    page: int,
    limit: int,
    collapse: bool,
    scored: bool,
    similar: bool,
) -> tuple[list[Hit], int | None]:
    """One page of hits (``limit`` 0: all of them), with near-duplicate counts, folded
    by story if asked (then also the number of stories among the hits ranked)."""
    from searchidx.dupes import similar_counts
    from searchidx.stories import fold_hits

    ranked = list(results)
    scores = {h.docnum: (h.score if scored else None) for h in ranked}
    start = (page - 1) * limit
    end = start + limit if limit else None
    stories = None
    if collapse:
        groups = fold_hits(searcher, [h.docnum for h in ranked])
        stories = len(groups)
        groups = groups[start:end]
    else:
        groups = [[h.docnum] for h in ranked[start:end]]
    counts = similar_counts(searcher, [g[0] for g in groups]) if similar else {}
    hits = []
    for group in groups:
        first = group[0]
        known = [x for x in (scores[d] for d in group) if x is not None]
        best = max(known) if known else None
        hit = _hit(_record(searcher.stored_fields(first)), best)
        hit.similar = counts.get(first, 0)
        others = [
            _record(searcher.stored_fields(d))["provider"] or "(no provider)" for d in group[1:]
        ]
        hit.also = list(dict.fromkeys(others))
        hits.append(hit)
    return hits, stories


def _run(
    searcher: Any,
    q: Any,
    filters: Filters,
    sortedby: str | None,
    reverse: bool,
    limit: int | None,
) -> tuple[Any, int] | None:
    """Search; return the results (the top ``limit``, or all for None) and the exact
    number of matches, or None if Whoosh cannot run the query (a malformed query
    object). Any other failure, such as a damaged index, is raised."""
    from whoosh import collectors
    from whoosh import query as wq
    from whoosh.query import QueryError

    flt = build_filter(filters)
    allowed = None
    if filters.since or filters.until:
        # Dates filter the matches as a set, read from a column (Whoosh's own date
        # range query collects every document of every term of the range).
        allowed = set(matching_docs(searcher, q, filters))
        if not allowed:  # Whoosh reads an empty filter as no filter at all
            q, flt, allowed = wq.NullQuery, None, None
    try:
        collector = searcher.collector(
            limit=limit, sortedby=sortedby, reverse=reverse, optimize=False, filter=allowed
        )
        # Once its top N is full, Whoosh's scoring collector swaps in matchers that skip
        # what cannot reach the top N, and no longer counts those documents: the total
        # then depends on the page asked for. Counting every match keeps it exact.
        inner = collector
        while inner is not None:
            if isinstance(inner, collectors.ScoredCollector):
                inner.replace = 0
            inner = getattr(inner, "child", None)
        searcher.search_with_collector(restrict(q, flt), collector)
        results = collector.results()
    except QueryError:  # a query Whoosh cannot run: the caller falls back
        return None
    return results, (len(allowed) if allowed is not None else len(results))


def restrict(q: Any, flt: Any) -> Any:
    """The query limited by a filter. The filter joins the query as a constant-score
    clause, so ranking is unchanged and Whoosh intersects it with skipping, instead of
    collecting every document the filter allows (slow for a date range), and counts
    come out exact (Whoosh's ``filter=`` counts what it filtered out)."""
    from whoosh import query as wq

    if flt is None:
        return q
    if isinstance(q, wq.Every):
        return flt
    return wq.And([q, wq.ConstantScoreQuery(flt, 0.0)])


def query_terms(searcher: Any, q: Any) -> list[str]:
    """The index terms a query matched in the text fields, for highlighting."""
    from whoosh.query import QueryError

    try:
        found = q.existing_terms(searcher.reader(), phrases=True, expand=True)
    except QueryError:
        return []
    words = {as_text(t) for f, t in found if f in DEFAULT_FIELDS}
    # Wildcards matched unstemmed words; highlighting compares stems.
    twins = set(WORD_FIELDS.values())
    analyzer = text_analyzer()
    for f, t in found:
        if f in twins:
            words.update(token.text for token in analyzer(as_text(t)))
    return sorted(words)


def did_you_mean(searcher: Any, text: str) -> str | None:
    """The query with unknown words replaced by close known ones, if that changes it."""
    analyzer = text_analyzer()
    reader = searcher.reader()
    changed = False
    out = text
    # Words that are part of a wildcard, a field name or a date clause are left alone.
    plain = [
        m.group(0)
        for m in _WORD.finditer(text)
        if text[m.end() : m.end() + 1] not in ("*", "?", ":")
        and text[m.start() - 1 : m.start()] not in ("*", "?")
    ]
    for word in dict.fromkeys(plain):
        if not word.isalpha() or len(word) < 3:
            continue
        stems = [t.text for t in analyzer(word)]
        if not stems or any(reader.doc_frequency(f, s) for s in stems for f in DEFAULT_FIELDS):
            continue
        suggestions = close_words(reader, word, 2)
        if suggestions:
            out = re.sub(rf"\b{re.escape(word)}\b", suggestions[0], out)
            changed = True
    return out if changed else None


def closest_providers(searcher: Any, names: tuple[str, ...], limit: int = 3) -> list[str]:
    """Known provider names closest to names that are not known."""
    from rapidfuzz import fuzz, process

    reader = searcher.reader()
    known = {provider_key(n): n for n in _column_values(reader, "provider_name")}
    unknown = [n for n in names if provider_key(n) not in known]
    out: list[str] = []
    for name in unknown:
        for key, _, _ in process.extract(
            provider_key(name), list(known), scorer=fuzz.WRatio, limit=limit, score_cutoff=60
        ):
            if known[key] not in out:
                out.append(known[key])
    return out[:limit]


def _column_values(reader: Any, fieldname: str) -> Iterator[str]:
    """The distinct values of a column among live items (not deleted ones an updated
    index still holds)."""
    column = list(column_reader(reader, fieldname))
    for value in {column[d] for d in reader.all_doc_ids()}:
        if text := as_text(value):
            yield text


# --- highlighting ---------------------------------------------------------------------------


def mark(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, matched) pieces; matched words analyse to ``terms``."""
    if not terms or not text:
        return [(text, False)]
    wanted = set(terms)
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for token in text_analyzer()(text, chars=True, removestops=False):
        if token.text in wanted and token.startchar >= pos:  # an acronym has two terms
            if token.startchar > pos:
                pieces.append((text[pos : token.startchar], False))
            pieces.append((text[token.startchar : token.endchar], True))
            pos = token.endchar
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces


def snippet(text: str, terms: list[str], width: int = 220) -> str:
    """A window of ``text`` around its first matched word, at most ``width`` characters."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    first = next((i for i, (piece, hit) in enumerate(mark(text, terms)) if hit), None)
    offset = 0
    if first is not None:
        offset = sum(len(p) for p, _ in mark(text, terms)[:first])
    start = max(0, min(offset - width // 3, len(text) - width))
    if start:
        start = text.find(" ", start) + 1 or start
    end = start + width
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


# --- show and stats -------------------------------------------------------------------------


def _ref(rec: dict[str, Any]) -> ItemRef:
    return ItemRef(
        rec["id"], rec["kind"], rec["title"], rec["provider"], rec["published"], rec["url"]
    )


def by_date(ref: ItemRef) -> tuple[bool, datetime, str, str]:
    """Oldest first, undated last; then by title and id, for a stable order."""
    if not ref.published:
        return (True, datetime.min, ref.title, ref.id)
    when = datetime.fromisoformat(ref.published).astimezone(UTC).replace(tzinfo=None)
    return (False, when, ref.title, ref.id)


@reads_index
def show(index_path: str, item_id: str) -> Item:
    """One item in full, with the items it lists and the articles that cite it."""
    from whoosh import query as wq

    searcher = searcher_for(index_path)
    stored = searcher.document(id=item_id)
    if stored is None and len(item_id) >= 4:
        matches = list(searcher.search(wq.Prefix("id", item_id.lower()), limit=2))
        if len(matches) > 1:
            raise ItemNotFound(f"id {item_id!r} is ambiguous; give more characters")
        stored = matches[0].fields() if matches else None
    if stored is None:
        raise ItemNotFound(f"no item with id {item_id!r}")
    rec = _record(stored)
    related = []
    for r in rec["related"]:
        current = searcher.document(id=r["id"])
        related.append(_ref(_record(current)) if current else _ref({**r, "kind": "related"}))
    citing = [
        _ref(_record(hit.fields()))
        for hit in searcher.search(wq.Term("cites", rec["id"]), limit=None)
    ]
    related.sort(key=by_date)
    citing.sort(key=by_date)
    return Item(
        id=rec["id"],
        kind=rec["kind"],
        title=rec["title"],
        titles=rec["titles"],
        excerpt=rec["excerpt"],
        provider=rec["provider"],
        domain=rec["domain"],
        topics=rec["topics"],
        category=rec["category"],
        type=rec["type"],
        published=rec["published"],
        quality=rec["quality"],
        heat=rec["heat"],
        is_published=rec["is_published"],
        images=rec["images"],
        url=rec["url"],
        urls=rec["urls"],
        path=rec["path"],
        line=rec["line"],
        related=related,
        cited_by=citing,
    )


@reads_index
def stats(index_path: str) -> Stats:
    """Counts and facts about an index."""
    from whoosh import query as wq

    from searchidx.store import disk_usage

    ixdir = IndexDir(index_path)
    ixdir.require()
    ix = ixdir.open_whoosh()
    data_dir = ixdir.data_dir()
    manifest = ixdir.read_manifest(data_dir, ix.latest_generation())
    with opened(ix.searcher) as searcher:
        reader = searcher.reader()
        articles = len(searcher.search(wq.Term("kind", "article"), limit=1))
        related = len(searcher.search(wq.Term("kind", "related"), limit=1))
        # Live items only: an updated index keeps deleted ones (and their terms) until
        # their segment is merged.
        live = list(reader.all_doc_ids())
        published = list(column_reader(reader, "published"))
        dated = [v for v in (published[d] for d in live) if v]
        keys = list(column_reader(reader, "provider", translate=False))
        providers = len({keys[d] for d in live} - {b""})
        topics = sum(1 for t in reader.lexicon("topic") if reader.postings("topic", t).is_active())
        items = reader.doc_count()
    return Stats(
        index=index_path,
        items=items,
        articles=articles,
        related=related,
        files=len(manifest.files),
        providers=providers,
        topics=topics,
        first_published=iso(min(dated).replace(tzinfo=UTC)) if dated else None,
        last_published=iso(max(dated).replace(tzinfo=UTC)) if dated else None,
        size_bytes=disk_usage(index_path),
        last_update=manifest.updated,
        schema_version=int(ixdir.meta()["schema_version"]),
    )
