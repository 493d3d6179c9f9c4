"""The Whoosh schema, field by field, and why.

Every indexed item is one document: an article file (``kind`` = ``article``) or another
outlet's coverage listed in an article's ``related`` list (``kind`` = ``related``).

- ``title``, ``excerpt``, ``body``: stemmed and accent-folded so "recognise" finds
  "recognised" and "Zoe" finds "Zoë"; positions are kept for phrase queries; weighted
  title 3 > excerpt 1.5 > body 1. ``alt_titles`` holds the other headline variants of
  a collapsed related item, searchable like the title. No word is dropped: there is no
  stop-word list and no minimum length (as in Elasticsearch's standard analyzer; BM25
  weighs common words down), because in news "US", "UK", "WHO", "IT" and "May" are
  words people search for. Acronyms ("US", "U.S.", "WHO", "IT") also get a term of
  their own, their letters joined by dots and unstemmed, so that "US" finds "U.S." and
  not "used" (which stems to "us"); see :class:`AcronymFilter`.
- ``title_w``, ``alt_titles_w``, ``excerpt_w``, ``body_w``: the same text unstemmed (lower
  case, accents folded, no positions), for wildcards and prefixes: ``immigrati*`` must
  match "immigration", whose stem is "immigr".
- ``provider`` (case-folded name), ``domain``, ``kind`` and ``month``: exact keys with
  sortable columns, used by filters and facets; ``category`` is a plain key. ``provider_name`` keeps
  the spelling shown to people, also as a column so facets can read it cheaply.
- ``topic``: a comma-separated keyword field of case-folded topics (multi-valued).
- ``published``, ``quality``, ``heat``: sortable DATETIME and NUMERIC columns
  (``published`` as a column only, with no terms: date filters read the column). Their
  column defaults are set so that items without a value sort last under ``--sort
  newest``, ``quality`` and ``heat``; ``oldest`` (a column only) does the same for
  ``--sort oldest``. Quality and heat are sorted as whole numbers: Whoosh cannot give
  a float column a default.
- ``cites``: the ids of the related items an article lists, so "who cites X" is a
  term query.
- ``norm``: the normalised title (:func:`searchidx.dedup.normalize_title`): its words
  as terms, to find an item's duplicate candidates and to suggest spellings (they are
  the titles' words, unstemmed), and the whole string as a column, with ``id`` also a
  column, so duplicate detection reads no stored documents.
- ``gist`` and ``links``: columns for grouping items into stories
  (:mod:`searchidx.stories`) without reading stored documents: the normalised excerpt
  (its first ``GIST_CHARS`` characters), and for an article the ids of the related items
  it lists, space-separated.
- ``data``: the item's full record as JSON, for display. Only ``id``, ``kind`` and
  ``data`` are stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import (
    CharsetFilter,
    CompositeAnalyzer,
    Filter,
    IDAnalyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
)
from whoosh.columns import MultiColumnReader, NumericColumn, VarBytesColumn
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

#: Bump when the schema or the meaning of a field changes; older indexes must be rebuilt.
SCHEMA_VERSION = 6

#: How much of a normalised excerpt the ``gist`` column keeps.
GIST_CHARS = 400

#: Fields searched by a query without a field name. Topics are not among them: they
#: are whole-phrase keys (``topic:"computer vision"``, ``--topic``), and a stop word
#: such as "the" would become a required topic term.
DEFAULT_FIELDS = ("title", "alt_titles", "excerpt", "body")

#: Each text field's unstemmed twin, which wildcard and prefix queries search.
WORD_FIELDS = {name: f"{name}_w" for name in DEFAULT_FIELDS}

#: Default of the ``oldest`` sort column (the negated publication time, sorted in
#: reverse): smaller than any real value, so undated items come last.
MISSING_LAST = -(2**63)


class AcronymFilter(Filter):  # type: ignore[misc]
    """Acronyms get a term of their own, their letters joined by dots and never
    stemmed: "US" and "U.S." are "u.s", which no word stems to ("used", "use" and
    "using" all stem to "us"). Letters joined by dots, in any case, and words of two
    to five capitals ("WHO", "IT", "NATO") are acronyms. When indexing, an acronym is
    also kept as a plain word, so that "news" still finds an all-caps headline's
    "NEWS" and "us" finds "U.S."; in a query, capitals or dots ask for the acronym."""

    _DOTTED = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?")

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for t in tokens:
            text = t.text
            dotted = "." in text and self._DOTTED.fullmatch(text) is not None
            if not dotted and not (2 <= len(text) <= 5 and text.isalpha() and text.isupper()):
                yield t
                continue
            letters = text.replace(".", "").lower()
            t.text = ".".join(letters)
            yield t
            if t.mode != "query":  # the same place again, as a plain word
                t.text = letters
                yield t


class StemUnlessAcronym(StemFilter):  # type: ignore[misc]
    """Whoosh's Porter stemming, leaving terms with a dot ("u.s", "3.5") as they are."""

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        stem = self._stem
        for t in tokens:
            if "." not in t.text:
                t.text = stem(t.text)
            yield t


