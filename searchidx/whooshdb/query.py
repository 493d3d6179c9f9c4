"""Queries in Whoosh: the parser, filters, exact totals, terms to highlight, spelling.

The query text arrives with its date clauses already taken into the filters
(:mod:`searchidx.query`). Other text Whoosh cannot read (an unbalanced bracket) is
searched as plain words, and so is every query under ``literal=True``. Totals are
exact: every page of a search reports the same total, which is the number of hits
``limit=0`` returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from searchidx.fields import (
    DEFAULT_FIELDS,
    MISSING_LAST,
    WORD_FIELDS,
    as_text,
    provider_key,
    topic_key,
)
from searchidx.query import NONE, WORD, Filters, literal_words, minus_to_not
from searchidx.whooshdb.schema import AcronymFilter, column_reader, text_analyzer

if TYPE_CHECKING:
    from searchidx.whooshdb.ranking import Ids, Numbers
    from searchidx.whooshdb.snapshot import WhooshSnapshot

#: Each sort's column, and whether it runs in reverse (relevance: the score).
SORTS: dict[str, tuple[str | None, bool]] = {
    "relevance": (None, False),
    "newest": ("published", True),
    "oldest": ("oldest", True),
    "quality": ("quality", True),
    "heat": ("heat", True),
}


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


_FUZZY = re.compile(r"(?<![\w:])([^\W\d_]{3,})~([12])?(?=\s|\)|$)")
_SPELL_FIELD = "norm"


def close_words(snap: WhooshSnapshot, word: str, maxdist: int) -> list[str]:
    """Known (unstemmed) title words within ``maxdist`` edits of ``word``, the closest
    and most common first; two neighbouring letters swapped are one edit, the commonest
    typo ("brexti" is nearer "brexit" than "brett"). (rapidfuzz scores the vocabulary;
    Whoosh's own edit-distance automaton, in pure Python, takes half a second on a
    100k-item index.)"""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    word = word.lower()
    words = snap.vocabulary()
    found = process.extract(word, words, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
    # Document frequencies only for the few words found (the whole index's reader looks
    # a term up in every segment).
    freqs = {w: snap.reader.doc_frequency(_SPELL_FIELD, w) for w, _, _ in found}
    found.sort(key=lambda m: (m[1], -freqs[m[0]], m[0]))
    return [w for w, _, _ in found]


def expand_fuzzy(text: str, snap: WhooshSnapshot) -> str:
    """Rewrite ``word~`` as ``(word OR close OR words)``. Whoosh's own fuzzy terms
    compare stems, where one typo can change the whole stem ("evacuaton" is not near
    "evacu"); this compares words as typed."""

    def replace(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        maxdist = int(m.group(2) or (1 if len(word) <= 4 else 2))
        words = [word, *(w for w in close_words(snap, word, maxdist) if w != word)]
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


def plain_words(q: Any, phrases: bool = False) -> int:
    """How many bare words an AND of bare words has (common ones included); 0 for any
    other query. With ``phrases``, a phrase in every default field counts as a word:
    one typed word that the analyzer splits ("covid-19", "Trump's")."""
    from whoosh import query as wq

    if _plain_word(q) is not None or (phrases and _plain_phrase(q)):
        return 1
    if isinstance(q, wq.AndMaybe):  # common words made optional
        first = plain_words(q.a, phrases)
        return first + plain_words(q.b, phrases) if first else 0
    if type(q) in (wq.And, wq.Or):
        counts = [plain_words(sub, phrases) for sub in q.subqueries]
        return sum(counts) if all(counts) else 0
    return 0


def _plain_phrase(q: Any) -> bool:
    """Whether ``q`` is one phrase searched in each default field."""
    from whoosh import query as wq

    if not isinstance(q, wq.Or) or len(q.subqueries) != len(DEFAULT_FIELDS):
        return False
    subs = q.subqueries
    return (
        all(type(sub) is wq.Phrase for sub in subs)
        and len({tuple(sub.words) for sub in subs}) == 1
        and sorted(sub.fieldname for sub in subs) == sorted(DEFAULT_FIELDS)
    )


#: A word that asks for an acronym, outside quotes: 2-5 capitals, or letters joined by
#: dots as the analyzer's acronym filter reads them ("FED", "U.S.").
_ACRONYM = re.compile(rf'"[^"]*"|(?<![\w.])([A-Z]{{2,5}}|{AcronymFilter._DOTTED.pattern})(?![\w.])')
#: The query language's words in capitals: no acronyms.
_OPERATORS = frozenset(("AND", "OR", "NOT", "TO"))


def absent_acronyms(text: str, reader: Any) -> str:
    """The query with the acronyms no item has written as plain words: capitals ask for
    the acronym ("US"), but "FED", typed in capitals, found nothing where the items say
    "Fed"."""

    def plain(m: re.Match[str]) -> str:
        word = m.group(1)
        if word is None or word in _OPERATORS:
            return m.group(0)
        letters = word.replace(".", "").lower()
        term = ".".join(letters)
        if any(reader.doc_frequency(field, term) for field in DEFAULT_FIELDS):
            return m.group(0)
        return letters

    return _ACRONYM.sub(plain, text) if any(c.isupper() or c == "." for c in text) else text


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


#: An operator with nothing on one side (a query being edited: "trump AND", "OR biden"),
#: outside quotes; a leading NOT keeps its meaning (everything but).
_DANGLING_END = re.compile(
    r"(?:\s+(?:AND|OR|NOT))+\s*$|(?<=\()\s*(?:AND|OR)\s+|\s+(?:AND|OR|NOT)\s*(?=\))"
)
_DANGLING_START = re.compile(r"^\s*(?:(?:AND|OR)\s+)+")


def _dangling(text: str) -> str:
    """The query without operators that join nothing, which Whoosh reads as words."""
    if text.count('"') % 2:
        return text
    return _DANGLING_START.sub("", _DANGLING_END.sub("", text))


#: A field name before a colon, outside quotes ("report:police", "Mission:Impossible").
_FIELD = re.compile(r'"[^"]*"|(?<![\w.:/])([A-Za-z_]\w*):(?=[^\s:])(?!//)')


def _unknown_fields(schema: Any, text: str) -> str:
    """The query with ``name:`` read as the word "name" where no field has that name,
    as the README says (Whoosh would search the rest in a field that does not exist,
    and find nothing)."""
    names = set(schema.names())

    def plain(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None or name in names:
            return m.group(0)
        return f"{name.lower()}:" if name.lower() in names else f"{name} "

    return _FIELD.sub(plain, text) if ":" in text else text


def parse_query(
    schema: Any,
    text: str,
    literal: bool = False,
    or_group: bool = False,
    snap: WhooshSnapshot | None = None,
) -> Any:
    """Parse a query string; fall back to its plain words if Whoosh cannot read it.
    With a snapshot, ``word~`` fuzzy terms are expanded to close known words, and very
    common words made optional."""
    from whoosh import query as wq

    if text.strip() in {"", "*"}:
        return wq.Every()
    parser = _parser(schema, or_group)
    if not literal:
        query_text = _unknown_fields(schema, _dangling(minus_to_not(text)))
        if snap is not None:  # reads the index: its failures are not the query's
            query_text = expand_fuzzy(absent_acronyms(query_text, snap.reader), snap)
        try:
            q = parser.parse(query_text)
        except Exception:  # any parser failure means "read it literally"
            q = wq.NullQuery
        if isinstance(q, wq.Not):  # only excluded words: everything else
            q = wq.AndNot(wq.Every(), q.query)
        if snap is not None and q is not wq.NullQuery:
            q = relax_common(q, snap.reader)
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
        parts.append(_one_of("provider", f.providers, provider_key))
    if f.domains:
        from searchidx.documents import normalize_domain  # YAML comes with it: only here

        parts.append(_one_of("domain", f.domains, normalize_domain))
    if f.topics:
        parts.append(_one_of("topic", f.topics, topic_key))
    if f.kind != "all":
        parts.append(wq.Term("kind", f.kind))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _one_of(field: str, values: tuple[str, ...], key: Callable[[str], str]) -> Any:
    """The items whose ``field`` has one of ``values``; ``(none)``, as facets call a
    missing value, is the items that have none."""
    from whoosh import query as wq

    either: list[Any] = [wq.Term(field, key(v)) for v in values if v != NONE]
    if NONE in values:
        either.append(wq.AndNot(wq.Every(), wq.Every(field)))
    return wq.Or(either)


def date_bounds(f: Filters) -> tuple[int, int] | None:
    """The range of the ``oldest`` column (inclusive) that ``--since``/``--until``
    allow, or None when neither is given. The column holds times negated, so that
    the oldest sorts first; items without a time are not in any range."""
    if not (f.since or f.until):
        return None
    lo = -int(f.until.timestamp() * 1_000_000) if f.until else MISSING_LAST + 1
    hi = -int(f.since.timestamp() * 1_000_000) if f.since else 2**63 - 1
    return lo, hi


def in_date_range(searcher: Any, f: Filters, docs: Iterable[int]) -> list[int]:
    """Those of ``docs`` published within ``--since``/``--until``, read from the
    ``oldest`` column. (Whoosh's date range query collects every document of every
    term of the range: a second on a 100k index.)"""
    docs = list(docs)
    bounds = date_bounds(f)
    if bounds is None:
        return docs
    lo, hi = bounds
    column = column_reader(searcher.reader(), "oldest")
    if len(docs) > 5000:  # one pass over the column beats as many lookups
        column = list(column)
    return [d for d in docs if lo <= column[d] <= hi]


def matching_docs(searcher: Any, q: Any, f: Filters) -> list[int]:
    """The live documents matching a query and passing the filters."""
    return in_date_range(searcher, f, searcher.docs_for_query(restrict(q, build_filter(f))))


def run(
    searcher: Any,
    q: Any,
    filters: Filters,
    sortedby: str | None,
    reverse: bool,
    limit: int | None,
    numbers: Numbers,
    ids: Ids,
    bulk: bool = True,
) -> tuple[list[int], list[float | None], int] | None:
    """Search; return the rows of the top ``limit`` hits (all for None), their scores
    (None when sorted by a column, whose ties go in order of item id, as
    :func:`~searchidx.whooshdb.ranking.by_column` sorts them: rows change with
    updates, ids do not) and the exact number of matches, or None if Whoosh
    cannot run the query (a malformed query object). Any other failure, such as a
    damaged index, is raised. Queries of words and phrases are ranked in bulk
    (:mod:`~searchidx.whooshdb.ranking`), the others (and all, without ``bulk``) by
    Whoosh: by score, or matched by Whoosh and put in order of the column here."""
    from whoosh import collectors
    from whoosh import query as wq
    from whoosh.query import QueryError

    from searchidx.whooshdb.ranking import column_order, ranked

    flt = build_filter(filters)
    if bulk:
        found = ranked(
            searcher,
            restrict(q, flt),
            sortedby,
            reverse,
            limit,
            numbers,
            ids,
            date_bounds(filters),
        )
        if found is not None:
            return found
    allowed = None
    if filters.since or filters.until:
        # Dates filter the matches as a set, read from a column (Whoosh's own date
        # range query collects every document of every term of the range).
        allowed = set(matching_docs(searcher, q, filters))
        if not allowed:  # Whoosh reads an empty filter as no filter at all
            q, flt, allowed = wq.NullQuery, None, None
    if sortedby is not None:
        # The matches, put in order as ranking in bulk does (ties by id, see
        # :func:`~searchidx.whooshdb.ranking.by_column`): Whoosh's sorting by the column
        # and the id would read an id for every match.
        try:
            matches = list(searcher.docs_for_query(restrict(q, flt)))
        except QueryError:
            return None
        if allowed is not None:
            matches = [d for d in matches if d in allowed]
        ordered = column_order(matches, sortedby, reverse, limit, numbers, ids)
        return ordered, [None] * len(ordered), len(matches)
    try:
        collector = searcher.collector(limit=limit, optimize=False, filter=allowed)
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
    rows = [hit.docnum for hit in results]
    scores: list[float | None] = [hit.score for hit in results]
    return rows, scores, (len(allowed) if allowed is not None else len(results))


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


def did_you_mean(snap: WhooshSnapshot, text: str) -> str | None:
    """The query with unknown words replaced by close known ones, if that changes it."""
    analyzer = text_analyzer()
    reader = snap.reader
    changed = False
    out = text
    # Words that are part of a wildcard, a field name or a date clause are left alone.
    plain = [
        m.group(0)
        for m in WORD.finditer(text)
        if text[m.end() : m.end() + 1] not in ("*", "?", ":")
        and text[m.start() - 1 : m.start()] not in ("*", "?")
    ]
    for word in dict.fromkeys(plain):
        if not word.isalpha() or len(word) < 3:
            continue
        stems = [t.text for t in analyzer(word)]
        if not stems or any(reader.doc_frequency(f, s) for s in stems for f in DEFAULT_FIELDS):
            continue
        suggestions = close_words(snap, word, 2)
        if suggestions:
            out = re.sub(rf"\b{re.escape(word)}\b", suggestions[0], out)
            changed = True
    return out if changed else None
