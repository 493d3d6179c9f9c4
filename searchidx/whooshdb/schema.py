"""The Whoosh schema of the fields in :mod:`searchidx.fields`: analyzers, field types,
columns, and reading a column over every segment."""

from __future__ import annotations

import re
import sys
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

from searchidx.fields import MISSING_LAST

# Whoosh keeps each index's schema pickled, its analyzer classes named by module. This
# module was ``searchidx.schema`` when the indexes of schema version 6 were first
# built; that name stays importable so that they open.
sys.modules.setdefault("searchidx.schema", sys.modules[__name__])


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


def text_tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """The terms of a text as the text fields index them, each with where it is."""
    for token in text_analyzer()(text, chars=True, removestops=False):
        yield token.text, token.startchar, token.endchar


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