def word_analyzer() -> CompositeAnalyzer:
    """Words, lower-cased, acronyms marked, accents folded; nothing dropped or stemmed."""
    return RegexTokenizer() | AcronymFilter() | LowercaseFilter() | CharsetFilter(accent_map)


def text_analyzer() -> CompositeAnalyzer:
    """As :func:`word_analyzer`, and stemmed (before accents are folded)."""
    return (
        RegexTokenizer()
        | AcronymFilter()
        | LowercaseFilter()
        | StemUnlessAcronym()
        | CharsetFilter(accent_map)
    )


def build_schema() -> Schema:
    """The schema of SCHEMA_VERSION."""
    analyzer, words = text_analyzer(), word_analyzer()
    schema = Schema(
        id=ID(stored=True, unique=True, sortable=True),
        kind=ID(stored=True, sortable=True),
        title=TEXT(analyzer=analyzer, field_boost=3.0, multitoken_query="phrase"),
        alt_titles=TEXT(analyzer=analyzer, field_boost=2.5, multitoken_query="phrase"),
        excerpt=TEXT(analyzer=analyzer, field_boost=1.5, multitoken_query="phrase"),
        body=TEXT(analyzer=analyzer, field_boost=1.0, multitoken_query="phrase"),
        title_w=TEXT(analyzer=words, field_boost=3.0, phrase=False),
        alt_titles_w=TEXT(analyzer=words, field_boost=2.5, phrase=False),
        excerpt_w=TEXT(analyzer=words, field_boost=1.5, phrase=False),
        body_w=TEXT(analyzer=words, field_boost=1.0, phrase=False),
        topic=KEYWORD(commas=True, lowercase=True, scorable=True, field_boost=1.0),
        provider=ID(sortable=True, analyzer=IDAnalyzer(lowercase=True)),
        provider_name=ID(sortable=True),
        domain=ID(sortable=True, analyzer=IDAnalyzer(lowercase=True)),
        category=ID(),
        month=ID(sortable=True),
        published=DATETIME(sortable=True),
        oldest=COLUMN(NumericColumn("q", default=MISSING_LAST)),
        quality=NUMERIC(numtype=int, bits=32, sortable=True),
        heat=NUMERIC(numtype=int, bits=32, sortable=True),
        is_published=BOOLEAN(),
        cites=KEYWORD(commas=True),
        norm=KEYWORD(sortable=True),
        gist=COLUMN(VarBytesColumn()),
        links=COLUMN(VarBytesColumn()),
        data=STORED(),
    )
    # Whoosh gives a missing number the largest value, which would sort items without
    # one first under a descending sort. Columns hold numbers in Whoosh's unsigned
    # "sortable" form, where 0 is the smallest value: missing values sort last.
    for name in ("published", "quality", "heat"):
        fieldobj = schema[name]
        fieldobj.column_type = NumericColumn(fieldobj.sortable_typecode, default=0)
    # Publication times are read from columns only (date filters, sorting, stats):
    # Whoosh would also index 8 terms a value, for date range queries that the query
    # language sends to the filters instead, a fifth of a headline's postings.
    schema["published"].indexed = False
    return schema


def column_reader(reader: Any, fieldname: str, translate: bool = True) -> Any:
    """A field's column over every segment of ``reader``, indexed by document number.
    Whoosh's own multi-segment reader leaves out the segments that have no column for
    the field (none of their items has it), which shifts the documents after them; a
    segment's own reader gives such items the column's default. An index of no items
    has no segments, and an empty column."""
    if reader.doc_count_all() == 0:  # Whoosh's reader of no segments has no columns
        return []
    leaves = reader.leaf_readers()
    if len(leaves) == 1:
        return leaves[0][0].column_reader(fieldname, translate=translate)
    return MultiColumnReader(
        [leaf.column_reader(fieldname, translate=translate) for leaf, _ in leaves],
        [base for _, base in leaves],
    )


def as_text(value: object) -> str:
    """A column value or term as text: Whoosh gives ID and KEYWORD values as UTF-8 bytes."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def provider_key(name: str) -> str:
    """How provider names are compared: case-folded, whitespace trimmed and collapsed."""
    return " ".join(name.split()).casefold()


def topic_key(topic: str) -> str:
    """How topics are compared; commas would split the keyword field, so they go."""
    return " ".join(topic.replace(",", " ").split()).casefold()
